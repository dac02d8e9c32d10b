"""Notebook 11: check that `functions_app/` is ready for Azure, and write the commands that deploy it.

Nothing here contacts Azure. The checks read the app's own files (host.json, requirements.txt, the settings
template); `AzurePlan` turns a handful of names into the exact `az` / `func` command lines, so a learner can
read them, copy them, or run them from a terminal where `az login` was done. `run_chaining` is the client
code the notebook uses against the local host and, unchanged, against the app's Azure URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .environment import DEFAULT_APP_DIR, KIT_ROOT, pinned_versions

if TYPE_CHECKING:
    from .views import Table

DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
# Built-in Azure roles the app's managed identity needs (names as `az role assignment create --role` takes them).
DTS_ROLE = "Durable Task Data Contributor"
OPENAI_ROLE = "Cognitive Services OpenAI User"
STORAGE_ROLE = "Storage Blob Data Owner"  # Flex Consumption reads its deployment package with the identity


def host_json_checks(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, bool]:
    """What host.json must say for the Durable Task Scheduler backend, one named check each."""
    host = json.loads((Path(app_dir) / "host.json").read_text(encoding="utf-8"))
    durable = (host.get("extensions") or {}).get("durableTask") or {}
    provider = durable.get("storageProvider") or {}
    bundle = host.get("extensionBundle") or {}
    return {
        "version is 2.0": host.get("version") == "2.0",
        "extension bundle 4.x": bundle.get("id") == "Microsoft.Azure.Functions.ExtensionBundle"
        and str(bundle.get("version", "")).startswith("[4."),
        "storage provider is azureManaged (Durable Task Scheduler)": provider.get("type") == "azureManaged",
        f"connection from setting {DTS_CONNECTION_SETTING}": provider.get("connectionStringName")
        == DTS_CONNECTION_SETTING,
        "task hub from setting TASKHUB_NAME": durable.get("hubName") == "%TASKHUB_NAME%",
    }


def requirement_pins(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, str]:
    """`name -> version` for every `name==version` line of the app's requirements.txt."""
    return pinned_versions(Path(app_dir) / "requirements.txt")


def requirements_match_kit(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, bool]:
    """For each package the app pins: is it the version the kit (and this tutorial) was tested with?"""
    kit = pinned_versions(KIT_ROOT / "requirements.txt")
    return {name: kit.get(name) == version for name, version in requirement_pins(app_dir).items()}


def template_settings(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, str]:
    """The `Values` of local.settings.json.template: every setting the app reads, with local defaults."""
    template = json.loads((Path(app_dir) / "local.settings.json.template").read_text(encoding="utf-8"))
    return dict(template.get("Values") or {})


@dataclass(frozen=True)
class AzurePlan:
    """The names of everything the deployment creates. Function app, storage and scheduler names must be unique
    in Azure; change them before you run the commands."""

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

    def app_settings(
        self, *, scheduler_endpoint: str = "$DTS_ENDPOINT", identity_client_id: str = "$IDENTITY_CLIENT_ID"
    ) -> dict[str, str]:
        """The app settings Azure needs: the same names as local.settings.json, values for the cloud.

        No API key: the app signs in to Azure OpenAI and to the scheduler with its managed identity
        (AZURE_CLIENT_ID tells azure-identity which user-assigned identity to use).
        """
        return {
            DTS_CONNECTION_SETTING: f"Endpoint={scheduler_endpoint};TaskHub={self.task_hub};"
            f"Authentication=ManagedIdentity;ClientID={identity_client_id}",
            "TASKHUB_NAME": self.task_hub,
            "AZURE_OPENAI_ENDPOINT": self.openai_endpoint,
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": self.deployment,
            "AZURE_CLIENT_ID": identity_client_id,
        }

    def commands(self) -> list[tuple[str, str]]:
        """(what it does, command line) in the order to run them, from an `az login` shell at the kit's root."""
        p = self
        rg = f"--resource-group {p.resource_group}"
        # Double quotes, not shlex.quote: the shell must still expand $DTS_ENDPOINT and $IDENTITY_CLIENT_ID.
        settings = " ".join(f'"{name}={value}"' for name, value in self.app_settings().items())
        return [
            ("resource group", f"az group create --name {p.resource_group} --location {p.location}"),
            ("CLI extension for the scheduler", "az extension add --upgrade --name durabletask"),
            ("user-assigned managed identity", f"az identity create --name {p.identity} {rg}"),
            (
                "remember its ids",
                f"IDENTITY_CLIENT_ID=$(az identity show --name {p.identity} {rg} --query clientId -o tsv); "
                f"IDENTITY_PRINCIPAL_ID=$(az identity show --name {p.identity} {rg} --query principalId -o tsv)",
            ),
            (
                "Durable Task Scheduler",
                f"az durabletask scheduler create --name {p.scheduler} {rg} "
                f"--location {p.location} --ip-allowlist '{json.dumps(list(p.ip_allowlist))}' --sku-name consumption",
            ),
            ("task hub", f"az durabletask taskhub create --name {p.task_hub} --scheduler-name {p.scheduler} {rg}"),
            (
                "scheduler endpoint",
                f"DTS_ENDPOINT=$(az durabletask scheduler show --name {p.scheduler} {rg} "
                "--query properties.endpoint -o tsv)",
            ),
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
                f"--deployment-storage-auth-value {p.identity} "
                f"--assign-identity $(az identity show --name {p.identity} {rg} --query id -o tsv)",
            ),
            (
                f"role: {DTS_ROLE}",
                f"az role assignment create --assignee-object-id $IDENTITY_PRINCIPAL_ID "
                f'--assignee-principal-type ServicePrincipal --role "{DTS_ROLE}" '
                f"--scope $(az durabletask scheduler show --name {p.scheduler} {rg} --query id -o tsv)",
            ),
            (
                f"role: {OPENAI_ROLE}",
                f"az role assignment create --assignee-object-id $IDENTITY_PRINCIPAL_ID "
                f'--assignee-principal-type ServicePrincipal --role "{OPENAI_ROLE}" '
                f"--scope $(az cognitiveservices account show --name {p.openai_account} {rg} "
                "--query id -o tsv)",
            ),
            (
                f"role: {STORAGE_ROLE}",
                f"az role assignment create --assignee-object-id $IDENTITY_PRINCIPAL_ID "
                f'--assignee-principal-type ServicePrincipal --role "{STORAGE_ROLE}" '
                f"--scope $(az storage account show --name {p.storage_account} {rg} --query id -o tsv)",
            ),
            (
                "app settings",
                f"az functionapp config appsettings set --name {p.function_app} {rg} --settings {settings}",
            ),
            ("publish the code", f"cd functions_app && func azure functionapp publish {p.function_app}"),
            (
                "function key for the HTTP routes",
                f"FUNCTION_KEY=$(az functionapp keys list --name {p.function_app} {rg} "
                "--query functionKeys.default -o tsv)",
            ),
        ]

    @property
    def open_to_the_internet(self) -> bool:
        return any(entry.endswith("/0") for entry in self.ip_allowlist)

    def summary(self) -> Table:
        """One row per step: what it creates or changes, and the command group it uses (not the options)."""
        from .views import Table

        rows = [
            {"step": number, "what": what, "command": _command_name(command)}
            for number, (what, command) in enumerate(self.commands(), start=1)
        ]
        return Table(("step", "what", "command"), rows, title=f"deploying to resource group {self.resource_group}")

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


def _command_name(command: str) -> str:
    """`az group create`, `cd functions_app && func azure functionapp publish`: the words before the options."""
    if "=$(" in command.split()[0]:
        command = command.split("=$(", 1)[1]
    words = []
    for word in command.split():
        if word.startswith("-") or word.startswith("$"):
            break
        words.append(word)
    return " ".join(words)


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
        lines = [[0, words[0][0]]]
        option_depth: int | None = None  # depth of the option the last line holds, once it has a value
        for text, level in words[1:]:
            if text.startswith("-"):
                lines.append([level + 1, text])
                option_depth = None
            elif option_depth == level:
                lines.append([level + 2, text])
            else:
                lines[-1][1] += " " + text
                if lines[-1][1].startswith("-") and option_depth is None:
                    option_depth = level
        script.append(" \\\n".join(indent * level + text for level, text in lines))
    return "\n".join(script)


def run_chaining(base_url: str, *, function_key: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Start the chaining orchestration at `base_url` and poll its status route until it finishes.

    The same code talks to the local host (no key) and to Azure (`function_key` goes in `x-functions-key`,
    because the app's routes use the FUNCTION auth level there).
    """
    from .polling import poll  # the notebook progress bar; imported here to keep this module light

    headers = {"x-functions-key": function_key} if function_key else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0, trust_env=False) as client:
        started = client.post("/api/singleagent/run")
        if started.status_code != 202:
            raise RuntimeError(
                f"POST {base_url}/api/singleagent/run answered {started.status_code}: {started.text[:300]}"
            )
        body = started.json()
        return poll(body["statusQueryGetUri"], desc="chaining", timeout=timeout, client=client)
