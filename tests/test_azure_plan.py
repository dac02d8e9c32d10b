"""Lesson 11's plan: the deployment script runs as its commands read, the rehearsal step in it is one the kit
accepts and leaves the zip the next step uploads, and the settings table says who sets each setting.

(The `az` commands themselves are checked against the Azure CLI's own parser by `make test-azure-cli`.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers.lab import azure_plan
from helpers.lab.azure_plan import AzurePlan, multiline
from helpers.rehearsal.__main__ import build_parser
from tests.azure_cli.lesson_commands import LESSON_NOTEBOOKS, text_commands
from tests.azure_cli.script_calls import recorded_calls


def test_multiline_commands_run_exactly_like_the_one_line_form(tmp_path: Path) -> None:
    for what, command in AzurePlan().commands():
        script = multiline(command)
        assert all(len(re.findall(r"(?:^|\s)--?[a-z]", line)) <= 1 for line in script.splitlines()), script
        one_line, one_done = recorded_calls(command, tmp_path / "one")
        multi, multi_done = recorded_calls(script, tmp_path / "multi")
        assert one_done.returncode == multi_done.returncode == 0 and not multi_done.stderr, (what, multi_done.stderr)
        assert multi == one_line and multi, what


def test_the_script_rehearses_then_uploads_the_zip_it_rehearsed(tmp_path: Path) -> None:
    plan = AzurePlan()
    calls, done = recorded_calls(plan.script(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert {call[0] for call in calls} == {"az", ".venv/bin/python"}
    (rehearsal,) = [call for call in calls if call[0] == ".venv/bin/python"]
    assert rehearsal[1:3] == ["-m", "helpers.rehearsal"]
    args = build_parser().parse_args(rehearsal[3:])
    assert args.app_dir == "functions_app"
    deploy = next(call for call in calls if call[1:5] == ["functionapp", "deployment", "source", "config-zip"])
    zip_path = deploy[deploy.index("--src") + 1]
    assert zip_path == plan.package_zip == f"{args.work_dir.as_posix()}/package/functions_app.zip"
    assert deploy[deploy.index("--build-remote") + 1] == "true"
    # The rehearsal comes after the app settings and before the upload: a failed rehearsal stops the script.
    settings = next(i for i, call in enumerate(calls) if call[1:4] == ["functionapp", "config", "appsettings"])
    assert settings < calls.index(rehearsal) < calls.index(deploy)


def test_no_secret_is_on_any_command_line() -> None:
    text = AzurePlan().script()
    assert "API_KEY" not in text and "AccountKey" not in text and "password" not in text.lower()
    assert "Authentication=ManagedIdentity" in text


def test_the_settings_table_says_who_sets_each_setting() -> None:
    table = azure_plan.settings_table(AzurePlan())
    rows = {row["setting"]: row for row in table}
    assert all("not needed" not in str(row["Azure"]) for row in table)
    for name in ("AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "IDENTITY_ENDPOINT"):
        assert rows[name]["Azure"].startswith("set by Azure"), name
    assert rows["AZURE_OPENAI_API_KEY"]["Azure"] == "not set: the app signs in with its managed identity"
    assert rows["TASKHUB_NAME"]["Azure"] == "you: default"
    assert rows["AZURE_CLIENT_ID"]["local (template)"] == ""


def test_the_teammates_line_takes_the_apps_own_module_with_it(tmp_path: Path) -> None:
    broken = azure_plan.teammate_package("model*", tmp_path / "broken")
    assert broken.why_left_out("model_client.py") == ".funcignore line 15: model*"
    fixed = azure_plan.teammate_package("models/", tmp_path / "fixed")
    assert fixed.why_left_out("model_client.py") is None
    assert fixed.why_left_out(azure_plan.TEAMMATE_DATA) == ".funcignore line 15: models/"


def test_the_lesson_shows_only_az_commands_the_cli_check_can_parse() -> None:
    # func and azd are not Python packages the tests can ask: the lesson uses none of their commands, so every
    # command it shows is one `make test-azure-cli` checks with the Azure CLI's parser.
    found = text_commands()
    assert found and {tool for tool, _ in found} == {"az"}, found
    sources = "".join("".join(cell["source"]) for path in LESSON_NOTEBOOKS for cell in read_cells(path))
    assert not re.search(r"(^|[\s`\"'(])(func|azd) [a-z]", sources), "a func or azd command in lesson 11"


def read_cells(path: Path) -> list[dict[str, object]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]
