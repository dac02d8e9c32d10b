"""A learner's own model, misconfigured: each mistake gives one clear message that names the backend, the setting
to fix and where it is read from — and never the key.

The "remote" is the offline model started as a separate process that checks keys and model names the way
Azure OpenAI and OpenAI do (401 / 404 in their own error shapes). `lab.start(model="env")` makes one tiny call
through the app's own client code before it starts the host, so the mistakes surface there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import lab, processes
from helpers.lab.environment import BackendChoice
from helpers.lab.model_errors import explain_model_failure
from helpers.offline_settings import MODEL_VARIABLES

pytestmark = pytest.mark.timeout(120)

GOOD_KEY = "sk-test-good-key-0123456789abcdef"
WRONG_KEY = "sk-test-wrong-key-fedcba9876543210"
DEPLOYMENT = "kit-test-deployment"


@pytest.fixture(scope="module")
def remote() -> Iterator[processes.Service]:
    service = processes.start_offline_model(
        latency_ms=50, extra_args=["--api-key", GOOD_KEY, "--models", f"{DEPLOYMENT},kit-test-model"]
    )
    yield service
    service.stop()


@pytest.fixture
def own_model(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A shell with no model settings of its own, no managed identity, and LAB_MODEL=env."""
    for name in (*MODEL_VARIABLES, "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAB_MODEL", "env")
    return monkeypatch


def azure(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str | None = GOOD_KEY, deployment: str = DEPLOYMENT
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", endpoint)
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", deployment)
    if key is not None:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)


def refused_start(secret: str | None = None) -> str:
    """Start a kit that must refuse; return its message after checking no service was left running."""
    live_before = processes.live_services()
    with pytest.raises(lab.ModelBackendError) as raised:
        lab.start()
    message = str(raised.value)
    assert processes.live_services() <= live_before, "a refused start left services running"
    if secret:
        assert secret not in message
    return message


def test_the_azure_key_route_runs_a_lesson_call_and_records_it(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    azure(own_model, remote.url)
    kit = lab.start()
    try:
        assert kit.model.kind == "azure_openai" and kit.model_url is None
        check = kit.check_model()
        assert check.answered_by == DEPLOYMENT and check.reply.startswith("[offline model")
        started = httpx.post(f"{kit.base_url}/api/singleagent/run", timeout=30).json()
        status = lab.poll(started["statusQueryGetUri"], desc="chaining")
        calls = kit.model_calls()
        # the check is not one of the app's calls; the two agent turns are, with what they sent
        assert [call["input_messages"] for call in calls] == [2, 4]
        assert {call["agent"] for call in calls} == {"WriterAgent"} and status["output"]
        assert all(call["route"] == "azure.chat.completions" and call["prompt_tokens"] for call in calls)
        logs = kit.host_log_path.read_text() + (kit.work_dir / "gateway.log").read_text()
        assert GOOD_KEY not in logs and GOOD_KEY not in json.dumps(kit.model_stats())
    finally:
        kit.stop()


def test_a_wrong_azure_key_names_the_key_setting_and_where_it_is_read(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    azure(own_model, remote.url, key=WRONG_KEY)
    message = refused_start(secret=WRONG_KEY)
    assert "Azure OpenAI at " + remote.url in message and "refused the key (401)" in message
    assert "AZURE_OPENAI_API_KEY — read from your environment" in message


def test_a_wrong_key_in_local_settings_points_at_that_file(
    own_model: pytest.MonkeyPatch, tmp_path: Path, remote: processes.Service
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    kit_app = lab.KIT_ROOT / "functions_app"
    for name in ("function_app.py", "model_client.py", "host.json"):
        (app / name).write_text((kit_app / name).read_text())
    (app / "local.settings.json").write_text(
        json.dumps(
            {
                "Values": {
                    "AZURE_OPENAI_ENDPOINT": remote.url,
                    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": DEPLOYMENT,
                    "AZURE_OPENAI_API_KEY": WRONG_KEY,
                }
            }
        )
    )
    with pytest.raises(lab.ModelBackendError) as raised:
        lab.start(app_dir=app)
    assert "AZURE_OPENAI_API_KEY — read from " in str(raised.value)
    assert "local.settings.json (Values)" in str(raised.value) and WRONG_KEY not in str(raised.value)


def test_a_wrong_deployment_name_names_the_deployment_setting(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    azure(own_model, remote.url, deployment="gpt-4o-typo")
    message = refused_start(secret=GOOD_KEY)
    assert "has no deployment 'gpt-4o-typo' (404)" in message and "DeploymentNotFound" in message
    assert "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME — read from your environment" in message


def test_an_unreachable_endpoint_names_the_endpoint_setting(own_model: pytest.MonkeyPatch) -> None:
    nowhere = f"http://127.0.0.1:{processes.free_port()}"
    azure(own_model, nowhere)
    message = refused_start(secret=GOOD_KEY)
    assert f"could not reach Azure OpenAI at {nowhere}" in message
    assert "AZURE_OPENAI_ENDPOINT — read from your environment" in message


def test_a_wrong_openai_key_names_openai_api_key(own_model: pytest.MonkeyPatch, remote: processes.Service) -> None:
    own_model.setenv("OPENAI_BASE_URL", remote.url + "/v1")
    own_model.setenv("OPENAI_MODEL", "kit-test-model")
    own_model.setenv("OPENAI_API_KEY", WRONG_KEY)
    message = refused_start(secret=WRONG_KEY)
    assert "the OpenAI-compatible server at " in message and "(401)" in message
    assert "OPENAI_API_KEY — read from your environment" in message


def test_entra_id_without_any_credential_says_how_to_sign_in(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    azure(own_model, remote.url, key=None)
    own_model.setenv("PATH", "/nonexistent")  # no az / azd / pwsh to ask for a token
    message = refused_start()
    assert message.startswith("No Microsoft Entra ID token for Azure OpenAI")
    assert "az login" in message and "AZURE_OPENAI_API_KEY" in message


def test_a_model_that_fails_mid_run_fails_poll_with_the_explanation(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    azure(own_model, remote.url)
    kit = lab.start()
    try:
        # The remote itself starts answering 429 (as a quota would), after the kit's check passed.
        httpx.post(
            remote.url + "/admin/faults", json={"fail_rate": 1.0, "fail_status": 429, "retry_after_seconds": 0.05}
        ).raise_for_status()
        started = httpx.post(f"{kit.base_url}/api/singleagent/run", timeout=30).json()
        with pytest.raises(lab.ModelBackendError) as raised:
            lab.poll(started["statusQueryGetUri"], desc="chaining")
        assert "chaining ended Failed because a model call failed." in str(raised.value)
        assert f"is rate limiting deployment '{DEPLOYMENT}' (429" in str(raised.value)
    finally:
        httpx.post(remote.url + "/admin/faults", json={})
        kit.stop()


@pytest.mark.parametrize(
    "status, error, expected",
    [
        (401, "Access denied", "AZURE_OPENAI_API_KEY"),
        (403, "Principal does not have access", "Cognitive Services OpenAI User"),
        (404, "DeploymentNotFound", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME"),
        (429, "exceeded token rate limit", "quota"),
        (500, "internal error", "already retried"),
        (502, "The model gateway could not reach x", "AZURE_OPENAI_ENDPOINT"),
        (400, "content filter", "refused the request (400)"),
    ],
)
def test_each_failure_kind_gets_its_own_advice(status: int, error: str, expected: str) -> None:
    entra = BackendChoice(
        "env",
        "Azure OpenAI",
        True,
        kind="azure_openai",
        upstream="https://x.openai.azure.com",
        model_name="gpt-4o-mini",
        auth="Microsoft Entra ID",
    )
    message = explain_model_failure(entra, status, error, lab.KIT_ROOT / "functions_app")
    assert expected in message and "Azure OpenAI at https://x.openai.azure.com" in message


def test_make_demo_with_your_model_reports_a_wrong_key_in_one_message(
    own_model: pytest.MonkeyPatch, remote: processes.Service
) -> None:
    import os
    import subprocess
    import sys

    azure(own_model, remote.url, key=WRONG_KEY)
    result = subprocess.run(
        [sys.executable, "-m", "helpers.demo", "--model", "env"],
        cwd=lab.KIT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "refused the key (401)" in result.stderr and "AZURE_OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr and WRONG_KEY not in result.stdout + result.stderr
