"""What `func start` reads before it imports the app: `local.settings.json` and `host.json`.

- `local.settings.json` `Values` become environment variables, but a variable that is already set wins —
  that is how a learner (or the kit's launcher) overrides a setting without editing the file.
- `host.json` gives the HTTP route prefix (`extensions.http.routePrefix`, default `api`), the task hub name
  (`extensions.durableTask.hubName`, which may reference a setting as `%NAME%`) and orchestration versioning
  (`extensions.durableTask.defaultVersion`, `versionMatchStrategy`, `versionFailureStrategy`; see
  engine/versioning.py for what they do).
- An app setting `AzureWebJobs.<function>.Disabled` set to `true` or `1` (any letter case, as the Functions host
  reads a boolean setting; setting names are case-insensitive too) turns that function off (`disabled_functions`):
  the registry then serves and runs it no more, as if the app did not have it, and lists it as disabled.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.versioning import FAILURE_STRATEGIES, MATCH_STRATEGIES, Versioning, canonical

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_HUB_NAME = "TestHubName"  # what Core Tools uses when host.json names no hub

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
_DISABLED_SETTING = re.compile(r"AzureWebJobs\.(?P<function>.+)\.Disabled", re.IGNORECASE)


class SettingsError(Exception):
    """host.json or local.settings.json is unreadable; the message names the file and the problem."""


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str
    hub_name: str
    versioning: Versioning = field(default_factory=Versioning)


def load_local_settings(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Copy `Values` from local.settings.json into `environ` (default `os.environ`); return what was applied."""
    environ = os.environ if environ is None else environ
    values = _read_json(Path(app_dir) / "local.settings.json").get("Values") or {}
    if not isinstance(values, dict):
        raise SettingsError("local.settings.json: 'Values' must be an object")
    applied: dict[str, str] = {}
    for key, value in values.items():
        if key in environ:
            continue
        text = value if isinstance(value, str) else json.dumps(value) if value is not None else ""
        environ[key] = text
        applied[key] = text
    return applied


def disabled_functions(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The functions (lower-cased names) an `AzureWebJobs.<function>.Disabled` setting turns off; read from the
    environment (default `os.environ`), where `load_local_settings` has put local.settings.json `Values`."""
    environ = os.environ if environ is None else environ
    disabled = set()
    for name, value in environ.items():
        match = _DISABLED_SETTING.fullmatch(name)
        if match and value.strip().lower() in ("true", "1"):
            disabled.add(match["function"].lower())
    return frozenset(disabled)


def load_host_config(app_dir: Path, environ: MutableMapping[str, str] | None = None) -> HostConfig:
    """Read host.json (absent is fine) and resolve the settings this host honours."""
    environ = os.environ if environ is None else environ
    extensions = _read_json(Path(app_dir) / "host.json").get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}

    prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
    prefix = DEFAULT_ROUTE_PREFIX if prefix is None else str(prefix).strip("/")

    hub = durable.get("hubName") or DEFAULT_HUB_NAME
    hub = substitute_settings(str(hub), environ, source="host.json extensions.durableTask.hubName")
    return HostConfig(route_prefix=prefix, hub_name=hub, versioning=_versioning(durable))


def _versioning(durable: dict[str, Any]) -> Versioning:
    """extensions.durableTask defaultVersion / versionMatchStrategy / versionFailureStrategy (keys any case)."""
    keys = {str(key).lower(): value for key, value in durable.items()}
    default = keys.get("defaultversion")
    try:
        return Versioning(
            default_version=None if default is None else str(default),
            match_strategy=canonical(
                keys.get("versionmatchstrategy", "CurrentOrOlder"), MATCH_STRATEGIES, "versionMatchStrategy"
            ),
            failure_strategy=canonical(
                keys.get("versionfailurestrategy", "Reject"), FAILURE_STRATEGIES, "versionFailureStrategy"
            ),
        )
    except ValueError as error:
        raise SettingsError(str(error)) from None


def substitute_settings(text: str, environ: MutableMapping[str, str], *, source: str) -> str:
    """Replace every `%NAME%` with the setting's value, as the Functions host does for binding expressions."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise SettingsError(f"{source} refers to %{name}%, but no setting or environment variable {name} exists")
        return environ[name]

    return _SETTING_REFERENCE.sub(value_of, text)


def read_host_json(app_dir: Path) -> dict[str, Any]:
    """host.json as an object ({} when absent), for the sections other modules read (`extensions.mcp`)."""
    return _read_json(Path(app_dir) / "host.json")


def _read_json(path: Path) -> dict[str, Any]:
    """The file's JSON object. Text after a complete first object is ignored with a warning: Microsoft's own
    samples-v2/function_chaining ships a host.json holding two objects one after the other."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
        data, end = json.JSONDecoder().raw_decode(text.lstrip())
    except (OSError, ValueError) as error:
        raise SettingsError(f"{path.name} is not valid JSON: {error}") from error
    if text.lstrip()[end:].strip():
        logging.getLogger("host").warning(
            "%s has more text after its first JSON object; only that object is used.", path.name
        )
    if not isinstance(data, dict):
        raise SettingsError(f"{path.name} must contain a JSON object")
    return data
