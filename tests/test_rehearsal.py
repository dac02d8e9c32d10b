"""The offline deployment rehearsal fails where Azure would: a file the package leaves out, a library
requirements.txt does not install, a setting host.json needs — and passes for functions_app/ as it is.

Every rehearsal here is real: the zip is built, a venv gets only requirements.txt (uv, from its cache, reused
across tests and lessons while the inputs stay the same), the embedded host runs on it with the Azure settings,
and both orchestrations run over HTTP against the offline model posing as Azure OpenAI.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from helpers.lab import azure_plan
from helpers.rehearsal import build_package, rehearse
from helpers.rehearsal.diagnose import providing_distribution
from helpers.rehearsal.package import REQUIRED_FILES

pytestmark = pytest.mark.timeout(240)

APP = Path(__file__).resolve().parents[1] / "functions_app"
SETTINGS = azure_plan.AzurePlan().app_settings()
SETTINGS_DTS = azure_plan.DTS_CONNECTION_SETTING


def copy_app(tmp_path: Path) -> Path:
    target = tmp_path / "app"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("__pycache__", "local.settings.json"))
    return target


def test_the_package_follows_funcignore_and_never_ships_local_files(tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    (app / "local.settings.json").write_text('{"Values": {"AZURE_OPENAI_API_KEY": "secret"}}')
    for extra in (".vscode/settings.json", ".git/HEAD", "tests/test_app.py", ".python_packages/lib/x.py"):
        (app / extra).parent.mkdir(parents=True, exist_ok=True)
        (app / extra).write_text("x")
    (app / "prompts.py").write_text("GREETING = 'hello'\n")

    package = build_package(app, tmp_path / "out")

    shipped = sorted(f.path for f in package.shipped)
    assert shipped == ["function_app.py", "host.json", "model_client.py", "prompts.py", "requirements.txt"]
    with zipfile.ZipFile(package.zip_path) as archive:
        assert sorted(archive.namelist()) == shipped
    assert sorted(p.name for p in package.root.iterdir()) == shipped
    assert package.why_left_out("local.settings.json") == "never published (local.settings.json stays on your machine)"
    assert package.why_left_out(".vscode/") and package.why_left_out(".git/")
    assert package.why_left_out("tests/test_app.py") == ".funcignore line 13: tests"
    assert "remote build" in (package.why_left_out(".python_packages/lib/x.py") or "")
    assert package.missing_required() == []
    first = package.zip_path.read_bytes()
    assert build_package(app, tmp_path / "again").zip_path.read_bytes() == first  # the same files, the same zip


def test_a_required_file_the_funcignore_leaves_out_is_named_with_its_line(tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    (app / ".funcignore").write_text((app / ".funcignore").read_text() + "*.json\n")
    package = build_package(app, tmp_path / "out")
    assert package.missing_required() == ["host.json is not in the package: .funcignore line 15: *.json"]
    assert set(REQUIRED_FILES) - {"host.json"} <= {f.path for f in package.shipped}


def test_functions_app_rehearses_with_its_azure_settings_and_nothing_of_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A learner's shell often holds a model key: the rehearsal must not hand it to the app.
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-from-the-shell")
    monkeypatch.setenv("LAB_MODEL", "env")

    rehearsal = rehearse(APP, SETTINGS, work_dir=tmp_path)

    assert rehearsal.ok, rehearsal
    titles = [step.title for step in rehearsal.steps]
    assert titles == [
        "package",
        "settings",
        "clean environment",
        "app imports",
        "host",
        "single-agent chaining",
        "multi-agent concurrency",
        "managed identity",
    ]
    chaining, concurrency = rehearsal.runs
    assert chaining.runtime_status == "Completed" and chaining.output.startswith("[offline model, turn 2]")
    assert set(concurrency.output) == {"physicist", "chemist"}
    env = rehearsal.settings
    assert "AZURE_OPENAI_API_KEY" not in env and "LAB_MODEL" not in env
    assert env["AZURE_CLIENT_ID"] == "rehearsal-managed-identity" and env["IDENTITY_ENDPOINT"].endswith("/msi/token")
    assert rehearsal.environment is not None and env["PATH"] == str(rehearsal.environment.python.parent)
    assert "token(s) issued to client id rehearsal-managed-identity" in rehearsal.steps[-1].detail
    # The clean environment has the app's packages and not the kit's own tools.
    installed = {name.lower() for name in rehearsal.environment.installed}
    assert {"agent-framework-azurefunctions", "azure-functions-durable", "openai"} <= installed
    assert not installed & {"jupyterlab", "starlette", "uvicorn", "pytest", "matplotlib", "pathspec"}


def test_a_module_the_funcignore_leaves_out_fails_the_import_and_names_the_line(tmp_path: Path) -> None:
    app = azure_plan.teammate_app("model*", tmp_path / "teammate")

    rehearsal = rehearse(app, SETTINGS, work_dir=tmp_path / "work")

    assert not rehearsal.ok and rehearsal.failure is not None
    assert rehearsal.failure.title == "app imports"
    assert "No module named 'model_client'" in rehearsal.failure.detail
    assert "model_client.py, and the package leaves it out (.funcignore line 15: model*)" in rehearsal.failure.detail
    assert not rehearsal.runs  # nothing ran after the failed step


def test_a_requirement_removed_from_requirements_txt_fails_with_the_line_to_add(tmp_path: Path) -> None:
    app = azure_plan.app_copy(tmp_path / "app", without_requirement="agent-framework-openai")
    assert "agent-framework-openai" not in (app / "requirements.txt").read_text()

    rehearsal = rehearse(app, SETTINGS, work_dir=tmp_path / "work")

    assert rehearsal.failure is not None and rehearsal.failure.title == "app imports", rehearsal
    version = providing_distribution("agent_framework_openai")
    assert version is not None
    assert f"add the line `agent-framework-openai=={version[1]}` to requirements.txt" in rehearsal.failure.detail


def test_the_app_cannot_lean_on_the_embedded_hosts_own_packages(tmp_path: Path) -> None:
    # starlette is in the host layer, not in this app's requirements: on Azure it would be missing.
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(APP / "host.json", app / "host.json")
    (app / "requirements.txt").write_text("azure-functions\n")
    (app / "function_app.py").write_text(
        "import azure.functions as func\nimport starlette\n\napp = func.FunctionApp()\n"
    )

    rehearsal = rehearse(app, {"TASKHUB_NAME": "default", SETTINGS_DTS: "Endpoint=x"}, work_dir=tmp_path / "work")

    assert rehearsal.failure is not None and rehearsal.failure.title == "app imports", rehearsal
    assert "No module named 'starlette'" in rehearsal.failure.detail
    assert "comes from the package starlette" in rehearsal.failure.detail


def test_a_setting_host_json_needs_and_the_app_settings_lack_fails_first(tmp_path: Path) -> None:
    settings = {name: value for name, value in SETTINGS.items() if name != "TASKHUB_NAME"}
    rehearsal = rehearse(APP, settings, work_dir=tmp_path)
    assert [(s.title, s.ok) for s in rehearsal.steps] == [("package", True), ("settings", False)]
    assert "host.json refers to TASKHUB_NAME" in rehearsal.steps[-1].detail
    assert rehearsal.environment is None  # stopped before installing anything
