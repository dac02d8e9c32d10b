"""Lesson 11's self-check: a `.funcignore` line that keeps a data folder out of the package and the app's code in.

The teammate's copy of the app (`azure_plan.teammate_app`) has a `models/` folder of evaluation data and the line
`model*` in `.funcignore`, which also matches `model_client.py`. The check builds the package with the learner's
line instead, says what ships and what does not, and when the folder is out and the module in, rehearses the
deployment to prove the app still runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ...rehearsal import build_package, rehearse
from ..azure_plan import TEAMMATE_DATA, TEAMMATE_NOTES, AzurePlan, teammate_app
from . import Verdict, never_raises, not_yet, passed


@never_raises
def models_line(line: Any, *, plan: AzurePlan | None = None) -> Verdict:
    """Is `line` a `.funcignore` line (or lines) that leaves out `models/` and keeps `model_client.py`?"""
    if line is ...:
        return not_yet(
            "replace the ... with your .funcignore line, as a string.",
            "the line names the folder, not every file whose name starts with `model`.",
        )
    if not isinstance(line, str) or not line.strip():
        return not_yet(f"{line!r} is not a .funcignore line: write it as a string, e.g. 'docs/'.")
    with tempfile.TemporaryDirectory(prefix="kit-check-funcignore-") as folder:
        return _check(line, Path(folder), plan or AzurePlan())


def _check(line: str, work: Path, plan: AzurePlan) -> Verdict:
    app = teammate_app(line, work / "functions_app")
    package = build_package(app, work / "package")
    kept_out = package.why_left_out("model_client.py")
    if kept_out is not None:
        return not_yet(
            f"model_client.py stays out of the package ({kept_out}), and function_app.py imports it.",
            "match the folder only: a pattern that ends with `/` matches folders, not files.",
        )
    shipping = [p for p in (TEAMMATE_DATA, TEAMMATE_NOTES) if package.why_left_out(p) is None]
    if shipping:
        return not_yet(
            f"{', '.join(shipping)} still {'ships' if len(shipping) == 1 else 'ship'} with the app.",
            "leave out the whole models/ folder, whatever files it holds.",
        )
    rehearsal = rehearse(app, plan.app_settings(), work_dir=work / "rehearsal")
    if not rehearsal.ok:
        failure = rehearsal.failure
        return not_yet(f"models/ stays out, but the rehearsal fails: {failure}", "read the ✗ line: it says what.")
    return passed(
        f"{line.strip()!r} leaves out models/ ({len(package.left_out)} files out in all) and keeps model_client.py;\n"
        f"  the rehearsal passes: {', '.join(run.name + ' ' + run.runtime_status for run in rehearsal.runs)}."
    )
