"""Several clones on one machine: `make lab` runs notebooks on its own .venv, whoever registered the kernel last.

Notebooks name the kernel `durable-agents-kit`. `make setup` registers it for the user (for VS Code and a
JupyterLab of your own) -- so the last clone set up owns that name -- and inside .venv (`--sys-prefix`), where
Jupyter inside a virtual environment looks first, and `make lab` puts first in any case (JUPYTER_PATH). These
check that resolution as Jupyter does it, against a user-level registration pointing at another Python.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESOLVE = "from jupyter_client.kernelspec import KernelSpecManager as M; print(M().get_kernel_spec('durable-agents-kit').argv[0])"


def resolved_python(tmp_path: Path, jupyter_path: str | None, prefer_env: bool = True) -> str:
    other = tmp_path / "user" / "kernels" / "durable-agents-kit"
    other.mkdir(parents=True, exist_ok=True)
    spec = {"argv": ["/another/clone/.venv/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    (other / "kernel.json").write_text(json.dumps({**spec, "display_name": "x", "language": "python"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "user")  # the user-level registration: another clone's
    if jupyter_path is not None:
        env["JUPYTER_PATH"] = jupyter_path
    if not prefer_env:
        env["JUPYTER_PREFER_ENV_PATH"] = "0"  # what some users set, to let their own kernels win
    done = subprocess.run([sys.executable, "-c", RESOLVE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_make_lab_resolves_the_kernel_to_its_own_venv(tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlab: ", 1)[1].split("\n\n", 1)[0]
    assert "JUPYTER_PATH=$(VENV_JUPYTER)" in recipe and "$(VENV_KERNEL)" in recipe.splitlines()[0]
    venv_jupyter = re.search(r"^VENV_JUPYTER := \$\(CURDIR\)/\$\(VENV\)/(\S+)$", makefile, re.MULTILINE)
    assert venv_jupyter is not None
    own = ROOT / ".venv" / venv_jupyter.group(1)
    assert (own / "kernels" / "durable-agents-kit" / "kernel.json").exists(), "run make setup"
    python = resolved_python(tmp_path, str(own))
    assert Path(python).resolve() == (ROOT / ".venv" / "bin" / "python").resolve(), python


def test_the_venvs_own_kernel_wins_by_default_and_jupyter_path_keeps_it_so(tmp_path: Path) -> None:
    """Inside a virtual environment Jupyter looks at the environment's kernels before the user's, so registering
    the kernel inside .venv is what keeps a clone on its own Python; with JUPYTER_PREFER_ENV_PATH=0 the user's
    registration (another clone's) would win, which make lab's JUPYTER_PATH prevents."""
    own = (ROOT / ".venv" / "bin" / "python").resolve()
    assert Path(resolved_python(tmp_path, None)).resolve() == own
    assert resolved_python(tmp_path, None, prefer_env=False) == "/another/clone/.venv/bin/python"
    venv_jupyter = str(ROOT / ".venv" / "share" / "jupyter")
    assert Path(resolved_python(tmp_path, venv_jupyter, prefer_env=False)).resolve() == own
