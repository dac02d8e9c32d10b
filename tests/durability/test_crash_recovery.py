"""Crash recovery, in process: an engine abandoned mid-run as `kill -9` leaves it, and a new one on the same file,
which must neither lose work nor run finished work again -- and what reaches the file when, which is what makes that
hold (events consumed at once go into the history with their episode; anything else is committed before work that
depends on it starts)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from helpers.durable_vocabulary import EventType, entity_scheduler_id
from helpers.host.engine import DurableEngine
from helpers.host.engine.entities import EntityOperation
from helpers.host.engine.in_flight import InFlight, work_in_flight
from helpers.host.engine.store import StateFileReader
from helpers.host.registry import Registry
from tests.conftest import started_engine, wait_until_async
from tests.engine.engine_app import CALLS, GATE, IN_SECOND_EPISODE, REGISTRY, REPLAY_GATE

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def crash(engine: DurableEngine) -> None:
    """Abandon an engine the way kill -9 would: no more work, uncommitted writes are rolled back."""
    engine.abandon()


def in_flight_on_disk(db_path: str, instance_id: str) -> InFlight:
    """The work a restart would start again for the instance, read from the committed file as the engine reads it."""
    with StateFileReader(db_path) as stored:
        return work_in_flight(stored.instance_events(instance_id))


async def test_resume_after_crash_does_not_rerun_completed_work(db_path, runner):
    CALLS.clear()
    GATE.clear()
    first = await started_engine(REGISTRY, db_path, runner)
    iid = await first.client.start_orchestration("gated_chain")
    await wait_until_async(
        lambda: CALLS.get("gated") == 1, what="the gated activity to start"
    )  # 'hello before' finished, 'gated' is in flight
    await asyncio.sleep(0.05)
    crash(first)
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        await wait_until_async(
            lambda: CALLS.get("gated") == 2, what="the gated activity to run again"
        )  # the in-flight activity runs again
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello before", "gated crash", "Hello after"]
        assert CALLS["hello"] == 2  # 'before' was not run again
    finally:
        GATE.set()
        await second.stop(timeout=2)


async def test_timers_and_entity_queues_survive_a_crash(db_path, runner):
    first = await started_engine(REGISTRY, db_path, runner)
    iid = await first.client.start_orchestration("approval", None, "0.4")
    for _ in range(6):
        await first.client.signal_entity("Counter", "durable", "add", "1")
    crash(first)
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        status = await second.client.wait_for_instance(iid, 10)
        assert status["output"] == "timeout"

        async def counted_six() -> bool:
            exists, state = await second.client.read_entity("Counter", "durable")
            return exists and json.loads(state) == 6

        await wait_until_async(counted_six, what="the six queued additions")
        _, state = await second.client.read_entity("Counter", "durable")
        assert json.loads(state) == 6
    finally:
        await second.stop(timeout=2)


async def test_finished_instances_and_entities_are_readable_after_restart(db_path, runner):
    first = await started_engine(REGISTRY, db_path, runner)
    iid = await first.client.start_orchestration("chain", "kept", json.dumps({"name": "Di"}))
    await first.client.wait_for_instance(iid, 10)
    await first.stop()
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        status = await second.client.get_status("kept", show_history=True)
        assert status["output"] == ["Hello Di", "Hello Hello Di"]
        assert status["historyEvents"][-1]["OrchestrationStatus"] == "Completed"
    finally:
        await second.stop()


async def test_stop_during_an_episode_leaves_nothing_scheduled_that_did_not_run(db_path, runner):
    """An episode that returns while the engine stops must not schedule work the stop then cuts off: its
    decisions are dropped, its events stay pending, and the next start replays it and completes. (Replays run
    in worker threads here, as they do for an orchestrator that blocks; inline replays cannot overlap a stop.)"""
    CALLS.clear()
    IN_SECOND_EPISODE.clear()
    REPLAY_GATE.clear()
    first = await started_engine(REGISTRY, db_path, runner, inline_replay=False)
    iid = await first.client.start_orchestration("slow_second_episode")
    await wait_until_async(IN_SECOND_EPISODE.is_set, what="the second episode")
    stopping = asyncio.get_running_loop().create_task(first.stop(timeout=5))
    await asyncio.sleep(0.1)  # the stop has begun and waits for the episode
    REPLAY_GATE.set()
    await stopping
    assert in_flight_on_disk(db_path, iid) == InFlight([], [])  # the dropped episode scheduled nothing
    with StateFileReader(db_path) as stored:
        assert len(stored.pending_events(iid)) == 1
    assert CALLS["hello"] == 1
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello 1", "Hello 2"]
        assert CALLS["hello"] == 2
    finally:
        await second.stop(timeout=2)


# ---- arrived events: straight into the episode's history, or a pending row by the next commit -------------
def _pending_inserts(engine: DurableEngine) -> list[str]:
    """Record every INSERT into `pending` from now on (the events that did not go straight into a history)."""
    seen: list[str] = []
    add_pending = engine.store.add_pending

    def recording(instance_id, ev, **kwargs):
        seen.append(ev["EventType"])
        return add_pending(instance_id, ev, **kwargs)

    engine.store.add_pending = recording
    return seen


async def test_a_result_consumed_at_once_goes_into_the_history_with_its_episode(db_path, runner):
    eng = await started_engine(REGISTRY, db_path, runner)
    inserted = _pending_inserts(eng)
    try:
        iid = await eng.client.start_orchestration("noop_chain")
        status = await eng.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert inserted == [0]  # only ExecutionStarted: both TaskCompleted events went straight into the history
        history = [ev["EventType"] for ev in eng.store.history_events(iid)]
        assert history.count(EventType.TaskCompleted) == 2
        assert eng.store.pending_events(iid) == []
        assert in_flight_on_disk(db_path, iid) == InFlight([], [])
    finally:
        await eng.stop(timeout=2)


async def test_a_result_held_back_is_written_by_the_next_commit_and_survives_a_crash(db_path, runner):
    """Fan-in: the first of two results waits for the second; it must reach the table, and the crash that
    follows must neither lose it nor run its activity again."""
    CALLS.clear()
    GATE.clear()
    first = await started_engine(REGISTRY, db_path, runner)
    iid = await first.client.start_orchestration("fan_in_with_gate")
    await wait_until_async(lambda: CALLS.get("hello") == 1 and CALLS.get("gated") == 1, what="both activities to start")
    await wait_until_async(
        lambda: len(first.store.pending_events(iid)) == 1 and not first.store.has_uncommitted_writes,
        what="the held-back result to be committed as a pending row",
    )
    crash(first)
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        await wait_until_async(
            lambda: CALLS.get("gated") == 2, what="the gated activity to run again"
        )  # the unfinished one runs again ...
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello held", "gated fan-in"]
        assert CALLS["hello"] == 1  # ... the finished one, whose result was held back, does not
    finally:
        GATE.set()
        await second.stop(timeout=2)


async def test_an_entity_answer_goes_into_the_callers_history_in_the_same_step(db_path, runner):
    eng = await started_engine(REGISTRY, db_path, runner)
    inserted = _pending_inserts(eng)
    try:
        iid = await eng.client.start_orchestration("entity_user", None, json.dumps("same-step"))
        status = await eng.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"]["total"] == 7 and status["output"]["balance"] == 10, status
        assert inserted == [0]  # five answers (one a failure), none of them waited as a pending row
    finally:
        await eng.stop(timeout=2)


def episodes_run(engine: DurableEngine, instance_id: str) -> int | None:
    """How many episodes the active instance has run, once none is running; None while one runs."""
    inst = engine.instances.get(instance_id)
    return None if inst is None or inst.busy else inst.book.episode


async def test_an_event_written_while_a_threaded_replay_ran_is_not_delivered_again(db_path, runner):
    """A commit during a replay in a worker thread writes the episode's deferred event to `pending`; the episode
    that consumed it must delete that row, or a restart would deliver the event a second time."""
    first = await started_engine(REGISTRY, db_path, runner, inline_replay=False)
    iid = await first.client.start_orchestration("two_waits")
    await wait_until_async(lambda: episodes_run(first, iid) == 1, what="episode 1 to end")
    await first.client.raise_event(iid, "go", json.dumps(1))
    await wait_until_async(lambda: episodes_run(first, iid) == 2, what="episode 2 to end")
    await first.stop(timeout=2)
    second = await started_engine(REGISTRY, db_path, runner, inline_replay=False)
    try:
        assert second.store.pending_events(iid) == []
        await asyncio.sleep(0.2)
        status = await second.client.get_status(iid)
        assert status["runtimeStatus"] == "Running", status  # still waiting for its second event
        await second.client.raise_event(iid, "go", json.dumps(2))
        status = await second.client.wait_for_instance(iid, 10)
        assert status["output"] == [1, 2], status
    finally:
        await second.stop(timeout=2)


async def test_an_entity_operation_starts_only_once_its_record_is_committed(db_path, runner):
    """The answer of one operation runs the caller's episode at once, which may queue the next operation for the
    same entity; that one must not start (a model call, for an agent) before the commit that records it."""
    seen: list[bool] = []

    def checking(handler):
        def entity(request_json: str) -> str:
            request = json.loads(request_json)
            operation = request["batch"][0]
            eid = entity_scheduler_id(request["self"]["name"], request["self"]["key"])
            with StateFileReader(db_path) as other:  # a second connection sees committed rows only
                committed = [
                    (q.entity_id, EntityOperation.from_json(q.payload)) for q in other.queued_entity_operations()
                ]
            seen.append(
                any(
                    entity == eid and op.operation == operation["name"] and json.dumps(op.input) == operation["input"]
                    for entity, op in committed
                )
            )
            return handler(request_json)

        return entity

    registry = Registry(
        orchestrators=REGISTRY.orchestrators,
        activities=REGISTRY.activities,
        entities={key: replace(fn, handler=checking(fn.handler)) for key, fn in REGISTRY.entities.items()},
    )
    eng = await started_engine(registry, db_path, runner)
    try:
        iid = await eng.client.start_orchestration("entity_user", None, json.dumps("committed-first"))
        status = await eng.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert len(seen) == 6 and all(seen), seen  # a signal and five calls, each started after its commit
    finally:
        await eng.stop(timeout=2)
