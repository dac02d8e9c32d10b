"""Client operations: what the Durable HTTP API asks of the engine (start, status, events, terminate, suspend,
resume, restart, rewind, purge, entities).

A mixin of DurableEngine. Every operation that changes state waits for its commit before it returns
(`store.flush()`, shared by the requests of one loop iteration), so nothing is acknowledged to a client before it
is on disk; every read commits first, so a client never sees a state that is not on disk yet.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

from ...durable_vocabulary import FINISHED_STATUSES, EventType, entity_scheduler_id
from .errors import InstanceExists, InvalidInstanceId, InvalidState, NotFound, NotRunning, UnknownFunction
from .history import event, now_iso, public_history
from .instance import Instance, instance_id_problem
from .instances import unknown_function
from .records import InstanceFilter, StatusRow
from .rewind import ChildToResume, plan_rewind, rewound_event
from .status import json_value, status_payload


class ClientOperations:
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
        fn = self.registry.orchestrator(name)
        if fn is None:
            raise UnknownFunction(
                unknown_function(name, "orchestrator")
                + " Additional info: the app defines no orchestrator with that name."
            )
        instance_id = instance_id or uuid.uuid4().hex
        if (problem := instance_id_problem(instance_id)) is not None:
            raise InvalidInstanceId(problem)
        existing = self._active.get(instance_id)
        if existing is not None:
            raise InstanceExists(f"An Orchestration instance with the status {existing.status} already exists.")
        self._create_instance(
            fn.name,
            instance_id,
            input_json,
            version=self.versioning.default_version if version is None else version,
            input_is_value=input_is_value,
        )
        await self.store.flush()
        return instance_id

    async def restart(self, instance_id: str, new_id: bool = True) -> str:
        """Start the instance's orchestrator again with its original input (RestartAsync)."""
        record = self.store.status(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return await self.start_orchestration(
            record.name, None if new_id else instance_id, record.input, input_is_value=record.input_is_value
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
        self.store.commit_for_read()
        inst = self._active.get(instance_id)
        if inst is not None:  # committed, so its row says the same: skip the read (status polls are frequent)
            row = StatusRow(
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
            stored = self.store.status(instance_id)
            if stored is None:
                return None
            row = stored
        status = status_payload(row, show_input)
        if show_history:
            events = self.store.history_events(instance_id)
            status["historyEvents"] = public_history(events, show_output=show_history_output, show_input=show_input)
        return status

    async def query_instances(
        self,
        *,
        runtime_status: list[str] | None = None,
        created_from: Any = None,
        created_to: Any = None,
        instance_id_prefix: str | None = None,
        top: int | None = None,
        skip: int = 0,
        show_input: bool = True,
    ) -> list[dict[str, Any]]:
        self.store.commit_for_read()
        where = InstanceFilter(runtime_status, created_from, created_to, instance_id_prefix)
        return [status_payload(row, show_input) for row in self.store.statuses(where, top=top, skip=skip)]

    async def wait_for_instance(self, instance_id: str, timeout: float) -> dict[str, Any] | None:
        """Wait until the instance reaches a terminal state; returns its status (or the last one on timeout)."""
        if instance_id in self._active:
            future = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(instance_id, []).append(future)
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout)
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
        await self.store.flush()

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        reason = reason or ""
        self._append_history(inst, [event(EventType.ExecutionTerminated, now_iso(), Input=reason)])
        self._finish(inst, "Terminated", json.dumps(reason))
        await self.store.flush()

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        if inst.status == "Suspended":
            return
        self._append_history(inst, [event(EventType.ExecutionSuspended, now_iso(), Reason=reason or "")])
        inst.status = "Suspended"
        self._save(inst)
        await self.store.flush()
        self.log.info("%s: Function '%s (Orchestrator)' suspended. Reason: %s", instance_id, inst.name, reason or "")

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        if inst.status != "Suspended":
            return
        self._append_history(inst, [event(EventType.ExecutionResumed, now_iso(), Reason=reason or "")])
        inst.status = "Running"
        self._save(inst)
        await self.store.flush()
        self.log.info("%s: Function '%s (Orchestrator)' resumed. Reason: %s", instance_id, inst.name, reason or "")
        self._kick(inst)

    def _require_active(self, instance_id: str) -> Instance:
        inst = self._active.get(instance_id)
        if inst is not None:
            return inst
        if self.store.instance_exists(instance_id):
            raise NotRunning(f"The instance '{instance_id}' has already finished.")
        raise NotFound(f"No instance with ID '{instance_id}' found.")

    # ================================================================================= rewind
    async def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Rewind a Failed instance: failed work runs again, completed work is kept (rewind.py)."""
        self._rewind(instance_id, reason or "")
        await self.store.flush()

    def _rewind(self, instance_id: str, reason: str) -> Instance:
        record = self.store.instance(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        name, status = record.name, record.status
        if status in FINISHED_STATUSES and status != "Failed":  # HandleRewindInstanceRequestAsync: 410 Gone
            raise NotRunning(
                f"The instance '{instance_id}' has status {status}: only a Failed instance can be rewound."
            )
        if status != "Failed" or instance_id in self._active:  # DurableClient.RewindAsync's own refusal
            raise InvalidState("The rewind operation is only supported on failed orchestration instances.")
        history = self.store.history_events(instance_id)
        plan = plan_rewind(history, record.book)
        book = replace(
            record.book,
            retries=plan.retries,
            failed_loops=[],
            interrupted_loops=[],
            retried=plan.retried,
            next_id=plan.next_id,
            fan_in=None,
        )
        inst = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            status="Running",
            input=record.input,
            created=record.created,
            updated=record.created,
            parent_id=record.parent_id,
            parent_task_id=record.parent_task_id,
            custom_status=record.custom_status,
            book=book,
        )
        self._active[instance_id] = inst
        answers = [ev for _, ev in self.store.pending_events(instance_id)]  # engine._entity_answered kept them
        self.store.delete_pending(instance_id)
        self._replace_history(inst, plan.history)
        self._queue_event(inst, rewound_event(now_iso(), reason))
        for answer in answers:
            if answer.get("EventType") == EventType.EventRaised and answer.get("Name") in plan.awaited_calls:
                self._queue_event(inst, answer)
        if plan.awaited_calls and self.entities is not None:
            self.entities.redirect(instance_id, plan.awaited_calls, inst.execution_id)
        self._save(inst)
        self.log.info(
            "%s: Function '%s (Orchestrator)' rewound. Reason: %s. Work running again: %d task(s), "
            "%d sub-orchestration(s).",
            instance_id,
            name,
            reason,
            len(plan.rerun),
            len(plan.children),
        )
        for task_id, activity, activity_input in plan.rerun:
            self._queue_activity(inst, task_id, activity, activity_input)
        for timer_id, fire_at in plan.timers:
            self._arm_timer(inst, timer_id, fire_at)
        for child in plan.children:
            self._resume_child(inst, child, reason)
        self._kick(inst)
        return inst

    def _resume_child(self, inst: Instance, child: ChildToResume, reason: str) -> None:
        """A sub-orchestration the rewound parent still awaits: rewind it, report it, or start it again."""
        child_id, task_id = child.instance_id, child.task_id
        if child.renumbered_from not in (None, task_id):  # rewind.py `_renumber`: it reports under its new id
            self.store.set_parent_task_id(child_id, inst.instance_id, task_id)
            if (running := self._active.get(child_id)) is not None and running.parent_id == inst.instance_id:
                running.parent_task_id = task_id
        if child_id in self._active:
            return  # still running: it reports to the parent when it ends
        outcome = self.store.child_outcome(child_id, inst.instance_id)
        status, output = outcome if outcome is not None else (None, None)
        if status == "Failed":
            self._rewind(child_id, reason)
        elif status == "Completed":
            self._deliver(
                inst.instance_id,
                inst.execution_id,
                event(EventType.SubOrchestrationInstanceCompleted, now_iso(), TaskScheduledId=task_id, Result=output),
            )
        elif status is not None:
            message = json_value(output)
            self._deliver(
                inst.instance_id,
                inst.execution_id,
                event(
                    EventType.SubOrchestrationInstanceFailed,
                    now_iso(),
                    TaskScheduledId=task_id,
                    Reason=message if isinstance(message, str) else json.dumps(message),
                    Details=f"Sub-orchestration '{child_id}' {status.lower()}.",
                ),
            )
        else:
            self._launch_child(inst, task_id, child.name, child_id, child.input, child.version)

    # ================================================================================= purge
    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; 0 when unknown. A running one is refused (InvalidState)."""
        inst = self._active.get(instance_id)
        if inst is not None:
            raise InvalidState(
                "Only orchestrations in a terminal state can be purged, but the orchestration with "
                f"instance ID {instance_id} has status {inst.status}"
            )
        if not self.store.instance_exists(instance_id):
            return 0
        self._delete_instance_rows(instance_id)
        await self.store.flush()
        return 1

    async def purge_by(
        self,
        *,
        runtime_status: list[str] | None = None,
        created_from: Any = None,
        created_to: Any = None,
        instance_id_prefix: str | None = None,
    ) -> int:
        where = InstanceFilter(runtime_status, created_from, created_to, instance_id_prefix)
        ids = [iid for iid in self.store.instance_ids(where) if iid not in self._active]
        for iid in ids:
            self._delete_instance_rows(iid)
        await self.store.flush()
        return len(ids)

    # ================================================================================= entities
    async def signal_entity(self, entity_name: str, key: str, operation: str, input_json: str | None) -> None:
        assert self.entities is not None
        self.entities.enqueue(entity_scheduler_id(entity_name, key), operation, input_json, signal=True)
        await self.store.flush()

    async def read_entity(self, entity_name: str, key: str) -> tuple[bool, str | None]:
        assert self.entities is not None
        self.store.commit_for_read()
        return self.entities.read_raw(entity_scheduler_id(entity_name, key))

    async def list_entities(self, entity_name: str | None = None, fetch_state: bool = False) -> list[dict[str, Any]]:
        assert self.entities is not None
        self.store.commit_for_read()
        return self.entities.list(entity_name, fetch_state)
