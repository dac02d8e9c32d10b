"""Test apps for the HTTP layer, copied to a temp folder with the local.settings.json a test wants.

local.settings.json is git-ignored (it holds secrets in real projects), so tests write theirs at run time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

APPS = Path(__file__).parent / "apps"


def app_copy(name: str, destination: Path, settings: dict[str, str] | None = None) -> Path:
    """Copy apps/<name> to destination/<name>; write `settings` as local.settings.json `Values`."""
    target = destination / name
    shutil.copytree(APPS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    if settings is not None:
        document = {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **settings}}
        (target / "local.settings.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target
