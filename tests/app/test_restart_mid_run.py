"""A host killed in the middle of the chaining orchestration resumes it without repeating finished model calls.

Durable Functions checkpoints after every step: the writer's first answer is in the history and in the agent
entity's state, so after `kill -9` and a restart only the call that was in flight may be made again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import processes
from helpers.durable_vocabulary import FINISHED_STATUSES
from helpers.offline_settings import offline_host_env
from tests.app.conftest import FUNCTIONS_APP
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(90)

LATENCY_MS = 1500  # long enough to kill the host reliably while the second call is in flight


def test_kill_9_during_the_second_model_call_repeats_only_that_call(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    with processes.start_offline_model(port=processes.free_port(), latency_ms=LATENCY_MS) as model:
        env = offline_host_env(model.url)
        stats = lambda: httpx.get(f"{model.url}/stats", timeout=5).json()  # noqa: E731

        host = processes.start_host(FUNCTIONS_APP, state_db=state_db, env=env, log_path=tmp_path / "host.log")
        try:
            started = httpx.post(f"{host.url}/api/singleagent/run", timeout=30).json()
            instance_id = started["instanceId"]
            wait_until(
                lambda: (s := stats())["completed"] == 1 and s["in_flight"] == 1,
                timeout=30,
                what="turn 1 answered and turn 2 in flight",
            )
            host.kill()
        finally:
            host.stop()

        with processes.start_host(
            FUNCTIONS_APP, state_db=state_db, env=env, log_path=tmp_path / "host-restarted.log"
        ) as restarted:

            def finished() -> dict[str, Any] | None:
                body = httpx.get(f"{restarted.url}/api/singleagent/status/{instance_id}", timeout=10).json()
                return body if body.get("runtimeStatus") in FINISHED_STATUSES else None

            status = wait_until(finished, timeout=60, what="the resumed orchestration to finish")
            conversation_sizes = [call["input_messages"] for call in stats()["recent_calls"]]

    assert status["runtimeStatus"] == "Completed", status
    assert "[offline model, turn 2]" in status["output"]
    # Turn 1 (system + 1 user message) was finished before the kill: it is never asked again.
    assert conversation_sizes.count(2) == 1, conversation_sizes
    # Turn 2 (system + user + assistant + user) was in flight: it ran before the kill and once more after it.
    assert conversation_sizes.count(4) == 2, conversation_sizes
    assert len(conversation_sizes) == 3, conversation_sizes
