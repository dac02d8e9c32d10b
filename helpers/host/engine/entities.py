"""Durable entities: one persisted operation queue per entity id, operations strictly one at a time.

Each entity id gets its own driver task, so a slow operation (an agent waiting for its model) holds up only
that entity; other entities, orchestrations and the HTTP server carry on. An operation leaves the queue in
the same transaction that stores the new state and, for `call_entity`, queues the response event for the
calling orchestration — so after a crash an operation is either done (and not run again) or still queued.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...durable_vocabulary import EventType, parse_entity_id
from ..registry import Registry
from ..user_code import UserCodeRunner
from .contracts import Log
from .errors import UnknownFunction, unknown_function_message
from .history import event, now_iso
from .store import Store

# (caller instance id, caller execution id, EventRaised event) -> None
ResponseSink = Callable[[str, str, dict[str, Any]], None]


def name_and_key(eid: str) -> tuple[str, str]:
    """The entity name and key of a scheduler id (durable_vocabulary.entity_scheduler_id)."""
    parsed = parse_entity_id(eid)
    if parsed is None:
        raise ValueError(f"{eid!r} is not an entity id (@name@key)")
    return parsed


@dataclass
class EntityOperation:
    """One operation for an entity, queued in the state file (`entity_ops`) until it has run."""

    operation: str
    input: str  # JSON text ("null" for none)
    signal: bool
    caller: str | None  # the orchestration that awaits the answer (call_entity); None for a signal
    caller_execution: str | None  # that orchestration's execution (a rewind re-addresses it: `redirect`)
    request_id: str | None  # the answer's EventRaised name, which the calling orchestration waits for

    def to_json(self) -> str:
        return json.dumps(
            {
                "op": self.operation,
                "input": self.input,
                "signal": self.signal,
                "caller": self.caller,
                "callerExecution": self.caller_execution,
                "id": self.request_id,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EntityOperation:
        data = json.loads(text)
        return cls(data["op"], data["input"], data["signal"], data["caller"], data["callerExecution"], data["id"])


class Entities:
    """Queues, runs and persists entity operations."""

    def __init__(
        self, store: Store, registry: Registry, runner: UserCodeRunner, logger: Log, respond: ResponseSink
    ) -> None:
        self._store = store
        self._registry = registry
        self._runner = runner
        self._log = logger
        self._respond = respond
        self._queues: dict[str, list[tuple[int, EntityOperation]]] = {}
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- queueing ----------------------------------------------------------------------------------------
    def enqueue(
        self,
        eid: str,
        operation: str,
        input_json: str | None,
        *,
        signal: bool,
        caller: str | None = None,
        caller_execution: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Persist an operation for `eid` and make sure its driver runs. Raises UnknownFunction."""
        name, _ = name_and_key(eid)
        if self._registry.entity(name) is None:
            raise UnknownFunction(unknown_function_message(name, "entity"))
        op = EntityOperation(
            operation, "null" if input_json is None else input_json, signal, caller, caller_execution, request_id
        )
        row_id = self._store.queue_entity_operation(eid, op.to_json())
        self._queues.setdefault(eid, []).append((row_id, op))
        self._kick(eid)

    def redirect(self, caller: str, request_ids: set[str], execution_id: str) -> None:
        """Send the answers of these queued or running calls of `caller` to its execution `execution_id` (a
        rewound instance's new one), in memory and on disk."""
        for queue in self._queues.values():
            for row_id, op in queue:
                if op.caller == caller and op.request_id in request_ids:
                    op.caller_execution = execution_id  # a running operation answers from this same object
                    self._store.update_entity_operation(row_id, op.to_json())

    def resume(self) -> None:
        """Reload every queued operation from the file (after a restart) and run them."""
        for queued in self._store.queued_entity_operations():
            self._queues.setdefault(queued.entity_id, []).append(
                (queued.row_id, EntityOperation.from_json(queued.payload))
            )
        for eid in list(self._queues):
            self._kick(eid)

    def _kick(self, eid: str) -> None:
        if eid in self._busy or self._stopping:
            return
        self._busy.add(eid)
        task = asyncio.get_running_loop().create_task(self._drive(eid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(self, eid: str) -> None:
        try:
            queue = self._queues.get(eid)
            while queue and not self._stopping:
                row_id, op = queue[0]
                # An operation runs only once its record is on disk: it may have been queued in this very loop
                # step (by the episode its predecessor's answer ran), and a crash must not find the caller
                # waiting for an operation that already ran -- or the predecessor's answer unrecorded.
                await self._store.flush()
                if self._stopping:
                    break
                await self._run_one(eid, row_id, op)
                queue.pop(0)
            if not queue:
                self._queues.pop(eid, None)
        except Exception:  # a bug here must not kill the engine; the op stays queued for the next start
            self._log.exception("%s: entity driver stopped unexpectedly", eid)
        finally:
            self._busy.discard(eid)

    # -- running one operation --------------------------------------------------------------------------
    async def _run_one(self, eid: str, row_id: int, op: EntityOperation) -> None:
        name, key = name_and_key(eid)
        fn = self._registry.entity(name)
        exists, state = self.read_raw(eid)
        label = fn.name if fn else name
        self._log.info("%s: Function '%s (Entity)' operation '%s' started.", eid, label, op.operation)
        started = time.perf_counter()
        new_exists, new_state = exists, state
        if fn is None:
            is_error, result = True, json.dumps(unknown_function_message(name, "entity"))
        else:
            request = {
                "self": {"name": name, "key": key},
                "exists": exists,
                "state": state,
                "batch": [{"name": op.operation, "input": json.dumps(op.input), "isSignal": op.signal}],
            }
            try:
                raw = await self._runner.call(fn.handler, json.dumps(request))
                response = json.loads(raw)
                outcome = (response.get("results") or [{}])[0]
                is_error = bool(outcome.get("isError"))
                result = outcome.get("result")
                new_exists = bool(response.get("entityExists"))
                new_state = response.get("entityState") if new_exists else None
            except Exception as exc:  # the SDK wrapper itself failed: report it as the op's error
                is_error, result = True, json.dumps(f"{type(exc).__name__}: {exc}")
        if self._stopping and not self._store.is_open:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._log.info(
            "%s: Function '%s (Entity)' operation '%s' %s. Duration: %.0f ms.",
            eid,
            label,
            op.operation,
            "failed" if is_error else "completed",
            elapsed_ms,
        )
        self._store.save_entity(eid, name, key, new_state, new_exists, now_iso())
        self._store.delete_entity_operation(row_id)
        if not op.signal and op.caller:
            payload: dict[str, Any] = {"result": result if result is not None else "null"}
            if is_error:
                payload["exceptionType"] = "Exception"
            response_event = event(EventType.EventRaised, now_iso(), Name=op.request_id, Input=json.dumps(payload))
            self._respond(op.caller, op.caller_execution or "", response_event)

    # -- reading -----------------------------------------------------------------------------------------
    def read_raw(self, eid: str) -> tuple[bool, str | None]:
        return self._store.entity_state(eid)

    def list(self, name: str | None, fetch_state: bool) -> list[dict[str, Any]]:
        out = []
        for row in self._store.entities(name):
            item: dict[str, Any] = {
                "entityId": {"name": row.name, "key": row.key},
                "lastOperationTime": row.last_operation,
            }
            if fetch_state:
                item["state"] = json.loads(row.state) if row.state is not None else None
            out.append(item)
        return out

    def stop(self) -> None:
        """Start no operation from now on (one that is running finishes; `drain` waits for it)."""
        self._stopping = True

    async def drain(self, timeout: float) -> None:
        """Stop, and give the operations that are running `timeout` seconds to finish and be recorded."""
        self.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
