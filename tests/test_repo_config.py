"""What a workshop host or a CI maintainer copies: the workflow, the dev container, the notebooks' set-up.

These parse the files as GitHub and the dev container tooling would, and check the promises the README makes
about them (a Python matrix, `make test`, artifacts on failure; `make setup` after create, the offline model by
default), plus the shape every lesson keeps: one import cell, no sys.path, an exercise with a self-check and a
solution notebook that runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import yaml

from helpers.execute_notebooks import KIT_KERNELSPEC

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = ("02", "03", "04", "05", "06", "07", "08", "09", "10")


def test_the_workflow_runs_make_test_on_a_python_matrix_and_keeps_artifacts_on_failure() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/tests.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on:` as True
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    test = workflow["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.11", "3.13"]
    steps = test["steps"]
    assert any("make test" in step.get("run", "") for step in steps)
    uploads = [step for step in steps if "upload-artifact" in step.get("uses", "")]
    assert uploads and all(step["if"] == "failure()" for step in uploads)
    assert "build/executed-notebooks/" in uploads[0]["with"]["path"]
    setup = next(step for step in steps if "setup-python" in step.get("uses", ""))
    assert setup["with"]["cache"] == "pip" and setup["with"]["cache-dependency-path"] == "requirements.txt"
    drift = workflow["jobs"]["newest-agent-framework"]
    assert drift["continue-on-error"] is True and "schedule" in drift["if"]


def test_ci_runs_the_readme_test_command() -> None:
    run = (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test\n" in run and "make test" in readme


def test_the_dev_container_sets_the_kit_up_with_the_offline_model() -> None:
    config = json.loads((ROOT / ".devcontainer/devcontainer.json").read_text())
    assert "3.12" in config["image"] and config["postCreateCommand"] == "make setup"
    assert 8888 in config["forwardPorts"] and config["containerEnv"]["LAB_MODEL"] == "offline"
    assert {"ms-python.python", "ms-toolsai.jupyter"} <= set(config["customizations"]["vscode"]["extensions"])


def test_notebooks_open_with_one_import_cell_and_never_touch_sys_path() -> None:
    for path in [*LESSONS, *sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))]:
        notebook = nbformat.read(path, as_version=4)
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert not any("sys.path" in source for source in code), path.name
        # the kernel check first: on any other Python it stops the notebook with one line (kernel_check.py)
        assert code[0].startswith("import kernel_check  #"), path.name
        first = code[0].split("\n", 2)[2]
        # httpx first where the notebook calls the host with it (an unused import is a lint error)
        assert first.removeprefix("import httpx\n\n").startswith("from helpers import lab"), path.name


def test_notebooks_name_the_kernel_make_setup_registers() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"KERNEL_NAME ?= {KIT_KERNELSPEC['name']}" in makefile
    assert f'--display-name "{KIT_KERNELSPEC["display_name"]}"' in makefile
    for path in [*LESSONS, *sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))]:
        assert nbformat.read(path, as_version=4).metadata["kernelspec"] == KIT_KERNELSPEC, path.name
    assert (NOTEBOOKS / "solutions" / "kernel_check.py").resolve() == (NOTEBOOKS / "kernel_check.py").resolve()


def test_lessons_with_exercises_leave_them_unsolved_and_have_a_solution_notebook() -> None:
    for prefix in WITH_EXERCISES:
        [lesson] = [path for path in LESSONS if path.name.startswith(prefix)]
        notebook = nbformat.read(lesson, as_version=4)
        sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert any("TODO" in source for source in sources), lesson.name
        assert any(source.lstrip().startswith("# Self-check") or "lab.checks." in source for source in sources)
        outputs = "".join(str(cell.get("outputs", "")) for cell in notebook.cells if cell.cell_type == "code")
        assert "✗ Not yet" in outputs, f"{lesson.name}: an exercise shipped solved"
        solution = NOTEBOOKS / "solutions" / f"{lesson.stem}_solution.ipynb"
        solved = "".join(
            str(cell.get("outputs", ""))
            for cell in nbformat.read(solution, as_version=4).cells
            if cell.cell_type == "code"
        )
        assert "✓" in solved and "✗ Not yet" not in solved, solution.name
