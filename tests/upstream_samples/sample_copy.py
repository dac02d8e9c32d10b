"""A sample's copy with the kit's chat client swapped in, the proof that nothing else changed, and its settings.

The swap (see kit_chat_client.py for why): in every Python file of the copy, an import line such as
`from agent_framework.foundry import FoundryChatClient` becomes `from kit_chat_client import FoundryChatClient`.
Other names imported on the same line stay imported from where they were, on a line of their own. Nothing else
is touched: `changes_between` recomputes the difference from the files themselves, so a test asserts that the
copy is the sample but for those lines (and for the two files the copy gains: kit_chat_client.py and the
local.settings.json a maintainer would write from the sample's template).

A maintainer's checkout may hold a local.settings.json or a .env of their own (with real endpoints or keys) and
build output; none of that is copied.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from helpers.offline_settings import MODEL_VARIABLES, OFFLINE_DEPLOYMENT, offline_model_settings

SHIM_MODULE = "kit_chat_client"
SHIM_SOURCE = Path(__file__).with_name(f"{SHIM_MODULE}.py")
CLIENT_CLASSES = frozenset({"FoundryChatClient", "OpenAIChatCompletionClient"})
CLIENT_IMPORT = re.compile(r"from (?P<module>agent_framework\.(?:foundry|openai)) import (?P<names>[\w, ]+)")
NOT_COPIED = ("__pycache__", "local.settings.json", ".env", ".venv", ".python_packages")
ADDED_FILES = frozenset({f"{SHIM_MODULE}.py", "local.settings.json"})
SETTINGS_TEMPLATES = ("local.settings.json.template", "local.settings.json.sample")
PLACEHOLDER = re.compile(r"<[^<>]+>")
# The settings the kit gives its own values: the model (the kit's client, and what the samples read) and Redis.
KIT_SETTINGS = frozenset(
    {*MODEL_VARIABLES, "FOUNDRY_PROJECT_ENDPOINT", "FOUNDRY_MODEL", "AZURE_OPENAI_MODEL", "REDIS_CONNECTION_STRING"}
)


@dataclass
class Changes:
    """Per file (relative path): the lines removed and the lines added, in order."""

    lines: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    added_files: set[str] = field(default_factory=set)
    missing_files: set[str] = field(default_factory=set)


def swapped(line: str) -> list[str]:
    """The lines an import line becomes: itself, unless it imports a client class."""
    match = CLIENT_IMPORT.fullmatch(line.strip())
    if match is None:
        return [line]
    names = [name.strip() for name in match["names"].split(",") if name.strip()]
    clients = [name for name in names if name in CLIENT_CLASSES]
    if not clients:
        return [line]
    others = [name for name in names if name not in CLIENT_CLASSES]
    indent = line[: len(line) - len(line.lstrip())]
    kept = [f"{indent}from {match['module']} import {', '.join(others)}"] if others else []
    return [*kept, f"{indent}from {SHIM_MODULE} import {', '.join(clients)}"]


def copy_with_kit_client(sample: Path, destination: Path) -> tuple[Path, Changes]:
    """Copy `sample` into `destination`, swap the client imports, add the shim; return the copy and the swap."""
    copy = destination / sample.name
    shutil.copytree(sample, copy, ignore=shutil.ignore_patterns(*NOT_COPIED))
    swap = Changes(added_files={f"{SHIM_MODULE}.py"})
    for script in sorted(copy.rglob("*.py")):
        original = script.read_text(encoding="utf-8").splitlines(keepends=True)
        rewritten: list[str] = []
        for line in original:
            ending = line[len(line.rstrip("\r\n")) :]
            replacement = swapped(line.rstrip("\r\n"))
            rewritten.extend(new + ending for new in replacement)
            if replacement != [line.rstrip("\r\n")]:
                removed, added = swap.lines.setdefault(str(script.relative_to(copy)), ([], []))
                removed.append(line.rstrip("\r\n"))
                added.extend(replacement)
        if rewritten != original:
            script.write_text("".join(rewritten), encoding="utf-8")
    shutil.copyfile(SHIM_SOURCE, copy / f"{SHIM_MODULE}.py")
    return copy, swap


def _files(folder: Path, skipped: tuple[str, ...]) -> set[str]:
    return {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and not set(skipped).intersection(path.relative_to(folder).parts)
    }


def changes_between(sample: Path, copy: Path) -> Changes:
    """What differs between the sample and its copy, read from the files (nothing the swap says is trusted).
    The maintainer's own files in the sample (NOT_COPIED) are no part of it."""
    original, copied = _files(sample, NOT_COPIED), _files(copy, ("__pycache__",))
    changes = Changes(added_files=copied - original, missing_files=original - copied)
    for name in sorted(original & copied):
        before, after = (sample / name).read_bytes(), (copy / name).read_bytes()
        if before == after:
            continue
        diff = difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0)
        removed: list[str] = []
        added: list[str] = []
        for line in list(diff)[2:]:  # after the two file header lines
            if line.startswith("@@"):
                continue
            (removed if line.startswith("-") else added).append(line[1:])
        changes.lines[name] = (removed, added)
    return changes


def describe(changes: Changes) -> str:
    """The changes as a reader wants them in a failure message."""
    parts = [f"added files: {sorted(changes.added_files)}", f"missing files: {sorted(changes.missing_files)}"]
    for name, (removed, added) in changes.lines.items():
        parts += [f"{name}:", *(f"  - {line}" for line in removed), *(f"  + {line}" for line in added)]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------- settings
def template_settings(sample: Path) -> dict[str, str]:
    """The `Values` of the sample's local.settings.json template (every sample has one, under one of two names)."""
    for name in SETTINGS_TEMPLATES:
        if (sample / name).is_file():
            values = json.loads((sample / name).read_text(encoding="utf-8")).get("Values") or {}
            return {key: str(value) for key, value in values.items()}
    raise AssertionError(f"{sample.name} has none of {', '.join(SETTINGS_TEMPLATES)}")


def kit_settings(template: dict[str, str], model_url: str, redis_url: str | None = None) -> dict[str, str]:
    """The template's settings with the kit's values where the sample needs the maintainer's own: the model's
    endpoint and deployment (the kit's client ignores the sample's, but the samples read them), Redis. Plus the
    settings the kit's client reads (functions_app/model_client.py). A placeholder the check has no value for
    fails here, naming it, rather than reaching the sample as `<...>`."""
    kit_values = {
        "FOUNDRY_PROJECT_ENDPOINT": model_url,
        "FOUNDRY_MODEL": OFFLINE_DEPLOYMENT,
        "AZURE_OPENAI_ENDPOINT": model_url,
        "AZURE_OPENAI_MODEL": OFFLINE_DEPLOYMENT,
    }
    if redis_url is not None:
        kit_values["REDIS_CONNECTION_STRING"] = redis_url
    assert set(kit_values) <= KIT_SETTINGS
    settings = offline_model_settings(model_url)
    for name, value in template.items():
        if name in kit_values:
            settings[name] = kit_values[name]
        elif PLACEHOLDER.fullmatch(value.strip()):
            raise AssertionError(f"the settings template asks for {name} = {value}, which the check cannot fill")
        else:
            settings[name] = value
    return settings


def write_local_settings(copy: Path, settings: dict[str, str]) -> dict[str, str]:
    """Write local.settings.json as `func start` reads it; return the settings the kit gives a value of its own,
    which also go into the host's environment: a variable set there wins over the file, and a maintainer's own
    OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT or REDIS_CONNECTION_STRING in the shell must not reach the samples."""
    document = {"IsEncrypted": False, "Values": settings}
    (copy / "local.settings.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return {name: value for name, value in settings.items() if name in KIT_SETTINGS}
