"""What lesson 11 deploys: the names of the Azure resources, the app settings and the `az` commands (AzurePlan).

The offline rehearsal (`python -m helpers.rehearsal`) runs the app with these settings, the deployment script
runs these commands, and `make test-azure-cli` parses each one with the real Azure CLI. The lesson shows them
through `helpers.lab.azure_plan`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The app folder the plan deploys (the kit's functions_app/), as the zip is named after it.
APP_FOLDER = "functions_app"
DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
# Built-in Azure roles the app's managed identity needs (names as `az role assignment create --role` takes them).
DTS_ROLE = "Durable Task Data Contributor"
OPENAI_ROLE = "Cognitive Services OpenAI User"
# `az functionapp create` grants this one itself, on the storage account the deployment package is kept in.
STORAGE_ROLE = "Storage Blob Data Contributor"
DTS_TYPE = "Microsoft.DurableTask/schedulers"
# The Durable Task Scheduler's ARM API version: the default of azure-mgmt-durabletask, whose models the tests
# use to check the `--properties` bodies below.
DTS_API_VERSION = "2026-02-01"
# Where the deployment script rehearses and leaves the zip it deploys (relative to the kit's root).
DEPLOY_WORK_DIR = "build/azure"


@dataclass(frozen=True)
class AzurePlan:
    """The names of everything the deployment creates. Function app, storage, scheduler and Azure OpenAI names must
    be unique in Azure; change them before you run the commands."""

    resource_group: str = "rg-durable-agents"
    location: str = "eastus2"
    function_app: str = "func-durable-agents-demo"
    storage_account: str = "stdurableagentsdemo"
    identity: str = "id-durable-agents"
    scheduler: str = "dts-durable-agents"
    task_hub: str = "default"
    openai_account: str = "aoai-durable-agents-demo"
    deployment: str = "gpt-4o-mini"
    model_version: str = "2024-07-18"
    python_version: str = "3.11"
    # Who may reach the scheduler's endpoint over the network. Access also needs an Entra ID token with the
    # Durable Task Data Contributor role (the app's managed identity has it; nobody else does), but an open
    # list still exposes the endpoint to the whole internet: narrow it to your app's outbound addresses, or
    # use a private endpoint, for anything beyond a tutorial.
    ip_allowlist: tuple[str, ...] = ("0.0.0.0/0",)

    @property
    def openai_endpoint(self) -> str:
        return f"https://{self.openai_account}.openai.azure.com/"

    @property
    def app_url(self) -> str:
        return f"https://{self.function_app}.azurewebsites.net"

    @property
    def package_zip(self) -> str:
        """The zip the deployment uploads, as the rehearsal in the script leaves it (relative to the kit's root)."""
        return f"{DEPLOY_WORK_DIR}/package/{APP_FOLDER}.zip"

    def app_settings(
        self, *, scheduler_endpoint: str = "$DTS_ENDPOINT", identity_client_id: str = "$IDENTITY_CLIENT_ID"
    ) -> dict[str, str]:
        """The app settings you give the app in Azure: the names local.settings.json uses, with cloud values.

        No API key: the app signs in to Azure OpenAI and to the scheduler with its managed identity
        (AZURE_CLIENT_ID tells azure-identity which user-assigned identity to use). The defaults are shell
        variables the deployment script sets from earlier commands.
        """
        return {
            DTS_CONNECTION_SETTING: f"Endpoint={scheduler_endpoint};Authentication=ManagedIdentity;"
            f"ClientID={identity_client_id}",
            "TASKHUB_NAME": self.task_hub,
            "AZURE_OPENAI_ENDPOINT": self.openai_endpoint,
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": self.deployment,
            "AZURE_CLIENT_ID": identity_client_id,
        }

    def scheduler_properties(self) -> dict[str, object]:
        """The Durable Task Scheduler's ARM properties: who may connect, and the Consumption SKU."""
        return {"ipAllowlist": list(self.ip_allowlist), "sku": {"name": "Consumption"}}

    def commands(self) -> list[tuple[str, str]]:
        """(what it does, command line) in the order to run them, from an `az login` shell at the kit's root."""
        p = self
        rg = f"--resource-group {p.resource_group}"
        dts = f"{rg} --name {p.scheduler} --resource-type {DTS_TYPE} --api-version {DTS_API_VERSION}"
        # Double quotes, not shlex.quote: the shell must still expand $DTS_ENDPOINT and $IDENTITY_CLIENT_ID.
        settings = " ".join(f'"{name}={value}"' for name, value in self.app_settings().items())
        return [
            ("resource group", f"az group create --name {p.resource_group} --location {p.location}"),
            ("user-assigned managed identity", f"az identity create --name {p.identity} {rg}"),
            (
                "remember its ids",
                f"IDENTITY_ID=$(az identity show --name {p.identity} {rg} --query id -o tsv); "
                f"IDENTITY_CLIENT_ID=$(az identity show --name {p.identity} {rg} --query clientId -o tsv); "
                f"IDENTITY_PRINCIPAL_ID=$(az identity show --name {p.identity} {rg} --query principalId -o tsv)",
            ),
            (
                "Durable Task Scheduler",
                f"az resource create {dts} --location {p.location} "
                f"--properties '{json.dumps(self.scheduler_properties())}'",
            ),
            (
                "task hub",
                f"az resource create {rg} --namespace Microsoft.DurableTask --parent schedulers/{p.scheduler} "
                f"--resource-type taskHubs --name {p.task_hub} --api-version {DTS_API_VERSION} --properties '{{}}'",
            ),
            ("scheduler endpoint", f"DTS_ENDPOINT=$(az resource show {dts} --query properties.endpoint -o tsv)"),
            (
                "Azure OpenAI account",
                f"az cognitiveservices account create --name {p.openai_account} {rg} "
                f"--location {p.location} --kind OpenAI --sku S0 --custom-domain {p.openai_account}",
            ),
            (
                "model deployment",
                f"az cognitiveservices account deployment create --name {p.openai_account} {rg} "
                f"--deployment-name {p.deployment} --model-name {p.deployment} "
                f"--model-version {p.model_version} --model-format OpenAI "
                "--sku-name GlobalStandard --sku-capacity 10",
            ),
            (
                "storage for the app",
                f"az storage account create --name {p.storage_account} {rg} "
                f"--location {p.location} --sku Standard_LRS --allow-blob-public-access false",
            ),
            (
                "function app (Flex Consumption)",
                f"az functionapp create --name {p.function_app} {rg} "
                f"--flexconsumption-location {p.location} --runtime python "
                f"--runtime-version {p.python_version} "
                f"--storage-account {p.storage_account} "
                "--deployment-storage-auth-type UserAssignedIdentity "
                "--deployment-storage-auth-value $IDENTITY_ID "
                "--assign-identity $IDENTITY_ID",
            ),
            (
                f"role: {DTS_ROLE}",
                f"az role assignment create --assignee-object-id $IDENTITY_PRINCIPAL_ID "
                f'--assignee-principal-type ServicePrincipal --role "{DTS_ROLE}" '
                f"--scope $(az resource show {dts} --query id -o tsv)",
            ),
            (
                f"role: {OPENAI_ROLE}",
                f"az role assignment create --assignee-object-id $IDENTITY_PRINCIPAL_ID "
                f'--assignee-principal-type ServicePrincipal --role "{OPENAI_ROLE}" '
                f"--scope $(az cognitiveservices account show --name {p.openai_account} {rg} "
                "--query id -o tsv)",
            ),
            (
                "app settings",
                f"az functionapp config appsettings set --name {p.function_app} {rg} --settings {settings}",
            ),
            (
                "rehearse, and build the zip",
                f".venv/bin/python -m helpers.rehearsal functions_app --work-dir {DEPLOY_WORK_DIR}",
            ),
            (
                "deploy the rehearsed zip",
                f"az functionapp deployment source config-zip --name {p.function_app} {rg} "
                f"--src {self.package_zip} --build-remote true",
            ),
            (
                "function key for the HTTP routes",
                f"FUNCTION_KEY=$(az functionapp keys list --name {p.function_app} {rg} "
                "--query functionKeys.default -o tsv)",
            ),
        ]

    @property
    def open_to_the_internet(self) -> bool:
        return any(entry.endswith("/0") for entry in self.ip_allowlist)

    def script(self) -> str:
        """Every command, as one bash script to copy (or save and run after `az login`, from the kit's root)."""
        lines = [
            "#!/usr/bin/env bash",
            "# Deploys functions_app/ to Azure; run from the kit's root after `az login`.",
            "set -euo pipefail",
            "",
        ]
        for what, command in self.commands():
            lines += [f"# {what}", multiline(command), ""]
        return "\n".join(lines)

    def delete_command(self) -> str:
        """The one command that removes everything the plan created (the whole resource group)."""
        return f"az group delete --name {self.resource_group} --yes --no-wait"


def multiline(command: str, indent: str = "    ") -> str:
    """`command` as a copy-pasteable shell script: one option per line, joined by ` \\` continuations.

    Statements joined by `; ` go on separate lines; options inside `$( … )` are indented one level deeper;
    an option's further values (`--settings "A=1" "B=2"`) get a line each. Nothing inside quotes is split,
    and bash drops a backslash-newline wherever it appears outside single quotes, so the script runs
    exactly like the one-line command.
    """
    statements: list[list[tuple[str, int]]] = [[]]
    word, word_depth, quote, depth = "", 0, "", 0
    for char in command + " ":
        if not word and char != " ":
            word_depth = depth
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == " " or (char == ";" and depth == 0):
            if word:
                statements[-1].append((word, word_depth))
                word = ""
            if char == ";":
                statements.append([])
            continue
        word += char
    script: list[str] = []
    for words in filter(None, statements):
        lines: list[tuple[int, str]] = [(0, words[0][0])]
        option_depth: int | None = None  # depth of the option the last line holds, once it has a value
        for text, level in words[1:]:
            if text.startswith("-"):
                lines.append((level + 1, text))
                option_depth = None
            elif option_depth == level:
                lines.append((level + 2, text))
            else:
                lines[-1] = (lines[-1][0], lines[-1][1] + " " + text)
                if lines[-1][1].startswith("-") and option_depth is None:
                    option_depth = level
        script.append(" \\\n".join(indent * level + text for level, text in lines))
    return "\n".join(script)
