"""The client: what the Durable HTTP API asks of the engine (start, status, events, terminate, suspend, resume,
restart, rewind, purge, entities).

Every operation that changes state waits for its commit before it returns (`store.flush()`, shared by the
requests of one loop iteration), so nothing is acknowledged to a client before it is on disk; every read commits
first, so a client never sees a state that is not on disk yet.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any, Literal, NoReturn

from ...durable_vocabulary import EventType, RuntimeStatus, entity_scheduler_id
from ..registry import Registry
from .contracts import Deliver, Log, StartInstance, Wake
from .entities import Entities
from .errors import (
    InstanceExists,
    InvalidInstanceId,
    InvalidState,
    NotFound,
    NotRunning,
    UnknownFunction,
    unknown_function_message,
)
from .history import Event, event, now_iso, public_history
from .instance import Instance, instance_id_problem
from .instances import Instances
from .records import InstanceFilter, StatusRow
from .rewind import Rewinder
from .status import status_payload
from .store import Store
from .versioning import Versioning


class Client:
    """The engine's operations for clients (the package docstring lists them); coroutines on the engine's loop."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        versioning: Versioning,
        instances: Instances,
        entities: Entities,
        rewinder: Rewinder,
        start_instance: StartInstance,
        deliver: Deliver,
        wake: Wake,
        log: Log,
        hub_name: str,
    ) -> None:
        self._store = store
        self._registry = registry
        self._versioning = versioning
        self._instances = instances
        self._entities = entities
        self._rewinder = rewinder
        self._start_instance = start_instance
        self._deliver = deliver
        self._wake = wake
        self._log = log
        self._hub_name = hub_name

    # ================================================================================= starting
    async def start_orchestration(
        self,
        name: str,
        instance_id: str | None = None,
        input_json: str | None = None,
        version: str | None = None,
        *,
        input_is_value: bool = False,
    ) -> str:
        """Start a new instance. `version` None means this host's defaultVersion; "" is an explicit empty one.
        `input_is_value`: the input was posted as plain JSON (durable_api.py), which its status then shows.

        Like the extension (OverridableExistingInstanceStates = NonRunningStates), an instance id that is still
        Pending, Running or Suspended is refused and that instance is left untouched; a finished one is replaced.
        An id the extension refuses (instance.instance_id_problem) raises InvalidInstanceId.
        """
        fn = self._registry.orchestrator(name)
        if fn is None:
            raise UnknownFunction(
                unknown_function_message(name, "orchestrator")
                + " Additional info: the app has no enabled orchestrator with that name."
            )
        instance_id = instance_id or uuid.uuid4().hex
        if (problem := instance_id_problem(instance_id)) is not None:
            raise InvalidInstanceId(problem)
        existing = self._instances.get(instance_id)
        if existing is not None:
            raise InstanceExists(f"An Orchestration instance with the status {existing.status} already exists.")
        self._start_instance(
            fn.name,
            instance_id,
            input_json,
            version=self._versioning.default_version if version is None else version,
            input_is_value=input_is_value,
        )
        await self._store.flush()
        return instance_id

    async def restart(self, instance_id: str, new_id: bool = True) -> str:
        """Start the instance's orchestrator again with its original input (RestartAsync)."""
        stored = self._store.status(instance_id)
        if stored is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return await self.start_orchestration(
            stored.name, None if new_id else instance_id, stored.input, input_is_value=stored.input_is_value
        )

    # ================================================================================= reading
    async def get_status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> dict[str, Any] | None:
        """The Durable HTTP API status object (with `historyEvents` when asked); None for an unknown instance."""
        self._store.commit_for_read()
        inst = self._instances.get(instance_id)
        if inst is not None:  # committed, so its row says the same: skip the read (status polls are frequent)
            row: StatusRow | None = StatusRow(
                inst.instance_id,
                inst.name,
                inst.status,
                inst.input,
                inst.output,
                inst.custom_status,
                inst.created,
                inst.updated,
                inst.book.input_is_value,
            )
        else:
            row = self._store.status(instance_id)
        if row is None:
            return None
        status = status_payload(row, show_input)
        if show_history:
            events = self._store.history_events(instance_id)
            status["historyEvents"] = public_history(events, show_output=show_history_output, show_input=show_input)
        return status

    async def stored_history(self, instance_id: str) -> list[Event]:
        """The instance's history exactly as its orchestrator is fed it (episode markers, ids, encoded results)."""
        self._store.commit_for_read()
        return self._store.history_events(instance_id)

    async def query_instances(
        self,
        *,
        runtime_status: list[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        instance_id_prefix: str | None = None,
        top: int | None = None,
        skip: int = 0,
        show_input: bool = True,
    ) -> list[dict[str, Any]]:
        self._store.commit_for_read()
        where = InstanceFilter(runtime_status, created_from, created_to, instance_id_prefix)
        return [status_payload(row, show_input) for row in self._store.statuses(where, top=top, skip=skip)]

    async def wait_for_instance(self, instance_id: str, timeout: float) -> dict[str, Any] | None:
        """Wait until the instance reaches a terminal state; returns its status (or the last one on timeout)."""
        finished = self._instances.finished(instance_id)
        if finished is not None:
            try:
                await asyncio.wait_for(asyncio.shield(finished), timeout)
            except TimeoutError:
                pass
        return await self.get_status(instance_id)

    # ================================================================================= changing a running instance
    async def raise_event(self, instance_id: str, event_name: str, input_json: str | None) -> None:
        """Deliver an external event. `input_json` is stored verbatim as EventRaised.Input -- the HTTP layer
        passes the request body text, as the real extension does (so SDK clients' payloads arrive JT-encoded)."""
        inst = self._require_active(instance_id)
        ev = event(
            EventType.EventRaised, now_iso(), Name=event_name, Input="null" if input_json is None else input_json
        )
        self._deliver(inst.instance_id, inst.execution_id, ev)
        await self._store.flush()

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        reason = reason or ""
        self._instances.append_history(inst, [event(EventType.ExecutionTerminated, now_iso(), Input=reason)])
        self._instances.finish(inst, RuntimeStatus.Terminated, json.dumps(reason))
        await self._store.flush()

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Suspend a Pending or Running instance: its events wait until it is resumed. A Suspended one is refused,
        as by the extension's DurableClient.SuspendAsync (InvalidState; HTTP 500)."""
        inst = self._require_active(instance_id)
        if inst.status == RuntimeStatus.Suspended:
            self._refuse("suspend", inst)
        self._instances.append_history(inst, [event(EventType.ExecutionSuspended, now_iso(), Reason=reason or "")])
        inst.status = RuntimeStatus.Suspended
        self._instances.save(inst)
        await self._store.flush()
        self._log.info("%s: Function '%s (Orchestrator)' suspended. Reason: %s", instance_id, inst.name, reason or "")

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume a Suspended instance. Any other is refused, as by DurableClient.ResumeAsync (InvalidState)."""
        inst = self._require_active(instance_id)
        if inst.status != RuntimeStatus.Suspended:
            self._refuse("resume", inst)
        self._instances.append_history(inst, [event(EventType.ExecutionResumed, now_iso(), Reason=reason or "")])
        inst.status = RuntimeStatus.Running
        self._instances.save(inst)
        await self._store.flush()
        self._log.info("%s: Function '%s (Orchestrator)' resumed. Reason: %s", instance_id, inst.name, reason or "")
        self._wake(inst)

    async def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Rewind a Failed instance: failed work runs again, completed work is kept (rewind.py). Raises NotFound,
        NotRunning (finished, not Failed: 410) or InvalidState (still running: 500, as the extension)."""
        self._rewinder.rewind(instance_id, reason or "")
        await self._store.flush()

    def _refuse(self, operation: Literal["suspend", "resume"], inst: Instance) -> NoReturn:
        """The extension's refusal of a suspend or resume the instance's status does not allow: a warning in the
        host log (its ExtensionWarningEvent line) and an InvalidOperationException carrying the reason."""
        self._log.warning(
            "Cannot %s orchestration instance in the %s state. InstanceId: %s. Function: %s. HubName: %s.",
            operation,
            inst.status,
            inst.instance_id,
            inst.name,
            self._hub_name,
        )
        raise InvalidState(
            f"Cannot {operation} the orchestration instance {inst.instance_id} because instance is in the "
            f"{inst.status} state."
        )

    def _require_active(self, instance_id: str) -> Instance:
        inst = self._instances.get(instance_id)
        if inst is not None:
            return inst
        if self._store.instance_exists(instance_id):
            raise NotRunning(f"The instance '{instance_id}' has already finished.")
        raise NotFound(f"No instance with ID '{instance_id}' found.")

    # ================================================================================= purge
    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; 0 when unknown. A running one is refused (InvalidState)."""
        inst = self._instances.get(instance_id)
        if inst is not None:
            raise InvalidState(
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {inst.status}"
            )
        if not self._store.instance_exists(instance_id):
            return 0
        self._instances.delete(instance_id)
        await self._store.flush()
        return 1

    async def purge_by(
        self,
        *,
        runtime_status: list[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        instance_id_prefix: str | None = None,
    ) -> int:
        """Delete the finished instances the filters select (running ones are skipped); how many were deleted."""
        where = InstanceFilter(runtime_status, created_from, created_to, instance_id_prefix)
        ids = [iid for iid in self._store.instance_ids(where) if iid not in self._instances]
        for iid in ids:
            self._instances.delete(iid)
        await self._store.flush()
        return len(ids)

    # ================================================================================= entities
    async def signal_entity(self, entity_name: str, key: str, operation: str, input_json: str | None) -> None:
        """Queue an operation for the entity (raises UnknownFunction for an entity the app does not have)."""
        self._entities.enqueue(entity_scheduler_id(entity_name, key), operation, input_json, signal=True)
        await self._store.flush()

    async def read_entity(self, entity_name: str, key: str) -> tuple[bool, str | None]:
        """(exists, state JSON text) of the entity."""
        self._store.commit_for_read()
        return self._entities.read_raw(entity_scheduler_id(entity_name, key))

    async def list_entities(self, entity_name: str | None = None, fetch_state: bool = False) -> list[dict[str, Any]]:
        """`{entityId: {name, key}, lastOperationTime[, state]}` of every entity that exists (or of one name)."""
        self._store.commit_for_read()
        return self._entities.list(entity_name, fetch_state)
