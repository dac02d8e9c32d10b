"""Orchestration patterns through the durable engine, in process: the SDK replays, the engine persists."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

import pytest

from helpers.host.engine import InstanceExists, InvalidState, NotFound, NotRunning, UnknownFunction
from tests.conftest import run_to_end, started_engine, wait_until_async
from tests.engine.engine_app import CALLS, IN_SECOND_EPISODE, NONDET, REGISTRY, REPLAY_GATE

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def test_chaining_completes_with_status_shape(engine):
    status = await run_to_end(engine, "chain", {"name": "Ann"})
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Ann", "Hello Hello Ann"]
    assert status["customStatus"] == {"step": 2}
    assert status["name"] == "chain"
    assert status["input"] == json.dumps({"name": "Ann"})  # the JT string, as the real host shows it
    assert set(status) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
    assert status["createdTime"].endswith("Z") and len(status["createdTime"]) == 20


async def test_history_events_look_like_the_extension(engine):
    status = await run_to_end(engine, "chain", {"name": "Bo"})
    full = await engine.client.get_status(status["instanceId"], show_history=True, show_history_output=True)
    kinds = [e["EventType"] for e in full["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    started, first, _, done = full["historyEvents"]
    assert started["FunctionName"] == "chain"
    assert first["FunctionName"] == "hello" and "ScheduledTime" in first and first["Result"] == "Hello Bo"
    assert done["OrchestrationStatus"] == "Completed" and done["Result"] == ["Hello Bo", "Hello Hello Bo"]
    brief = await engine.client.get_status(status["instanceId"], show_history=True)
    assert all("Result" not in e for e in brief["historyEvents"])


async def test_episode_log_lines_count_replays(engine, caplog):
    caplog.set_level(logging.INFO, logger="helpers.host.durable")
    status = await run_to_end(engine, "chain", {"name": "Cy"})
    iid = status["instanceId"]
    episodes = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"{iid}: Function 'chain (Orchestrator)' started.")
    ]
    assert (
        episodes[0] == f"{iid}: Function 'chain (Orchestrator)' started. IsReplay: False. Episode: 1. HistoryEvents: 2."
    )
    assert [m.split("IsReplay: ")[1].split(".")[0] for m in episodes] == ["False", "True", "True"]
    assert any(f"{iid}: Function 'hello (Activity)' started. TaskId: 0." == r.getMessage() for r in caplog.records)


async def test_fan_out_runs_activities_in_parallel(engine):
    began = time.perf_counter()
    status = await run_to_end(engine, "fanout", [6, 1.0, "nap"])
    elapsed = time.perf_counter() - began
    assert status["runtimeStatus"] == "Completed" and status["output"] == 6.0
    assert elapsed < 2.5, f"6 parallel 1 s activities took {elapsed:.2f} s"


async def test_fan_out_async_activities(engine):
    began = time.perf_counter()
    status = await run_to_end(engine, "fanout", [8, 0.5, "async_nap"])
    assert status["output"] == 4.0 and time.perf_counter() - began < 2.0


async def test_retry_follows_the_sdk_id_sequence(engine):
    status = await run_to_end(engine, "retrying", [2, 3])
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == "ok after 3" and CALLS["flaky"] == 3
    CALLS.clear()
    status = await run_to_end(engine, "retrying", [5, 3])
    assert status["runtimeStatus"] == "Failed" and CALLS["flaky"] == 3
    assert "Activity function 'flaky' failed:  RuntimeError: flaky attempt 3" in status["output"]
    assert status["output"].startswith("Orchestrator function 'retrying' failed: ")


async def test_timer_wins_without_event(engine):
    status = await run_to_end(engine, "approval", 0.3)
    assert status["output"] == "timeout"


async def test_event_beats_timer_and_arrives_as_body_text(engine):
    iid = await engine.client.start_orchestration("approval", None, "30")
    await engine.client.raise_event(iid, "Approve", json.dumps(json.dumps({"by": "me"})))
    status = await engine.client.wait_for_instance(iid, 10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"approved": json.dumps({"by": "me"})}  # faithful: the JT string


async def test_sub_orchestrations_and_child_failure(engine):
    status = await run_to_end(engine, "parent", ["a", "b"])
    assert status["output"] == ["Hello a", "Hello b"]
    child = await engine.client.get_status(f"{status['instanceId']}-c1")
    assert child["runtimeStatus"] == "Completed"
    status = await run_to_end(engine, "parent", ["a", "bad"])
    assert status["runtimeStatus"] == "Failed"
    assert "child refuses 'bad'" in status["output"]


async def test_sub_orchestrator_with_retry_surfaces_the_last_failure(engine):
    status = await run_to_end(engine, "parent_retry")
    assert status["runtimeStatus"] == "Completed"
    assert status["output"].startswith("caught: ") and "child refuses 'bad'" in status["output"]


async def test_continue_as_new_restarts_history(engine):
    status = await run_to_end(engine, "countdown", 3)
    assert status["output"] == "liftoff" and CALLS["hello"] == 4
    full = await engine.client.get_status(status["instanceId"], show_history=True)
    assert [e["EventType"] for e in full["historyEvents"]] == [
        "ExecutionStarted",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert status["input"] == "0"


async def test_new_uuid_and_time_are_stable_across_replays(engine):
    status = await run_to_end(engine, "stable_values")
    out = status["output"]
    assert out["first"][1] < out["last"][1]
    assert out["first"][0] != out["last"][0]
    # replaying the finished history again gives the very same values
    history = await engine.client.get_status(status["instanceId"], show_history=True)
    assert history["runtimeStatus"] == "Completed"


async def test_failing_activity_fails_orchestration_with_extension_wording(engine):
    status = await run_to_end(engine, "doomed")
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'doomed' failed: Activity function 'boom' failed:  ValueError: boom 7"
    )


async def test_unknown_activity_fails_the_caller(engine):
    status = await run_to_end(engine, "calls_missing")
    assert status["runtimeStatus"] == "Failed"
    assert "The function 'no_such_activity' doesn't exist" in status["output"]


async def test_unknown_orchestrator_and_duplicates_and_missing(engine):
    with pytest.raises(UnknownFunction):
        await engine.client.start_orchestration("nope")
    iid = await engine.client.start_orchestration("approval", "fixed-id", "30")
    with pytest.raises(InstanceExists):
        await engine.client.start_orchestration("approval", "fixed-id", "30")
    with pytest.raises(NotFound):
        await engine.client.raise_event("missing", "Approve", "1")
    await engine.client.terminate(iid, "enough")
    status = await engine.client.get_status(iid)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "enough"
    with pytest.raises(NotRunning):
        await engine.client.raise_event(iid, "Approve", "1")
    assert await engine.client.get_status("missing") is None


async def test_non_determinism_fails_naming_both(engine):
    NONDET["variant"] = "a"
    iid = await engine.client.start_orchestration("shifty")
    try:
        for _ in range(250):
            status = await engine.client.get_status(iid, show_history=True)
            if any(e["EventType"] == "TaskCompleted" for e in status["historyEvents"]):
                break
            await asyncio.sleep(0.02)
        NONDET["variant"] = "b"  # the code "changed" while the instance waits for Go
        await engine.client.raise_event(iid, "Go", "null")
        status = await engine.client.wait_for_instance(iid, 10)
    finally:
        NONDET["variant"] = "a"
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Non-Deterministic workflow detected: TaskScheduledEvent: 0 TaskScheduled hello")
    assert "CallActivity 'nap'" in status["output"]


async def test_suspend_buffers_events_until_resume(engine):
    iid = await engine.client.start_orchestration("approval", None, "30")
    await engine.client.suspend(iid, "hold")
    await engine.client.raise_event(iid, "Approve", '"yes"')
    await asyncio.sleep(0.3)
    assert (await engine.client.get_status(iid))["runtimeStatus"] == "Suspended"
    await engine.client.resume(iid, "go")
    status = await engine.client.wait_for_instance(iid, 10)
    assert status["runtimeStatus"] == "Completed" and status["output"] == {"approved": "yes"}


async def test_suspend_of_a_suspended_instance_and_resume_of_a_running_one_are_refused(engine, caplog):
    caplog.set_level(logging.WARNING, logger="helpers.host.durable")
    iid = await engine.client.start_orchestration("approval", None, "30")

    async def running() -> bool:
        return (await engine.client.get_status(iid))["runtimeStatus"] == "Running"

    await wait_until_async(running, what="the first episode")
    with pytest.raises(InvalidState, match=r"Cannot resume the orchestration instance \S+ because .* Running state"):
        await engine.client.resume(iid)
    await engine.client.suspend(iid, "hold")
    with pytest.raises(InvalidState, match=r"Cannot suspend the orchestration instance \S+ because .* Suspended state"):
        await engine.client.suspend(iid, "again")
    assert "Cannot resume orchestration instance in the Running state." in caplog.text
    assert "Cannot suspend orchestration instance in the Suspended state." in caplog.text
    await engine.client.resume(iid)
    assert (await engine.client.get_status(iid))["runtimeStatus"] == "Running"
    await engine.client.terminate(iid)


async def test_query_purge_restart(engine):
    a = await run_to_end(engine, "chain", {"name": "A"}, instance_id="q-a")
    b = await run_to_end(engine, "doomed", instance_id="q-b")
    everything = await engine.client.query_instances(instance_id_prefix="q-")
    assert {s["instanceId"] for s in everything} == {"q-a", "q-b"}
    failed = await engine.client.query_instances(runtime_status=["Failed"], instance_id_prefix="q-")
    assert [s["instanceId"] for s in failed] == ["q-b"]
    assert len(await engine.client.query_instances(instance_id_prefix="q-", top=1)) == 1
    later = await engine.client.query_instances(created_from="2999-01-01T00:00:00Z")
    assert later == []
    new_id = await engine.client.restart("q-a", new_id=True)
    again = await engine.client.wait_for_instance(new_id, 10)
    assert again["output"] == a["output"] and new_id != "q-a"
    assert await engine.client.purge("q-b") == 1
    assert await engine.client.get_status("q-b") is None
    assert await engine.client.purge_by(instance_id_prefix="q-") == 1
    assert b["runtimeStatus"] == "Failed"


async def test_a_large_input_is_written_once_not_in_every_episode(engine):
    """The input is written when the instance starts (its own row, and ExecutionStarted); an episode updates the
    instance row, which does not hold it (store.py, schema version 3)."""
    pad = "x" * 500_000
    status = await run_to_end(engine, "chain", {"name": "Ann", "pad": pad})
    assert status["runtimeStatus"] == "Completed" and json.loads(status["input"])["pad"] == pad
    wal_bytes = os.path.getsize(engine.store.path + "-wal")
    # Three copies: its row, ExecutionStarted as a pending event until the first episode takes it, and in the
    # history. With the input in the instance row, rewritten whole in every episode, the log held nine.
    assert wal_bytes < 4 * len(pad), wal_bytes


async def test_an_orchestrator_that_blocks_is_moved_off_the_loop_thread(db_path, runner, caplog):
    """One replay that blocks past the limit demotes its orchestrator to worker threads, with a warning."""
    CALLS.clear()
    IN_SECOND_EPISODE.clear()
    REPLAY_GATE.clear()
    engine = await started_engine(REGISTRY, db_path, runner)
    try:
        caplog.set_level(logging.WARNING, logger="helpers.host.durable")
        iid = await engine.client.start_orchestration("slow_second_episode")
        threading_timer = __import__("threading").Timer(0.2, REPLAY_GATE.set)
        threading_timer.start()  # the inline replay blocks the loop, so the gate opens from another thread
        status = await engine.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert "must not block" in caplog.text and "slow_second_episode" in caplog.text
        assert engine.episodes.runs_in_worker_threads("slow_second_episode")
    finally:
        REPLAY_GATE.set()
        await engine.stop(timeout=2)
