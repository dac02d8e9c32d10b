"""Entities through the durable engine: both styles, call/signal from orchestrations, client signal/read/list."""

from __future__ import annotations

import json
import time

import pytest

from helpers.host.engine import UnknownFunction
from tests.conftest import run_to_end, wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def wait_state(engine, name, key, predicate, timeout=10.0):
    """The entity's state once `predicate` holds for it."""

    async def matching():
        exists, state = await engine.client.read_entity(name, key)
        return [json.loads(state)] if exists and predicate(json.loads(state)) else None

    found = await wait_until_async(matching, timeout=timeout, what=f"entity {name}/{key} to reach the expected state")
    return found[0]


async def test_orchestration_calls_and_signals_entities(engine):
    status = await run_to_end(engine, "entity_user", "k1")
    assert status["runtimeStatus"] == "Completed", status
    out = status["output"]
    # the signal (add 5) was queued before the call (add 2): operations run in order
    assert out["total"] == 7
    assert out["balance"] == 10
    assert "insufficient funds" in out["refused"]
    exists, state = await engine.client.read_entity("Counter", "k1")
    assert exists and json.loads(state) == 7
    exists, state = await engine.client.read_entity("account", "k1")
    assert exists and json.loads(state) == {"balance": 10}  # state untouched by the failed withdraw


async def test_client_signals_run_one_at_a_time(engine):
    # 20 concurrent adds with a 50 ms read-modify-write each: overlap would lose updates
    for _ in range(20):
        await engine.client.signal_entity("Counter", "serial", "add", "1")
    assert await wait_state(engine, "counter", "serial", lambda v: v == 20) == 20


async def test_different_entities_progress_in_parallel(engine):
    began = time.perf_counter()
    for key in range(8):
        for _ in range(3):
            await engine.client.signal_entity("Counter", f"p{key}", "add", "1")
    for key in range(8):
        await wait_state(engine, "Counter", f"p{key}", lambda v: v == 3)
    # 24 ops of 50 ms: serially 1.2 s, per-entity parallel ~0.15 s
    assert time.perf_counter() - began < 1.0


async def test_entity_listing_and_unknown_entities(engine):
    await engine.client.signal_entity("Counter", "listed", "add", "4")
    await wait_state(engine, "Counter", "listed", lambda v: v == 4)
    listed = await engine.client.list_entities("Counter", fetch_state=True)
    entry = next(e for e in listed if e["entityId"]["key"] == "listed")
    assert entry["entityId"] == {"name": "counter", "key": "listed"} and entry["state"] == 4
    assert "lastOperationTime" in entry
    bare = await engine.client.list_entities(fetch_state=False)
    assert all("state" not in e for e in bare)
    assert await engine.client.read_entity("Counter", "never") == (False, None)
    with pytest.raises(UnknownFunction):
        await engine.client.signal_entity("NoSuchEntity", "x", "op", None)
