"""Notebook 11: rehearse the deployment of `functions_app/` offline, then the `az` commands that deploy it.

Nothing here contacts Azure. `rehearse` runs the package exactly as Azure's build will see it (`helpers.rehearsal`),
with the app settings `AzurePlan` gives the app in Azure; `AzurePlan` turns a handful of names into the `az`
command lines that create the resources and deploy the rehearsed zip, for a learner to read, copy, or run from a
terminal where `az login` was done. Every command it writes is one the Azure CLI can run without extensions, so
`make test-azure-cli` checks each against the Azure CLI's own argument parser (pinned in
`tests/azure_cli/requirements-azure-cli.txt`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..rehearsal import CleanEnvironment, Package, Rehearsal, build_package, create_environment, rehearse
from ..rehearsal.client import RunResult, run_orchestrations
from .environment import DEFAULT_APP_DIR, pinned_versions

if TYPE_CHECKING:
    from .views import Table

__all__ = [
    "AzurePlan",
    "CleanEnvironment",
    "RunResult",
    "app_copy",
    "build_package",
    "create_environment",
    "multiline",
    "package_table",
    "rehearse_plan",
    "requirement_pins",
    "run_orchestrations",
    "settings_table",
    "teammate_app",
]

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
        return f"{DEPLOY_WORK_DIR}/package/{DEFAULT_APP_DIR.name}.zip"

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


def rehearse_plan(
    plan: AzurePlan | None = None,
    app_dir: str | os.PathLike[str] = DEFAULT_APP_DIR,
    *,
    work_dir: str | os.PathLike[str] | None = None,
) -> Rehearsal:
    """Rehearse deploying `app_dir` with the app settings `plan` gives it in Azure (see `helpers.rehearsal`)."""
    return rehearse(app_dir, (plan or AzurePlan()).app_settings(), work_dir=work_dir)


def package_table(package: Package) -> Table:
    """Every file of the app folder: whether it ships, or why it stays out (sizes change with every edit)."""
    from .views import Table

    rows = [
        {"file": f.path, "in the package": "yes" if f.ships else f"no: {f.left_out_because}"}
        for f in package.files
        if "__pycache__/" not in f.path  # compiled files change with every Python: counted, not listed
    ]
    cached = sum(1 for f in package.files if "__pycache__/" in f.path)
    title = f"{package.zip_path.name}: {len(package.shipped)} files, {package.zip_bytes / 1024:.0f} KB"
    if cached:
        title += f" ({cached} compiled __pycache__ files left out, not listed)"
    return Table(("file", "in the package"), rows, title=title)


# Settings the app gets in Azure without your asking, and where they come from.
SET_BY_AZURE = {
    "AzureWebJobsStorage": "set by Azure: az functionapp create, from --storage-account",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "set by Azure: az functionapp create adds Application Insights",
    "FUNCTIONS_WORKER_RUNTIME": "set by Azure from az functionapp create --runtime python (on Flex Consumption "
    "part of the app's configuration, not an app setting)",
    "IDENTITY_ENDPOINT": "set by Azure for an app with a managed identity",
    "IDENTITY_HEADER": "set by Azure for an app with a managed identity",
}
NOT_SET_IN_AZURE = {
    "AZURE_OPENAI_API_KEY": "not set: the app signs in with its managed identity",
    "AZURE_OPENAI_API_VERSION": "not set: the client's default version",
}


def settings_table(plan: AzurePlan, rehearsal: Rehearsal | None = None, app_dir: Path = DEFAULT_APP_DIR) -> Table:
    """Every setting: its local value (the template), who sets it in Azure and to what, and what the rehearsal used."""
    from .views import Table

    local = template_settings(app_dir)
    azure = plan.app_settings()
    used = rehearsal.settings if rehearsal is not None else {}
    names = sorted(set(local) | set(azure) | set(SET_BY_AZURE), key=str.lower)
    rows = []
    for name in names:
        if name in azure:
            in_azure = f"you: {azure[name]}"
        else:
            in_azure = SET_BY_AZURE.get(name) or NOT_SET_IN_AZURE.get(name, "not set")
        rehearsed = used.get(name, "not set")
        if name == "IDENTITY_HEADER" and name in used:
            rehearsed = "(a secret the local identity endpoint checks)"
        elif name == DTS_CONNECTION_SETTING and name in used:
            rehearsed += " (set, but not read: the embedded host keeps its state in SQLite)"
        elif name in SET_BY_AZURE and name not in used:
            rehearsed = "not needed by the embedded host"
        rows.append(
            {"setting": name, "local (template)": local.get(name, ""), "Azure": in_azure, "rehearsal": rehearsed}
        )
    return Table(("setting", "local (template)", "Azure", "rehearsal"), rows)


def requirement_pins(app_dir: str | os.PathLike[str] = DEFAULT_APP_DIR) -> dict[str, str]:
    """`name -> version` for every `name==version` line of the app's requirements.txt."""
    return pinned_versions(Path(app_dir) / "requirements.txt")


def template_settings(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, str]:
    """The `Values` of local.settings.json.template: every setting the app reads, with local defaults."""
    template = json.loads((Path(app_dir) / "local.settings.json.template").read_text(encoding="utf-8"))
    return dict(template.get("Values") or {})


# --------------------------------------------------------------------------------- the exercise's app folder

TEAMMATE_DATA = "models/eval-set.jsonl"
TEAMMATE_NOTES = "models/notes.txt"
TEAMMATE_LINE = "model*"


def app_copy(folder: str | os.PathLike[str], *, without_requirement: str | None = None) -> Path:
    """A copy of `functions_app/` at `folder` (replaced if it exists), without local.settings.json; with
    `without_requirement`, that package's line is taken out of its requirements.txt. Returns the folder."""
    target = Path(folder)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(DEFAULT_APP_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "local.settings.json"))
    if without_requirement is not None:
        requirements = target / "requirements.txt"
        lines = requirements.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.split("==")[0].strip().lower() != without_requirement.lower()]
        if len(kept) == len(lines):
            raise ValueError(f"{without_requirement} is not in {requirements}")
        requirements.write_text("".join(kept), encoding="utf-8")
    return target


def teammate_app(funcignore_line: str = TEAMMATE_LINE, folder: str | os.PathLike[str] | None = None) -> Path:
    """A copy of `functions_app/` as a teammate left it: a `models/` folder of evaluation data that must not ship,
    and `funcignore_line` (one line, or several) added to `.funcignore` to keep it out. Returns the folder."""
    target = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="teammate-app-")) / "functions_app"
    app_copy(target)
    (target / "models").mkdir()
    records = (
        json.dumps({"prompt": f"Question {n}: what is temperature?", "expected": "a physics answer"})
        for n in range(4000)
    )
    (target / TEAMMATE_DATA).write_text("\n".join(records) + "\n", encoding="utf-8")
    (target / TEAMMATE_NOTES).write_text("Evaluation runs, kept next to the app for convenience.\n", encoding="utf-8")
    funcignore = target / ".funcignore"
    funcignore.write_text(funcignore.read_text(encoding="utf-8").rstrip("\n") + f"\n{funcignore_line}\n")
    return target


def teammate_package(funcignore_line: str, folder: str | os.PathLike[str] | None = None) -> Package:
    """The package `teammate_app(funcignore_line)` gives (nothing is run): the app copy in `folder/functions_app`,
    the package in `folder/package` (default: a new temp folder)."""
    base = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="teammate-app-"))
    app = teammate_app(funcignore_line, base / "functions_app")
    return build_package(app, base / "package")


def _command_name(command: str) -> str:
    """`az group create`, `.venv/bin/python -m helpers.rehearsal`: the words before the options."""
    if "=$(" in command.split()[0]:
        command = command.split("=$(", 1)[1]
    words = []
    for word in command.split():
        if word.startswith("$") or (word.startswith("-") and word != "-m"):
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
