"""notebooks/kernel_check.py, every lesson's first import: one line naming the kernel on a Python without the kit.

Run in a kernel-like IPython shell of its own, with `helpers` hidden the way a Python without the kit lacks it:
the cell must fail (so Run All stops there) and show one line that names the kit's kernel and `make setup`,
no traceback. With `helpers` importable the same cell passes and prints nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

SCRIPT = r"""
import contextlib, io, json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance(colors="nocolor")
results = {}
for name, hidden in (("other python", True), ("kit", False)):
    if hidden:
        sys.modules["helpers"] = None  # import helpers -> ModuleNotFoundError, as on a Python without the kit
    else:
        sys.modules.pop("helpers", None)
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        result = shell.run_cell("import kernel_check")
    error = result.error_in_exec
    results[name] = {"error": type(error).__name__ if error else None, "shown": shown.getvalue()}
print(json.dumps(results))
"""


def test_a_python_without_the_kit_stops_at_the_first_cell_with_one_line() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=NOTEBOOKS, capture_output=True, text=True, timeout=120, check=True
    )
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    other = results["other python"]
    lines = [line for line in other["shown"].splitlines() if line.strip()]
    assert other["error"] == "WrongKernel" and len(lines) == 1, other
    assert "Traceback" not in other["shown"] and "File " not in other["shown"]
    assert '"Python (durable agents kit)"' in lines[0] and "`make setup`" in lines[0] and sys.executable in lines[0]
    assert results["kit"] == {"error": None, "shown": ""}
