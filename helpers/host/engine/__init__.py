"""The durable engine: histories, replay episodes, activities, timers, entities — persisted in SQLite.

The engine does not replay anything itself: it stores each instance's history and feeds it back to the
`azure-functions-durable` SDK's orchestrator handle, which replays the user's generator and returns the
cumulative list of actions. The engine schedules the new ones, records their results as history events and
runs the next episode — the same out-of-process protocol the Durable Functions extension speaks with
Python workers (request: history + input; response: `actions`, `isDone`, `output`, `customStatus`).

Interface used by the HTTP layer (all methods are coroutines on the server's event loop unless noted):

    engine = DurableEngine(registry, store_path, runner, hub_name, logger)
    await engine.start()          # opens/validates the SQLite file, resumes unfinished work
    await engine.stop()           # stops accepting work, lets in-flight user code finish (bounded), closes the store

    await engine.start_orchestration(name, instance_id=None, input_json=None) -> str
        name: orchestrator name (case-insensitive). input_json: the JT string (json.dumps(value)) or None.
        raises UnknownFunction (-> 400), InstanceExists (-> 409 if still running).
    await engine.get_status(instance_id, *, show_history=False, show_history_output=False, show_input=True) -> dict | None
        the Durable HTTP API status object: name, instanceId, runtimeStatus, input, customStatus, output,
        createdTime, lastUpdatedTime [, historyEvents]. None when unknown.
    await engine.query_instances(*, runtime_status=None, created_from=None, created_to=None,
                                 instance_id_prefix=None, top=None, show_input=True) -> list[dict]
    await engine.raise_event(instance_id, event_name, input_json) -> None   # raises NotFound / NotRunning
    await engine.terminate(instance_id, reason) / suspend(...) / resume(...) / restart(instance_id, new_id: bool) -> str
    await engine.purge(instance_id) -> int ; await engine.purge_by(**filters) -> int
    await engine.signal_entity(entity_name, key, operation, input_json) -> None      # raises UnknownFunction
    await engine.read_entity(entity_name, key) -> tuple[bool, str | None]           # (exists, state JT)
    await engine.list_entities(entity_name=None, fetch_state=False) -> list[dict]   # {entityId:{name,key}, lastOperationTime, state?}
    engine.wait_for_instance(instance_id, timeout) -> awaitable   # optional helper for tests
"""
from .engine import DurableEngine, Instance
from .errors import EngineError, InstanceExists, NotFound, NotRunning, StoreError, UnknownFunction

__all__ = [
    "DurableEngine",
    "EngineError",
    "Instance",
    "InstanceExists",
    "NotFound",
    "NotRunning",
    "StoreError",
    "UnknownFunction",
]
