"""The durable engine: histories, replay episodes, activities, timers, entities — persisted in SQLite.

The engine does not replay anything itself: it stores each instance's history and feeds it back to the
`azure-functions-durable` SDK's orchestrator handle, which replays the user's generator and returns the
cumulative list of actions. The engine schedules the new ones, records their results as history events and
runs the next episode — the same out-of-process protocol the Durable Functions extension speaks with
Python workers (request: history + input; response: `actions`, `isDone`, `output`, `customStatus`).

Modules, one concept each:
    replay.py      the replay boundary as plain data: history in -> SDK orchestrator handle -> actions out
    episodes.py    one episode: pending events -> replay -> decisions applied
    dispatch.py    new actions -> scheduling events + work (activities, HTTP calls, timers, retries, children,
                   entity messages)
    instances.py   creating, persisting, delivering events to and ending instances
    client.py      the operations the Durable HTTP API asks for (start ... rewind, purge, entities)
    engine.py      construction, start-up (resume from the store), orderly stop
    activities.py, http_calls.py, entities.py   where user work runs
    store/         the SQLite file: every read and write of durable state, by name (the only SQL)
    records.py     the rows the store hands out and takes in;  status.py  a status as the HTTP API shows it
    history.py, actions.py   history events and the orchestrator's action list
    in_flight.py   the work a restart must start again, read from the history alone
    fan_in.py, rewind.py, versioning.py, instance.py   the supporting pieces
    sdk_timestamps.py, sdk_executor_memo.py (via sdk_patch.py)   the two memos the host gives the SDK

Interface used by the HTTP layer (all methods are coroutines on the server's event loop unless noted):

    engine = DurableEngine(registry, store_path, runner, hub_name, logger, versioning=Versioning(...))
    await engine.start()          # opens/validates the SQLite file, resumes unfinished work
    await engine.stop()           # stops accepting work, lets in-flight user code finish (bounded), closes the store

    await engine.start_orchestration(name, instance_id=None, input_json=None, version=None) -> str
        name: orchestrator name (case-insensitive). input_json: the JT string (json.dumps(value)) or None.
        version: None = host.json defaultVersion. raises UnknownFunction and InvalidInstanceId (-> 400),
        InstanceExists (-> 500, as the extension).
    await engine.get_status(instance_id, *, show_history=False, show_history_output=False, show_input=True) -> dict | None
        the Durable HTTP API status object: name, instanceId, runtimeStatus, input, customStatus, output,
        createdTime, lastUpdatedTime [, historyEvents]. None when unknown.
    await engine.query_instances(*, runtime_status=None, created_from=None, created_to=None,
                                 instance_id_prefix=None, top=None, show_input=True) -> list[dict]
    await engine.raise_event(instance_id, event_name, input_json) -> None   # raises NotFound / NotRunning
    await engine.terminate(instance_id, reason) / suspend(...) / resume(...) / restart(instance_id, new_id: bool) -> str
    await engine.rewind(instance_id, reason)           # raises NotFound, NotRunning (finished, not Failed: 410),
                                                       # InvalidState (still running: 500, as the extension)
    await engine.purge(instance_id) -> int  (InvalidState while running) ; await engine.purge_by(**filters) -> int
    await engine.signal_entity(entity_name, key, operation, input_json) -> None      # raises UnknownFunction
    await engine.read_entity(entity_name, key) -> tuple[bool, str | None]           # (exists, state JT)
    await engine.list_entities(entity_name=None, fetch_state=False) -> list[dict]   # {entityId:{name,key}, lastOperationTime, state?}
    engine.wait_for_instance(instance_id, timeout) -> awaitable   # optional helper for tests
"""

from .engine import DurableEngine
from .errors import (
    EngineError,
    InstanceExists,
    InvalidInstanceId,
    InvalidState,
    NotFound,
    NotRunning,
    StoreError,
    UnknownFunction,
)
from .instance import Instance
from .versioning import Versioning

__all__ = [
    "DurableEngine",
    "EngineError",
    "Instance",
    "InstanceExists",
    "InvalidInstanceId",
    "InvalidState",
    "NotFound",
    "NotRunning",
    "StoreError",
    "UnknownFunction",
    "Versioning",
]
