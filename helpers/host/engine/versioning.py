"""Orchestration versioning as the Durable extension applies it to every app, Python included.

host.json `extensions.durableTask`:
- `defaultVersion` -- the version a new instance gets when its starter names none (`start_new(..., version=)`
  or `?version=` win), and the version a sub-orchestration gets when `call_sub_orchestrator(version=)` names
  none. It is also this host's own version for the check below.
- `versionMatchStrategy` (`None`, `Strict`, default `CurrentOrOlder`) and `versionFailureStrategy` (default
  `Reject`, or `Fail`) -- before each episode the Durable Task Framework's dispatcher compares the instance's
  version with the host's: `Strict` requires equality, `CurrentOrOlder` refuses instances newer than the host.
  `Reject` leaves a refused instance untouched (it waits for a host that accepts it); `Fail` fails it with
  the framework's `VersionMismatch` failure.

Comparison follows DTFx `VersioningSettings.CompareVersions`: empty versions are equal and older than any
other; two `System.Version`-shaped strings (2 to 4 numeric parts) compare numerically; anything else compares
as case-insensitive text. Note the consequence, faithful to Azure: with the defaults and no `defaultVersion`,
an instance started with an explicit version is newer than the host and waits, unprocessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MATCH_STRATEGIES = ("None", "Strict", "CurrentOrOlder")
FAILURE_STRATEGIES = ("Reject", "Fail")
VERSION_MISMATCH_OUTPUT = "VersionMismatch: Orchestration version did not comply with Worker Versioning"

_DOTNET_VERSION = re.compile(r"^\s*\d+(\.\d+){1,3}\s*$")
_INT32_MAX = 2**31 - 1


def _dotnet_version(text: str) -> tuple[int, ...] | None:
    """`System.Version.TryParse`: major.minor[.build[.revision]]; absent parts compare as -1."""
    if not _DOTNET_VERSION.match(text):
        return None
    parts = [int(p) for p in text.strip().split(".")]
    if any(p > _INT32_MAX for p in parts):
        return None
    return tuple(parts + [-1] * (4 - len(parts)))


def compare_versions(source: str | None, other: str | None) -> int:
    """Negative, zero or positive as `source` is older than, equal to or newer than `other`."""
    source_empty, other_empty = not (source or "").strip(), not (other or "").strip()
    if source_empty and other_empty:
        return 0
    if source_empty:
        return -1
    if other_empty:
        return 1
    assert source is not None and other is not None
    a, b = _dotnet_version(source), _dotnet_version(other)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = source.upper(), other.upper()
    return (x > y) - (x < y)


def canonical(value: str, allowed: tuple[str, ...], setting: str) -> str:
    """A strategy name as written in host.json (case-insensitive), or ValueError naming the allowed ones."""
    for name in allowed:
        if name.lower() == str(value).strip().lower():
            return name
    raise ValueError(f"host.json extensions.durableTask.{setting} is {value!r}; use one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Versioning:
    default_version: str | None = None
    match_strategy: str = "CurrentOrOlder"
    failure_strategy: str = "Reject"

    def accepts(self, version: str | None) -> bool:
        """Whether this host may run an episode of an instance with `version` (the dispatcher's check)."""
        if self.match_strategy == "Strict":
            return version == self.default_version  # C# string equality: null and "" differ
        if self.match_strategy == "CurrentOrOlder":
            return compare_versions(version, self.default_version) <= 0
        return True

    def describe_refusal(self, version: str | None) -> str:
        return (
            f"its version {version!r} does not satisfy versionMatchStrategy {self.match_strategy} against this "
            f"host's defaultVersion {self.default_version!r} (host.json extensions.durableTask)"
        )
