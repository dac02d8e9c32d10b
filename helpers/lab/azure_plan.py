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
from pathlib import Path
from typing import TYPE_CHECKING

from ..rehearsal import CleanEnvironment, Package, Rehearsal, build_package, create_environment, rehearse
from ..rehearsal.client import RunResult, run_orchestrations
from ..rehearsal.plan import (
    DTS_CONNECTION_SETTING,
    AzurePlan,
    multiline,
)
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
    "steps_table",
    "teammate_app",
]


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
    title = f"{package.zip_path.name}: {len(package.shipped)} files"  # no size: every edit of the app changes it
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


def steps_table(plan: AzurePlan) -> Table:
    """One row per step: what it creates or changes, and the command group it uses (not the options)."""
    from .views import Table

    rows = [
        {"step": number, "what": what, "command": _command_name(command)}
        for number, (what, command) in enumerate(plan.commands(), start=1)
    ]
    return Table(("step", "what", "command"), rows, title=f"deploying to resource group {plan.resource_group}")


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
