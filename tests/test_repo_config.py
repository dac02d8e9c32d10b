"""What a workshop host or a CI maintainer copies: the workflow, the dev container, the notebooks' set-up.

These parse the files as GitHub and the dev container tooling would, and check the promises the README makes
about them (a Python matrix, `make test`, artifacts on failure; `make setup` after create, the offline model by
default), plus the shape every lesson keeps: one import cell, no sys.path, an exercise with a self-check and a
solution notebook that runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import yaml

from helpers.execute_notebooks import KIT_KERNELSPEC

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WORKFLOW = ROOT / ".github/workflows/tests.yml"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
WITH_EXERCISES = ("02", "03", "04", "05", "06", "07", "08", "09", "10")


def test_the_workflow_runs_make_test_on_a_python_matrix_and_keeps_artifacts_on_failure() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on:` as True
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    test = workflow["jobs"]["test"]
    assert test["strategy"]["matrix"]["python"] == ["3.11", "3.13"]
    steps = test["steps"]
    assert any(step.get("run", "").startswith("make test ") for step in steps)
    uploads = [step for step in steps if "upload-artifact" in step.get("uses", "")]
    assert uploads and all(step["if"] == "failure()" for step in uploads)
    assert "build/executed-notebooks/" in uploads[0]["with"]["path"]
    lint = workflow["jobs"]["lint"]
    assert any(step.get("run", "").startswith("make lint ") for step in lint["steps"])
    drift = workflow["jobs"]["newest-agent-framework"]
    assert drift["continue-on-error"] is True and "schedule" in drift["if"]


def test_the_workflow_pins_actions_by_commit_keeps_no_credentials_and_reads_only() -> None:
    """What zizmor checks (make lint runs it), spelled out: a moved tag cannot change what runs, the checkout
    leaves no token in .git/config for later steps, and no job can write to the repository."""
    text = WORKFLOW.read_text()
    uses_lines = [line.strip().removeprefix("- ") for line in text.splitlines() if "uses:" in line]
    assert uses_lines
    for line in uses_lines:
        assert re.fullmatch(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name
        checkouts = [step for step in job["steps"] if "actions/checkout@" in step.get("uses", "")]
        assert checkouts and all(step["with"]["persist-credentials"] is False for step in checkouts), name


def test_the_workflow_caches_what_uv_downloads_keyed_on_the_requirements() -> None:
    """The Makefile installs with uv: the jobs keep uv's cache (not pip's), with the uv version the Makefile pins."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert uv_version
    for name, job in workflow["jobs"].items():
        assert not any(step.get("with", {}).get("cache") == "pip" for step in job["steps"]), name
        [setup_uv] = [step for step in job["steps"] if "astral-sh/setup-uv@" in step.get("uses", "")]
        settings = setup_uv["with"]
        assert settings["version"] == uv_version.group(1), name
        assert settings["enable-cache"] is True and "requirements*.txt" in settings["cache-dependency-glob"], name
        make_runs = [step["run"] for step in job["steps"] if step.get("run", "").startswith("make ")]
        assert make_runs and all('UV="$(command -v uv)"' in run for run in make_runs), name


def test_dependabot_keeps_the_actions_and_every_requirements_file_current() -> None:
    config = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    folders = {
        (update["package-ecosystem"], folder)
        for update in config["updates"]
        for folder in update.get("directories", [update.get("directory")])
    }
    assert ("github-actions", "/") in folders
    for requirements in ROOT.glob("**/requirements*.txt"):
        relative = requirements.parent.relative_to(ROOT)
        if any(part.startswith(".") or part == "build" for part in relative.parts):
            continue  # virtual environments and build output
        folder = "/" if relative == Path(".") else f"/{relative.as_posix()}"
        assert ("pip", folder) in folders, requirements


def test_pre_commit_runs_every_tool_of_make_lint_from_the_pinned_venv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlint: ", 1)[1].split("\n\n", 1)[0]
    lint_tools = set(re.findall(r"\$\(VENV\)/bin/(\w+)", recipe))
    assert lint_tools == {"ruff", "mypy", "zizmor", "vulture"}
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    [local] = config["repos"]
    assert local["repo"] == "local"
    entries = [hook["entry"] for hook in local["hooks"]]
    assert {entry.split()[0].removeprefix(".venv/bin/") for entry in entries} == lint_tools
    assert any("ruff check" in entry for entry in entries) and any("ruff format --check" in entry for entry in entries)


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
