"""Every `az` command lesson 11 shows parses with the real Azure CLI's own parser — and a misspelled one does not.

Runs under `make test-azure-cli`, which installs the pinned Azure CLI into .venv-azure-cli (never into the
learner's .venv) and sets KIT_AZURE_CLI_PYTHON to its Python. No sign-in, no network: every proxy points at a
closed local port, so anything the CLI tried to fetch would fail at once instead of reaching out.

What is checked, per command: the command exists in this CLI version (no extension needed), every option is one
it defines, required options are present, values with a fixed set of choices are among them (`--build-remote`,
`-o`). What is not: values the CLI checks against Azure when the command runs (a region's name, a runtime version
the region offers, whether a name is free). The scheduler's `--properties` JSON, which the CLI passes on
unread, is compared with what the Durable Task Scheduler's own ARM models (azure-mgmt-durabletask) serialise.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers.rehearsal.plan import DTS_API_VERSION, AzurePlan

from .lesson_commands import plan_calls, text_commands

AZ_PYTHON = os.environ.get("KIT_AZURE_CLI_PYTHON", "")
if not AZ_PYTHON:
    pytest.skip("needs the Azure CLI's test environment: run `make test-azure-cli`", allow_module_level=True)

pytestmark = pytest.mark.timeout(600)
PARSER = Path(__file__).with_name("parse_commands.py")

# Mistakes the check must catch, each made in one of the plan's real commands.
MISTAKES = {
    "misspelled option": (["functionapp", "create"], "--flexconsumption-location", "--flexconsumption-locaton"),
    "renamed command": (["functionapp", "deployment", "source", "config-zip"], "config-zip", "zip-deploy"),
    "value not among the choices": (["functionapp", "deployment", "source", "config-zip"], "true", "yes"),
    "misspelled group": (["resource", "create"], "resource", "resources"),
}


def ask_the_cli(request: dict[str, Any]) -> dict[str, Any]:
    config = Path(AZ_PYTHON).resolve().parents[1] / "azure-config"  # the CLI's command index, kept between runs
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # its .pyc files, kept too
    env |= {
        "AZURE_CONFIG_DIR": str(config),
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
        "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
        "AZURE_CORE_NO_COLOR": "true",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    done = subprocess.run(
        [AZ_PYTHON, str(PARSER)], input=json.dumps(request), capture_output=True, text=True, env=env, timeout=500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def with_mistake(calls: list[list[str]], command: list[str], old: str, new: str) -> list[str]:
    argv = copy.deepcopy(next(call for call in calls if call[: len(command)] == command))
    argv[argv.index(old)] = new
    return argv


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    plan = AzurePlan()
    calls = plan_calls(plan, tmp_path_factory.mktemp("script"))
    lesson = [argv for tool, argv in text_commands() if tool == "az"]
    mistakes = [with_mistake(calls, *mistake) for mistake in MISTAKES.values()]
    answer = ask_the_cli({"commands": calls + lesson + mistakes, "scheduler_properties": plan.scheduler_properties()})
    parsed = answer["commands"]
    return {
        "version": answer["azure_cli"],
        "plan": parsed[: len(calls)],
        "lesson": parsed[len(calls) : len(calls) + len(lesson)],
        "mistakes": dict(zip(MISTAKES, parsed[len(calls) + len(lesson) :], strict=True)),
        "scheduler": answer["scheduler"],
        "plan_object": plan,
    }


def test_the_pinned_cli_is_the_one_that_answered(answers: dict[str, Any]) -> None:
    pinned = Path(__file__).with_name("requirements-azure-cli.txt").read_text()
    assert f"azure-cli=={answers['version']}" in pinned


def test_every_az_command_of_the_deployment_parses(answers: dict[str, Any]) -> None:
    assert len(answers["plan"]) >= 15
    failed = [f"az {' '.join(a['argv'][:4])} ...: {a['errors']}" for a in answers["plan"] if not a["ok"]]
    assert not failed, "\n".join(failed)
    commands = {a["command"] for a in answers["plan"]}
    assert {"functionapp create", "functionapp deployment source config-zip", "resource create"} <= commands


def test_every_az_command_in_the_lessons_text_parses(answers: dict[str, Any]) -> None:
    assert answers["lesson"], "the lesson's text names no az command at all"
    failed = [f"az {' '.join(a['argv'])}: {a['errors']}" for a in answers["lesson"] if not a["ok"]]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_fails_with_the_clis_own_message(answers: dict[str, Any], mistake: str) -> None:
    answer = answers["mistakes"][mistake]
    assert not answer["ok"] and answer["exit_code"] == 2, answer
    assert answer["errors"], answer  # the CLI said why
    new = MISTAKES[mistake][2]
    assert any(new in error or "required" in error for error in answer["errors"]), answer["errors"]


def test_the_scheduler_properties_are_what_the_scheduler_models_serialise(answers: dict[str, Any]) -> None:
    plan = answers["plan_object"]
    scheduler = answers["scheduler"]
    assert scheduler["serialised"] == plan.scheduler_properties()
    assert plan.scheduler_properties()["sku"]["name"] in scheduler["sku_names"]
    assert scheduler["api_version"] == DTS_API_VERSION
