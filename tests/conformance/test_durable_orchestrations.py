"""Durable orchestration patterns on a `df.DFApp`, started through the app's own HTTP starter
(`client.start_new` + `create_check_status_response`) and observed through the public status API."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import DurableApi, unique

pytestmark = pytest.mark.timeout(60)


def as_value(value: Any) -> Any:
    """Inputs and external event payloads: the real extension hands the orchestrator the JSON text the client posted
    ('faithful'); a host may instead hand over the value ('friendly'). These tests accept both;
    normalise to the value."""
    return json.loads(value) if isinstance(value, str) else value


def test_function_chaining(api: DurableApi) -> None:
    final = api.run("hello_chain")
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert final["name"] == "hello_chain"
    for key in ("instanceId", "input", "customStatus", "createdTime", "lastUpdatedTime"):
        assert key in final, key


def test_check_status_urls_point_at_this_host(api: DurableApi) -> None:
    body = api.start("hello_chain")
    assert body["statusQueryGetUri"].startswith(api.base_url + "/runtime/webhooks/durabletask/instances/")
    final = api.wait_for(body["statusQueryGetUri"])
    assert final["output"][0] == "Hello Tokyo!"


def test_start_with_explicit_instance_id_and_input(api: DurableApi) -> None:
    instance_id = unique("fan")
    body = api.start("fan_out_fan_in", {"count": 4, "seconds": 0}, instance_id=instance_id)
    assert body["id"] == instance_id
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == {"squares": [0, 1, 4, 9], "total": 14}
    assert final["instanceId"] == instance_id
    assert as_value(final["input"]) == {"count": 4, "seconds": 0}


def test_fan_out_fan_in_of_many(api: DurableApi) -> None:
    final = api.run("fan_out_fan_in", {"count": 25, "seconds": 0})
    assert final["output"]["squares"] == [n * n for n in range(25)]


@pytest.mark.slow
def test_fan_out_runs_activities_concurrently(api: DurableApi) -> None:
    """task_all of five activities that each sleep 1 s must take about 1 s, not 5 s."""
    seconds = 1.0
    started = time.monotonic()
    final = api.run("fan_out_fan_in", {"count": 5, "seconds": seconds}, timeout=20)
    elapsed = time.monotonic() - started
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"]["total"] == 30
    assert elapsed / seconds < 2.5, f"5 parallel 1 s activities took {elapsed:.2f}s"


def test_task_any_returns_first_finisher(api: DurableApi) -> None:
    final = api.run("first_responder")
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == "hare"


def test_activity_retry_until_success(api: DurableApi) -> None:
    final = api.run("retry_activity", {"key": unique("retry"), "fail_times": 2, "max_attempts": 4})
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == {"attempts": 3}


def test_activity_retry_gives_up_after_max_attempts(api: DurableApi) -> None:
    key = unique("retry")
    final = api.run("retry_activity", {"key": key, "fail_times": 10, "max_attempts": 3})
    assert final["runtimeStatus"] == "Failed", final
    assert f"flaky failure 3 for {key}" in str(final["output"]), final["output"]


def test_durable_timer(api: DurableApi) -> None:
    started = time.monotonic()
    final = api.run("wait_a_moment", 0.3)
    elapsed = time.monotonic() - started
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"]["slept"] >= 0.3
    assert elapsed >= 0.3
    history = api.status(final["instanceId"], showHistory="true").json()["historyEvents"]
    event_types = [event["EventType"] for event in history]
    assert "TimerFired" in event_types, event_types


def test_external_event_wins_race_against_timer(api: DurableApi) -> None:
    instance_id = api.start("approval_workflow", 30)["id"]
    api.wait_for(instance_id, {"Running"}, predicate=lambda s: s.get("customStatus") is not None)
    response = api.http.post(api.app_url(f"events/{instance_id}/Approval"), json={"by": "Ann"})
    assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed", final
    assert as_value(final["output"]["approved"]) == {"by": "Ann"}
    assert final["customStatus"] == {"stage": "approved"}


def test_timer_wins_race_when_nobody_approves(api: DurableApi) -> None:
    final = api.run("approval_workflow", 0.3)
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == "timeout"
    assert final["customStatus"] == {"stage": "timed out"}


def test_external_events_raised_early_are_kept(api: DurableApi) -> None:
    """'Second' arrives before the orchestrator waits for it; it must still be delivered."""
    instance_id = api.start("collect_events")["id"]
    for name, value in (("Second", "two"), ("First", "one")):
        response = api.http.post(api.app_url(f"events/{instance_id}/{name}"), json=value)
        assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed", final
    assert [as_value(v) for v in final["output"]] == ["one", "two"]


def test_event_names_are_case_sensitive(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    api.http.post(api.app_url(f"events/{instance_id}/first"), json="wrong case")
    time.sleep(0.3)
    assert api.status(instance_id).json()["runtimeStatus"] == "Running"
    api.http.post(api.app_url(f"events/{instance_id}/First"), json=1)
    api.http.post(api.app_url(f"events/{instance_id}/Second"), json=2)
    final = api.wait_for(instance_id)
    assert [as_value(v) for v in final["output"]] == [1, 2]


def test_sub_orchestrators_with_id_and_with_retry(api: DurableApi) -> None:
    final = api.run("parent_orchestrator", {"key": unique("child"), "fail_times": 1})
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == {
        "chained": ["Hello Tokyo!", "Hello Seattle!", "Hello London!"],
        "flaky_child": "child succeeded on attempt 2",
    }
    child = api.status(f"{final['instanceId']}-child").json()
    assert child["runtimeStatus"] == "Completed"
    assert child["name"] == "hello_chain"


def test_sub_orchestrator_failure_propagates_after_retries(api: DurableApi) -> None:
    key = unique("child")
    final = api.run("parent_orchestrator", {"key": key, "fail_times": 10})
    assert final["runtimeStatus"] == "Failed", final
    assert f"flaky failure 3 for {key}" in str(final["output"]), final["output"]


def test_continue_as_new(api: DurableApi) -> None:
    final = api.run("eternal_counter", {"n": 1, "limit": 4})
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == {"finished_at": 4}
    # The instance keeps its id; its input is the one of the last generation.
    assert as_value(final["input"]) == {"n": 4, "limit": 4}
    history = api.status(final["instanceId"], showHistory="true").json()["historyEvents"]
    completed = [e for e in history if e["EventType"] == "TaskCompleted"]
    assert len(completed) == 1, "history restarts with each generation"


def test_custom_status_while_running_and_after(api: DurableApi) -> None:
    instance_id = api.start("staged_status")["id"]
    running = api.wait_for(instance_id, {"Running"}, predicate=lambda s: s.get("customStatus") == {"stage": 1})
    assert running["customStatus"] == {"stage": 1}
    api.http.post(api.app_url(f"events/{instance_id}/Go"), json=True)
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed"
    assert final["customStatus"] == {"stage": 2, "note": "done"}


def test_new_uuid_and_current_utc_datetime_are_replay_safe(api: DurableApi) -> None:
    final = api.run("replay_safe_values")
    assert final["runtimeStatus"] == "Completed", final
    output = final["output"]
    assert output["first_episode"] == output["last_replay"]
    assert output["second_uuid"] != output["last_replay"]["uuid"]
    uuid.UUID(output["second_uuid"])
    assert datetime.fromisoformat(output["final_time"]) >= datetime.fromisoformat(output["last_replay"]["time"])


def test_history_shows_event_names_inputs_and_outputs(api: DurableApi) -> None:
    final = api.run("hello_chain")
    status = api.status(final["instanceId"], showHistory="true", showHistoryOutput="true", showInput="true")
    assert status.status_code == 200
    events = status.json()["historyEvents"]
    event_types = [event["EventType"] for event in events]
    assert event_types[0] == "ExecutionStarted"
    assert event_types[-1] == "ExecutionCompleted"
    # As the real extension shows it: one TaskCompleted per activity, carrying its function name and result
    # (the matching TaskScheduled events are folded into it).
    completed = [event for event in events if event["EventType"] == "TaskCompleted"]
    assert [event.get("FunctionName") for event in completed] == ["say_hello", "say_hello_async", "say_hello"]
    assert [event.get("Result") for event in completed] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_wait_for_completion_returns_output(api: DurableApi) -> None:
    response = api.http.post(api.app_url("run/hello_chain"))
    assert response.status_code == 200, response.text
    assert response.json() == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_wait_for_completion_times_out_with_check_status_response(api: DurableApi) -> None:
    response = api.http.post(api.app_url("run/wait_a_moment"), params={"timeout_ms": "100"}, json=0.6)
    assert response.status_code == 202, response.text
    assert "statusQueryGetUri" in response.json()
    api.wait_for(response.json()["id"])


def test_orchestrations_run_side_by_side(api: DurableApi) -> None:
    ids = [api.start("fan_out_fan_in", {"count": 3, "seconds": 0.1})["id"] for _ in range(8)]
    for instance_id in ids:
        assert api.wait_for(instance_id)["output"]["total"] == 5
