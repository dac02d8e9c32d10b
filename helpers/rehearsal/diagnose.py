"""Say why the app did not import in its clean environment, and what to change: one sentence a learner can act on.

A module the app imports is missing for one of two reasons: it is one of the app's own files that the package
left out (a `.funcignore` line matches it), or it is a library that `requirements.txt` does not install. The
second is recognised through the kit's own environment, which has every library the app was developed with:
`importlib.metadata` says which distribution provides the module, and at which version.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from .package import Package


def explain_import_failure(failure: dict[str, Any], package: Package, installed: dict[str, str]) -> str:
    """`failure`: what boot.py reported (error, message, module, where); `installed`: the clean environment's
    packages. Returns what happened and the fix."""
    happened = f"{failure.get('error')}: {failure.get('message')}"
    if failure.get("where"):
        happened += f" (at {failure['where']})"
    module = failure.get("module")
    if not module:
        return f"function_app.py failed to import: {happened}"
    own_file = _own_module_file(module, package)
    reason = package.why_left_out(own_file) if own_file is not None else None
    if reason is not None:
        return (
            f"function_app.py failed to import: {happened}. `{module}` is the app's own {own_file}, and the "
            f"package leaves it out ({reason}): change that line so it no longer matches {own_file}."
        )
    distribution = providing_distribution(module)
    if distribution is None:
        return (
            f"function_app.py failed to import: {happened}. No package installed in the kit provides `{module}`: "
            "add the package that does to requirements.txt."
        )
    name, version = distribution
    if _normalise(name) in {_normalise(n) for n in installed}:
        return f"function_app.py failed to import: {happened}"
    return (
        f"function_app.py failed to import: {happened}. `{module}` comes from the package {name}, which "
        f"requirements.txt does not install (the kit has {name}=={version}): add the line `{name}=={version}` "
        "to requirements.txt."
    )


def _own_module_file(module: str, package: Package) -> str | None:
    """The app folder's file for `module` (`prompts.py`, `lib/__init__.py`, ...) if it has one."""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        base = "/".join(parts[:depth])
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if (package.app_dir / candidate).is_file():
                return candidate
    return None


def providing_distribution(module: str) -> tuple[str, str] | None:
    """(distribution name, version) of the installed distribution that holds `module`, or None."""
    parts = module.split(".")
    candidates = importlib.metadata.packages_distributions().get(parts[0], [])
    for depth in range(
        len(parts), 0, -1
    ):  # the most specific file first: agent_framework.openai before agent_framework
        wanted = {"/".join(parts[:depth]) + suffix for suffix in (".py", "/__init__.py")}
        for name in candidates:
            files = importlib.metadata.distribution(name).files or []
            if any(Path(str(f)).as_posix() in wanted for f in files):
                return name, importlib.metadata.version(name)
    return None


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
