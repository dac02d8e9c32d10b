"""The offline model injects 429 / 500 / stalls that end in 504: the seed orchestrations either succeed through
the model client's retry policy (model_client.MODEL_MAX_RETRIES: the openai client retries 429 and 5xx three
times, honouring Retry-After) or end
`Failed` naming the model's error. Never a hang, never an empty answer stored as `Completed`."""

from __future__ import annotations

import pytest

from tests.faults.conftest import AppWithModel

pytestmark = pytest.mark.timeout(90)

# Per agent run against a model that keeps failing: the agent entity first runs the agent streamed and, when
# that fails, once more unstreamed (agent_framework_durabletask._entities); each of the two goes through the
# openai client, which tries 4 times (one call + MODEL_MAX_RETRIES = 3 retries). So 2 x 4 model calls, then the
# run gives up.
AGENT_ATTEMPTS = 8


def assert_real_answers(status: dict) -> None:
    assert status["runtimeStatus"] == "Completed", status
    output = status["output"]
    for agent in ("physicist", "chemist"):
        assert isinstance(output[agent], str) and output[agent].strip(), status


def test_one_429_is_retried_and_the_run_completes(app_with_model: AppWithModel) -> None:
    app_with_model.set_faults(fail_first=1, fail_status=429, retry_after_seconds=0.2)
    status, _ = app_with_model.run_multi("What is pressure?")

    assert_real_answers(status)
    stats = app_with_model.stats()
    assert stats["faults_injected"].get("429") == 1
    assert stats["calls"] == 3 and stats["completed"] == 2, stats["by_status"]


def test_a_timeout_ending_in_504_is_retried_and_the_run_completes(app_with_model: AppWithModel) -> None:
    app_with_model.set_faults(timeout_every=2, timeout_seconds=0.5)
    status, _ = app_with_model.run_single()

    assert status["runtimeStatus"] == "Completed", status
    assert isinstance(status["output"], str) and status["output"].strip(), status
    stats = app_with_model.stats()
    assert stats["faults_injected"].get("504", 0) >= 1
    assert stats["completed"] == 2, stats["by_status"]  # both writer turns answered exactly once


@pytest.mark.parametrize("status_code, words", [(500, "500"), (429, "429")])
def test_a_model_that_keeps_failing_fails_the_orchestration_with_the_reason(
    app_with_model: AppWithModel, status_code: int, words: str
) -> None:
    app_with_model.set_faults(fail_rate=1.0, fail_status=status_code, retry_after_seconds=0.1)
    status, seconds = app_with_model.run_multi("What is entropy?")

    assert status["runtimeStatus"] == "Failed", status
    reason = str(status.get("output"))
    assert words in reason and "returned no text" in reason, reason
    assert seconds < 30  # about 2 x (0.5 + 1 + 2 s) of client back-off per agent
    stats = app_with_model.stats()
    assert stats["completed"] == 0
    assert stats["calls"] == 2 * AGENT_ATTEMPTS, stats["by_status"]


def test_a_model_that_always_stalls_fails_the_orchestration_in_bounded_time(app_with_model: AppWithModel) -> None:
    app_with_model.set_faults(timeout_every=1, timeout_seconds=0.5)
    status, seconds = app_with_model.run_single()

    assert status["runtimeStatus"] == "Failed", status
    assert "504" in str(status["output"]) or "timeout" in str(status["output"]).lower(), status
    assert seconds < 30
    assert app_with_model.stats()["calls"] == AGENT_ATTEMPTS  # the second writer turn never started


def test_faults_off_again_the_app_still_serves(app_with_model: AppWithModel) -> None:
    app_with_model.set_faults()
    status, _ = app_with_model.run_multi("What is heat?")
    assert_real_answers(status)
    assert app_with_model.stats()["calls"] == 2
