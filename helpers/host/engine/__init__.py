"""The durable engine: histories, replay episodes, activities, timers, entities — persisted in SQLite.

The engine does not replay anything itself: it stores each instance's history and feeds it back to the
`azure-functions-durable` SDK's orchestrator handle, which replays the user's generator and returns the
cumulative list of actions. The engine schedules the new ones, records their results as history events and
runs the next episode — the same out-of-process protocol the Durable Functions extension speaks with
Python workers (request: history + input; response: `actions`, `isDone`, `output`, `customStatus`).

Parts, each a class constructed with exactly what it uses (engine.py builds them; contracts.py declares the few
callables that join two of them):
    Instances     instances.py   the active instances: create, persist, queue arrived events, end
    Episodes      episodes.py    pending events -> one replay through the SDK -> the decisions applied
    Dispatcher    dispatch.py    a new action -> its scheduling event and real work; retry loops
    Timers        timers.py      durable timers on the event loop
    Rewinder      rewind.py      a Failed instance rewound (what to keep: rewind_plan.py, a pure function)
    Client        client.py      what the Durable HTTP API asks (start ... rewind, purge, entities)
    ActivityRunner, Entities, HttpCaller   activities.py, entities.py, http_calls.py: where user work runs
    Store         store/         the SQLite file: every read and write of durable state, by name (the only SQL)
Plain data and pure functions:
    replay.py      the replay boundary: history in -> SDK orchestrator handle -> actions out
    book.py        what the engine keeps of an execution (the book, retry loops), typed, with its JSON
    records.py     the rows the store hands out and takes in;  status.py  a status as the HTTP API shows it
    history.py, actions.py   history events and the orchestrator's action list
    in_flight.py   the work a restart must start again, read from the history alone
    fan_in.py, versioning.py, instance.py, errors.py   the supporting pieces
    sdk_timestamps.py, sdk_executor_memo.py (via sdk_patch.py)   the two memos the host gives the SDK
The Durable words themselves (event and action types, statuses, entity ids) are helpers/durable_vocabulary.py.

Interface used by the HTTP layer (coroutines on the server's event loop unless noted):

    engine = DurableEngine(registry, store_path, runner, hub_name, logger, versioning=Versioning(...))
    await engine.start()          # opens/validates the SQLite file, resumes unfinished work
    await engine.stop()           # stops accepting work, lets in-flight user code finish (bounded), closes the store
    engine.abandon()              # stops at once, as kill -9 would: nothing more runs or is committed (not awaited)
    client = engine.client        # Client: the operations below

    await client.start_orchestration(name, instance_id=None, input_json=None, version=None) -> str
        name: orchestrator name (case-insensitive). input_json: the JT string (json.dumps(value)) or None.
        version: None = host.json defaultVersion. raises UnknownFunction and InvalidInstanceId (-> 400),
        InstanceExists (-> 500, as the extension).
    await client.get_status(instance_id, *, show_history=False, show_history_output=False, show_input=True) -> dict | None
        the Durable HTTP API status object: name, instanceId, runtimeStatus, input, customStatus, output,
        createdTime, lastUpdatedTime [, historyEvents]. None when unknown.
    await client.stored_history(instance_id) -> list[dict]    # the history as the orchestrator is fed it
    await client.query_instances(*, runtime_status=None, created_from=None, created_to=None,
                                 instance_id_prefix=None, top=None, show_input=True) -> list[dict]
    await client.raise_event(instance_id, event_name, input_json) -> None   # raises NotFound / NotRunning
    await client.terminate(instance_id, reason) / suspend(...) / resume(...) / restart(instance_id, new_id: bool) -> str
                                                       # suspend of a Suspended instance, resume of one that is not:
                                                       # InvalidState (500, as the extension)
    await client.rewind(instance_id, reason)           # raises NotFound, NotRunning (finished, not Failed: 410),
                                                       # InvalidState (still running: 500, as the extension)
    await client.purge(instance_id) -> int  (InvalidState while running) ; await client.purge_by(**filters) -> int
    await client.signal_entity(entity_name, key, operation, input_json) -> None      # raises UnknownFunction
    await client.read_entity(entity_name, key) -> tuple[bool, str | None]           # (exists, state JT)
    await client.list_entities(entity_name=None, fetch_state=False) -> list[dict]   # {entityId:{name,key}, lastOperationTime, state?}
    await client.wait_for_instance(instance_id, timeout) -> dict | None             # its status once finished

Replaying outside the engine (the lab's replay stepper re-runs an orchestrator on each episode of a real history,
in a process of its own, exactly as the engine feeds it):

    request = orchestrator_request(history_texts, new_texts, instance_id=..., input_json=..., parent_id=None)
    result = run_orchestrator(handle, request)        # ReplayResult: state (actions, isDone, output, ...), error
    flatten_actions(result.actions)                   # the id-consuming actions, in the SDK's numbering order
"""

from .actions import flatten_actions
from .client import Client
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
from .replay import ReplayResult, orchestrator_request, run_orchestrator
from .versioning import Versioning

__all__ = [
    "Client",
    "DurableEngine",
    "EngineError",
    "InstanceExists",
    "InvalidInstanceId",
    "InvalidState",
    "NotFound",
    "NotRunning",
    "ReplayResult",
    "StoreError",
    "UnknownFunction",
    "Versioning",
    "flatten_actions",
    "orchestrator_request",
    "run_orchestrator",
]
