"""Fan-in: results of a task_all join one episode, without delaying failures or losing held results."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import azure.durable_functions as df
import azure.functions as func
import pytest

from tests.conftest import started_engine
from tests.engine.engine_app import build_registry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
RUNS: list[float] = []
RUNS_LOCK = threading.Lock()


@app.activity_trigger(input_name="seconds")
def pause(seconds: float) -> float:
    with RUNS_LOCK:
        RUNS.append(seconds)
    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="seconds")
def fail_after(seconds: float) -> None:
    time.sleep(seconds)
    raise RuntimeError(f"failed after {seconds}")


@app.orchestration_trigger(context_name="context")
def staggered(context: df.DurableOrchestrationContext):
    """[[activity, seconds], ...] all at once, joined with task_all."""
    calls = [context.call_activity(name, seconds) for name, seconds in context.get_input()]
    results = yield context.task_all(calls)
    return sum(results)


@app.orchestration_trigger(context_name="context")
def any_then_all(context: df.DurableOrchestrationContext):
    """task_any must still wake on the first result (the fan-in hold applies only to task_all)."""
    fast = context.call_activity("pause", 0.05)
    slow = context.call_activity("pause", 0.6)
    first = yield context.task_any([fast, slow])
    context.set_custom_status({"first": first.result})
    both = yield context.task_all([fast, slow])
    return both


REGISTRY = build_registry(app)
LOGGER = "helpers.host.durable"


def episode_lines(caplog: pytest.LogCaptureFixture, instance_id: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"{instance_id}: ") and "(Orchestrator)' started." in r.getMessage()
    ]


async def test_staggered_results_join_one_episode(db_path, runner, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    RUNS.clear()
    engine = await started_engine(REGISTRY, db_path, runner)
    try:
        spec = [["pause", 0.05 * i] for i in range(1, 6)]
        iid = await engine.client.start_orchestration("staggered", input_json=json.dumps(spec))
        await asyncio.sleep(0.12)  # two of five results are in, three activities still run
        held = len(engine.store.pending_events(iid))
        assert held >= 1, "finished results wait in the committed pending table"
        assert (await engine.client.get_status(iid))["runtimeStatus"] == "Running"
        status = await engine.client.wait_for_instance(iid, 10)
    finally:
        await engine.stop(timeout=2)
    assert status["runtimeStatus"] == "Completed" and status["output"] == pytest.approx(0.75)
    assert len(episode_lines(caplog, iid)) == 2, episode_lines(caplog, iid)  # schedule, then fan-in


async def test_a_failure_is_not_held_back(db_path, runner):
    engine = await started_engine(REGISTRY, db_path, runner)
    try:
        began = time.perf_counter()
        spec = [["fail_after", 0.05], ["pause", 1.5], ["pause", 1.5]]
        iid = await engine.client.start_orchestration("staggered", input_json=json.dumps(spec))
        status = await engine.client.wait_for_instance(iid, 10)
        elapsed = time.perf_counter() - began
    finally:
        await engine.stop(timeout=2)
    assert status["runtimeStatus"] == "Failed" and "failed after 0.05" in status["output"]
    assert elapsed < 1.0, f"the failure waited for the slow members ({elapsed:.2f} s)"


async def test_task_any_wakes_on_the_first_result(db_path, runner):
    engine = await started_engine(REGISTRY, db_path, runner)
    try:
        iid = await engine.client.start_orchestration("any_then_all")
        await asyncio.sleep(0.4)
        assert (await engine.client.get_status(iid))["customStatus"] == {"first": 0.05}
        status = await engine.client.wait_for_instance(iid, 10)
    finally:
        await engine.stop(timeout=2)
    assert status["runtimeStatus"] == "Completed" and status["output"] == [0.05, 0.6]


async def test_held_results_survive_a_restart(db_path, runner):
    RUNS.clear()
    engine = await started_engine(REGISTRY, db_path, runner)
    spec = [["pause", 0.05], ["pause", 0.8]]
    iid = await engine.client.start_orchestration("staggered", input_json=json.dumps(spec))
    await asyncio.sleep(0.3)  # the fast result is held; the slow activity still runs
    assert len(engine.store.pending_events(iid)) == 1
    await engine.stop(timeout=0.01)  # the slow run is abandoned: its work row stays
    engine = await started_engine(REGISTRY, db_path, runner)
    try:
        status = await engine.client.wait_for_instance(iid, 10)
    finally:
        await engine.stop(timeout=2)
    assert status["runtimeStatus"] == "Completed" and status["output"] == pytest.approx(0.85)
    assert sorted(RUNS) == [0.05, 0.8, 0.8], "only the unfinished activity ran again"
