"""The SQLite file: crash recovery (an engine abandoned mid-run, a new one on the same file) and refusal of
files that are not ours."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import replace

import pytest

try:
    from .test_engine_support import *  # noqa: F403
    from .test_engine_support import CALLS, GATE, REGISTRY
except ImportError:
    from test_engine_support import *  # noqa: F403
    from test_engine_support import CALLS, GATE, REGISTRY

from helpers.durable_vocabulary import EventType, entity_scheduler_id
from helpers.host.engine import DurableEngine, StoreError
from helpers.host.engine.entities import EntityOperation
from helpers.host.engine.in_flight import InFlight, work_in_flight
from helpers.host.engine.store import SCHEMA_VERSION, StateFileReader
from helpers.host.registry import Registry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


def crash(engine: DurableEngine) -> None:
    """Abandon an engine the way kill -9 would: no more work, uncommitted writes are rolled back."""
    engine.abandon()


def in_flight_on_disk(db_path: str, instance_id: str) -> InFlight:
    """The work a restart would start again for the instance, read from the committed file as the engine reads it."""
    with StateFileReader(db_path) as stored:
        return work_in_flight(stored.instance_events(instance_id))


async def new_engine(db_path, runner, **options) -> DurableEngine:
    eng = DurableEngine(REGISTRY, db_path, runner, "TestHub", logging.getLogger("helpers.host.durable"), **options)
    await eng.start()
    return eng


async def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_resume_after_crash_does_not_rerun_completed_work(db_path, runner):
    CALLS.clear()
    GATE.clear()
    first = await new_engine(db_path, runner)
    iid = await first.client.start_orchestration("gated_chain")
    await wait_for(lambda: CALLS.get("gated") == 1)  # 'hello before' finished, 'gated' is in flight
    await asyncio.sleep(0.05)
    crash(first)
    second = await new_engine(db_path, runner)
    try:
        await wait_for(lambda: CALLS.get("gated") == 2)  # the in-flight activity runs again
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello before", "gated crash", "Hello after"]
        assert CALLS["hello"] == 2  # 'before' was not run again
    finally:
        GATE.set()
        await second.stop(timeout=2)


async def test_a_file_of_schema_version_1_is_upgraded_and_its_work_in_flight_resumes(db_path, runner):
    """Version 1 files also kept a `work` row per activity in flight. Opening one drops that table, stamps the file
    version 2 -- which a host that only knows version 1 refuses, instead of finding no rows and hanging -- and the
    activity in flight runs again from what the history says."""
    CALLS.clear()
    GATE.clear()
    first = await new_engine(db_path, runner)
    iid = await first.client.start_orchestration("gated_chain")
    await wait_for(lambda: CALLS.get("gated") == 1)
    await asyncio.sleep(0.05)
    crash(first)
    with sqlite3.connect(db_path) as conn:  # the same file as version 1 wrote it
        as_schema_version_2(conn)
        conn.executescript(
            "CREATE TABLE work (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT "
            "NOT NULL, kind TEXT NOT NULL, task_id INTEGER NOT NULL, payload TEXT NOT NULL, fire_at REAL);"
            "CREATE INDEX work_by_instance ON work(instance_id);"
        )
        conn.execute(
            "INSERT INTO work(instance_id, execution_id, kind, task_id, payload) VALUES (?, 'e', 'activity', "
            '1, \'{"name": "gated", "input": "\\"crash\\""}\')',
            (iid,),
        )
        conn.execute("PRAGMA user_version = 1")
    second = await new_engine(db_path, runner)
    try:
        with StateFileReader(db_path) as stored:
            assert stored.schema_version() == SCHEMA_VERSION
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'work%'").fetchall() == []
        await wait_for(lambda: CALLS.get("gated") == 2)  # once, from the history
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert CALLS["gated"] == 2 and CALLS["hello"] == 2
    finally:
        GATE.set()
        await second.stop(timeout=2)


def as_schema_version_2(conn: sqlite3.Connection) -> None:
    """Rewrite a current file the way schema version 2 kept it: each input in its instance row."""
    conn.executescript(
        "ALTER TABLE instances ADD COLUMN input TEXT;"
        "UPDATE instances SET input = (SELECT input FROM inputs WHERE inputs.instance_id = instances.instance_id);"
        "DROP TABLE inputs; PRAGMA user_version = 2;"
    )


async def test_a_file_of_schema_version_2_is_upgraded_and_keeps_every_input(db_path, runner):
    """Version 2 kept an orchestration's input in its instance row; version 3 keeps it in a table of its own.
    A running instance and a finished one keep their inputs across the upgrade."""
    CALLS.clear()
    GATE.clear()
    first = await new_engine(db_path, runner)
    done = await first.client.start_orchestration("chain", None, json.dumps({"name": "Ann"}))
    assert (await first.client.wait_for_instance(done, 10))["runtimeStatus"] == "Completed"
    running = await first.client.start_orchestration("gated_chain", None, json.dumps("kept"))
    await wait_for(lambda: CALLS.get("gated") == 1)
    crash(first)
    with sqlite3.connect(db_path) as conn:
        as_schema_version_2(conn)
    second = await new_engine(db_path, runner)
    try:
        with StateFileReader(db_path) as stored:
            assert stored.schema_version() == SCHEMA_VERSION
        with sqlite3.connect(db_path) as conn:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(instances)")]
            assert "input" not in columns
        GATE.set()
        status = await second.client.wait_for_instance(running, 10)
        assert status["runtimeStatus"] == "Completed" and status["input"] == json.dumps("kept"), status
        assert (await second.client.get_status(done))["input"] == json.dumps({"name": "Ann"})
    finally:
        GATE.set()
        await second.stop(timeout=2)


async def test_timers_and_entity_queues_survive_a_crash(db_path, runner):
    first = await new_engine(db_path, runner)
    iid = await first.client.start_orchestration("approval", None, "0.4")
    for _ in range(6):
        await first.client.signal_entity("Counter", "durable", "add", "1")
    crash(first)
    second = await new_engine(db_path, runner)
    try:
        status = await second.client.wait_for_instance(iid, 10)
        assert status["output"] == "timeout"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            exists, state = await second.client.read_entity("Counter", "durable")
            if exists and json.loads(state) == 6:
                break
            await asyncio.sleep(0.02)
        assert json.loads(state) == 6
    finally:
        await second.stop(timeout=2)


async def test_finished_instances_and_entities_are_readable_after_restart(db_path, runner):
    first = await new_engine(db_path, runner)
    iid = await first.client.start_orchestration("chain", "kept", json.dumps({"name": "Di"}))
    await first.client.wait_for_instance(iid, 10)
    await first.stop()
    second = await new_engine(db_path, runner)
    try:
        status = await second.client.get_status("kept", show_history=True)
        assert status["output"] == ["Hello Di", "Hello Hello Di"]
        assert status["historyEvents"][-1]["OrchestrationStatus"] == "Completed"
    finally:
        await second.stop()


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


async def test_refuses_a_file_that_is_not_sqlite(tmp_path, runner):
    path = tmp_path / "notes.db"
    path.write_text("just some text, not a database\n" * 20)
    before = digest(path)
    with pytest.raises(StoreError, match="not an SQLite database"):
        await DurableEngine(REGISTRY, str(path), runner).start()
    assert digest(path) == before


async def test_refuses_another_applications_database(tmp_path, runner):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers(name) VALUES ('Ann')")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(StoreError, match="another application"):
        await DurableEngine(REGISTRY, str(path), runner).start()
    assert digest(path) == before
    assert list((tmp_path).iterdir()) == [path]


async def test_refuses_an_unknown_schema_version(db_path, runner):
    eng = await new_engine(db_path, runner)
    await eng.stop()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        await DurableEngine(REGISTRY, db_path, runner).start()


async def test_refuses_a_corrupted_file(db_path, runner):
    eng = await new_engine(db_path, runner)
    for i in range(30):
        await eng.client.start_orchestration("approval", f"i{i}", "30")
    await eng.stop()
    raw = bytearray(open(db_path, "rb").read())
    for offset in range(4096 + 100, len(raw), 997):  # scribble over pages after the header page
        raw[offset : offset + 8] = b"\xde\xad\xbe\xef\xde\xad\xbe\xef"
    open(db_path, "wb").write(bytes(raw))
    before = digest(db_path)
    with pytest.raises(StoreError):
        await DurableEngine(REGISTRY, db_path, runner).start()
    assert digest(db_path) == before


async def test_stop_during_an_episode_leaves_nothing_scheduled_that_did_not_run(db_path, runner):
    """An episode that returns while the engine stops must not schedule work the stop then cuts off: its
    decisions are dropped, its events stay pending, and the next start replays it and completes. (Replays run
    in worker threads here, as they do for an orchestrator that blocks; inline replays cannot overlap a stop.)"""
    from tests.host.test_engine_support import IN_SECOND_EPISODE, REPLAY_GATE

    CALLS.clear()
    IN_SECOND_EPISODE.clear()
    REPLAY_GATE.clear()
    first = await new_engine(db_path, runner, inline_replay=False)
    iid = await first.client.start_orchestration("slow_second_episode")
    await wait_for(IN_SECOND_EPISODE.is_set)
    stopping = asyncio.get_running_loop().create_task(first.stop(timeout=5))
    await asyncio.sleep(0.1)  # the stop has begun and waits for the episode
    REPLAY_GATE.set()
    await stopping
    assert in_flight_on_disk(db_path, iid) == InFlight([], [])  # the dropped episode scheduled nothing
    with StateFileReader(db_path) as stored:
        assert len(stored.pending_events(iid)) == 1
    assert CALLS["hello"] == 1
    second = await new_engine(db_path, runner)
    try:
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello 1", "Hello 2"]
        assert CALLS["hello"] == 2
    finally:
        await second.stop(timeout=2)


async def test_an_orchestrator_that_blocks_is_moved_off_the_loop_thread(db_path, runner, caplog):
    """One replay that blocks past the limit demotes its orchestrator to worker threads, with a warning."""
    from tests.host.test_engine_support import IN_SECOND_EPISODE, REPLAY_GATE

    CALLS.clear()
    IN_SECOND_EPISODE.clear()
    REPLAY_GATE.clear()
    engine = await new_engine(db_path, runner)
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
    eng = await new_engine(db_path, runner)
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
    first = await new_engine(db_path, runner)
    iid = await first.client.start_orchestration("fan_in_with_gate")
    await wait_for(lambda: CALLS.get("hello") == 1 and CALLS.get("gated") == 1)
    await wait_for(lambda: len(first.store.pending_events(iid)) == 1 and not first.store.has_uncommitted_writes)
    crash(first)
    second = await new_engine(db_path, runner)
    try:
        await wait_for(lambda: CALLS.get("gated") == 2)  # the unfinished one runs again ...
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert status["output"] == ["Hello held", "gated fan-in"]
        assert CALLS["hello"] == 1  # ... the finished one, whose result was held back, does not
    finally:
        GATE.set()
        await second.stop(timeout=2)


async def test_an_entity_answer_goes_into_the_callers_history_in_the_same_step(db_path, runner):
    eng = await new_engine(db_path, runner)
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
    first = await new_engine(db_path, runner, inline_replay=False)
    iid = await first.client.start_orchestration("two_waits")
    await wait_for(lambda: episodes_run(first, iid) == 1)
    await first.client.raise_event(iid, "go", json.dumps(1))
    await wait_for(lambda: episodes_run(first, iid) == 2)
    await first.stop(timeout=2)
    second = await new_engine(db_path, runner, inline_replay=False)
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
    eng = DurableEngine(registry, db_path, runner, "TestHub", logging.getLogger("helpers.host.durable"))
    await eng.start()
    try:
        iid = await eng.client.start_orchestration("entity_user", None, json.dumps("committed-first"))
        status = await eng.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert len(seen) == 6 and all(seen), seen  # a signal and five calls, each started after its commit
    finally:
        await eng.stop(timeout=2)
