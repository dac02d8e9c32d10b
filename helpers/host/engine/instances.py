"""Instance bookkeeping: creating instances, persisting them, queueing arrived events, and ending executions.

A mixin of DurableEngine (engine.py), which supplies `store`, `registry`, `log`, `versioning`, `_active`,
`_waiters`, `_stopping` and the episode driver `_drive` (episodes.py). Every state change here is written to
the Store in the same loop step as the in-memory change; the Store commits once per loop iteration.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ...durable_vocabulary import RUNNABLE_STATUSES, EventType
from .book import ExecutionBook
from .fan_in import worth_an_episode
from .history import event, now_iso
from .instance import Instance, played_text
from .status import json_value


def unknown_function(name: str, kind: str) -> str:
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function."


class InstanceBook:
    # -------------------------------------------------------------------------------------------- creating
    def _create_instance(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        parent: tuple[str, int] | None = None,
        version: str | None = None,
        input_is_value: bool = False,
    ) -> Instance:
        self._delete_instance_rows(instance_id)  # replaces a finished instance with the same id
        now = now_iso()
        inst = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            status="Pending",
            input=input_json,
            created=now,
            updated=now,
            book=ExecutionBook(version=version, input_is_value=input_is_value),
            parent_id=parent[0] if parent else None,
            parent_task_id=parent[1] if parent else None,
        )
        self._active[instance_id] = inst
        self._save(inst)
        self._save_input(inst)
        self._queue_event(inst, self._execution_started(inst))
        self._kick(inst)
        return inst

    @staticmethod
    def _execution_started(inst: Instance) -> dict[str, Any]:
        parent = {"InstanceId": inst.parent_id, "TaskScheduleId": inst.parent_task_id} if inst.parent_id else None
        return event(
            EventType.ExecutionStarted,
            now_iso(),
            Name=inst.name,
            Version=inst.version,
            Input=inst.input,
            OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
            ParentInstance=parent,
        )

    def _delete_instance_rows(self, instance_id: str) -> None:
        self.store.delete_instance(instance_id)

    # -------------------------------------------------------------------------------------------- persisting
    def _save(self, inst: Instance) -> None:
        """Write the instance row: an UPDATE of the fields an execution changes (cheaper than rewriting the row
        and its index), an INSERT when the row is new. The input is not in it (`_save_input`)."""
        inst.updated = now_iso()
        self.store.save_instance(inst)

    def _save_input(self, inst: Instance) -> None:
        """Write the execution's input, in a table of its own: written when an execution starts, never per
        episode (store.py, schema version 3)."""
        self.store.save_input(inst.instance_id, inst.input)

    def _append_history(self, inst: Instance, events: list[dict[str, Any]], texts: list[str] | None = None) -> None:
        """Append events (marked played from now on); `texts` may carry their encodings already."""
        start = len(inst.history)
        if texts is None:
            texts = [played_text(ev) for ev in events]
        else:
            for ev in events:
                ev["IsPlayed"] = True
        inst.history.extend(events)
        inst.history_text.extend(texts)
        self.store.append_history(inst.instance_id, start, texts)

    def _replace_history(self, inst: Instance, events: list[dict[str, Any]]) -> None:
        self.store.delete_history(inst.instance_id)
        inst.history, inst.history_text = [], []
        if events:
            self._append_history(inst, events)

    def _queue_event(self, inst: Instance, ev: dict[str, Any], *, deferred: bool = False) -> None:
        """Add an event for the instance's next episode. `deferred`: keep it in memory (row id None) and let
        the next commit write it, unless an episode has consumed it by then (store.py, `before_commit`)."""
        if deferred:
            inst.pending.append((None, ev))
            self._unwritten[inst.instance_id] = inst
            self.store.defer_write()
            return
        self._write_unwritten(inst)  # rows keep arrival order: the table is read back ORDER BY id
        inst.pending.append((self._insert_pending(inst.instance_id, ev), ev))

    def _insert_pending(self, instance_id: str, ev: dict[str, Any], *, lazy: bool = False) -> int:
        return self.store.add_pending(instance_id, ev, lazy=lazy)

    def _write_unwritten(self, only: Instance | None = None) -> None:
        """Write deferred events no episode has consumed (all of them: the Store's `before_commit`)."""
        if only is not None:
            targets = [only] if self._unwritten.pop(only.instance_id, None) is not None else []
        else:
            targets, self._unwritten = list(self._unwritten.values()), {}
        for inst in targets:
            if self._active.get(inst.instance_id) is not inst:
                continue  # finished, purged or replaced since: its events went with it
            for index, (row_id, ev) in enumerate(inst.pending):
                if row_id is None:
                    inst.pending[index] = (self._insert_pending(inst.instance_id, ev, lazy=True), ev)

    # -------------------------------------------------------------------------------------------- arrivals
    def _deliver(self, instance_id: str, execution_id: str, ev: dict[str, Any], *, now: bool = False) -> None:
        """A completion or external event arrived for an instance: persist it and run an episode if allowed
        (`now`: within this call, for callers that are a loop step of their own -- see `_kick`)."""
        inst = self._record(instance_id, execution_id, ev)
        if inst is not None:
            self._kick(inst, now=now)

    def _record(self, instance_id: str, execution_id: str, ev: dict[str, Any]) -> Instance | None:
        """Queue an arrived event; None when it is stale or we stopped.

        Lazily (store.py): the event reaches the disk with the next commit -- inside the history of the episode
        that consumed it first, usually in this very loop step, or as a pending row. Until then the work it
        finishes is still in flight on disk (in_flight.py), so a crash in between only means the work runs again,
        as for any work in flight. Whoever acknowledges the event to a client (raise_event) commits explicitly.
        """
        if self._stopping and not self._store_open():
            return None
        inst = self._active.get(instance_id)
        if inst is None or (execution_id and inst.execution_id != execution_id):
            return None  # the instance finished, was terminated or continued as new: drop the stale completion
        self._queue_event(inst, ev, deferred=True)
        return inst

    def _store_open(self) -> bool:
        return self.store.is_open

    def _kick(self, inst: Instance, *, now: bool = False) -> None:
        """Start the instance's episode driver unless it runs, may not run, or has nothing worth an episode.
        `now`: run an inline episode within this call rather than in the next loop step -- for callers that
        are a loop step of their own, so no caller is half-way through changing the instance."""
        if (
            inst.busy
            or self._stopping
            or inst.status not in RUNNABLE_STATUSES
            or not worth_an_episode(inst.pending, inst.book.fan_in)
        ):
            return
        if not self.versioning.accepts(inst.version):
            self._refuse_version(inst)
            return
        inst.busy = True
        self._start_episodes(inst, now=now)

    def _refuse_version(self, inst: Instance) -> None:
        """The DTFx dispatcher's versioning check failed: leave the instance as it is, or fail it."""
        if self.versioning.failure_strategy == "Fail":
            from .versioning import VERSION_MISMATCH_OUTPUT

            self._finish(inst, "Failed", json.dumps(VERSION_MISMATCH_OUTPUT))
            return
        if inst.instance_id not in self._refusals_logged:  # once per instance and host run
            self._refusals_logged.add(inst.instance_id)
            self.log.warning(
                "%s: Function '%s (Orchestrator)' not run: %s. versionFailureStrategy Reject leaves "
                "it %s until a host whose defaultVersion accepts it runs it.",
                inst.instance_id,
                inst.name,
                self.versioning.describe_refusal(inst.version),
                inst.status,
            )

    # -------------------------------------------------------------------------------------------- endings
    def _continue_as_new(self, inst: Instance, input_json: str | None) -> None:
        """Start a fresh execution with the new input; external events not yet delivered carry over."""
        self.log.info("%s: Function '%s (Orchestrator)' continued as new.", inst.instance_id, inst.name)
        self._cancel_work(inst)
        self._replace_history(inst, [])
        carried = [(row_id, ev) for row_id, ev in inst.pending if ev["EventType"] == EventType.EventRaised]
        dropped = [
            row_id for row_id, ev in inst.pending if ev["EventType"] != EventType.EventRaised and row_id is not None
        ]
        self.store.delete_pending_rows(dropped)
        inst.pending = []
        inst.execution_id = uuid.uuid4().hex
        inst.input = input_json
        inst.book = ExecutionBook(version=inst.version)
        inst.status = "Running"
        self._queue_event(inst, self._execution_started(inst))
        for row_id, ev in carried:  # keep their order after the new ExecutionStarted
            if row_id is not None:
                self.store.delete_pending_rows([row_id])
            self._queue_event(inst, ev)
        self._save(inst)
        self._save_input(inst)

    def _cancel_work(self, inst: Instance) -> None:
        """Disarm the instance's timers (activities already running finish; their results are dropped as stale)."""
        for handle in inst.timers.values():
            handle.cancel()
        inst.timers.clear()

    def _finish(self, inst: Instance, status: str, output_json: str) -> None:
        inst.status = status
        inst.output = output_json
        self._append_history(
            inst, [event(EventType.ExecutionCompleted, now_iso(), OrchestrationStatus=status, Result=output_json)]
        )
        self._cancel_work(inst)
        self.store.delete_pending(inst.instance_id)
        inst.pending = []
        if status == "Failed":  # retry loops another branch's failure cut short: a rewind resumes them (rewind.py)
            inst.book.interrupted_loops = inst.book.retries
        inst.book.retries = []
        self._save(inst)
        self._active.pop(inst.instance_id, None)
        if status == "Completed":
            self.log.info("%s: Function '%s (Orchestrator)' completed.", inst.instance_id, inst.name)
        else:
            self.log.info(
                "%s: Function '%s (Orchestrator)' %s. %s",
                inst.instance_id,
                inst.name,
                status.lower(),
                json_value(output_json),
            )
        self._notify_parent(inst)
        for future in self._waiters.pop(inst.instance_id, []):
            if not future.done():
                future.set_result(status)

    def _notify_parent(self, inst: Instance) -> None:
        parent = self._active.get(inst.parent_id or "")
        if parent is None or inst.parent_task_id is None:
            return
        if inst.status == "Completed":
            ev = event(
                EventType.SubOrchestrationInstanceCompleted,
                now_iso(),
                TaskScheduledId=inst.parent_task_id,
                Result=inst.output,
            )
        else:
            message = json_value(inst.output)
            ev = event(
                EventType.SubOrchestrationInstanceFailed,
                now_iso(),
                TaskScheduledId=inst.parent_task_id,
                Reason=message if isinstance(message, str) else json.dumps(message),
                Details=f"Sub-orchestration '{inst.instance_id}' {inst.status.lower()}.",
            )
        self._deliver(parent.instance_id, parent.execution_id, ev)
