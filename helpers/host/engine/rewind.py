"""Rewind: a Failed instance becomes a Running one with a new execution, its failures dropped from the history and
the work that failed or was cut short started again. What to keep and what to restart is rewind_plan.py's pure
decision; this module carries it out.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from ...durable_vocabulary import FINISHED_STATUSES, EventType, RuntimeStatus
from .contracts import Deliver, Log, Wake
from .dispatch import Dispatcher
from .entities import Entities
from .errors import InvalidState, NotFound, NotRunning
from .history import child_outcome, now_iso
from .instance import Instance
from .instances import Instances
from .rewind_plan import ChildToResume, plan_rewind, rewound_event
from .store import Store
from .timers import Timers


class Rewinder:
    """Rewinds Failed instances, and the failed sub-orchestrations they await."""

    def __init__(
        self,
        store: Store,
        instances: Instances,
        dispatcher: Dispatcher,
        timers: Timers,
        entities: Entities,
        deliver: Deliver,
        wake: Wake,
        log: Log,
    ) -> None:
        self._store = store
        self._instances = instances
        self._dispatcher = dispatcher
        self._timers = timers
        self._entities = entities
        self._deliver = deliver
        self._wake = wake
        self._log = log

    def rewind(self, instance_id: str, reason: str) -> Instance:
        """Rewind the Failed instance: raises NotFound, NotRunning (it Completed, was Terminated or Canceled) or
        InvalidState (it is not Failed: it still runs)."""
        record = self._store.instance(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        status = record.status
        if status in FINISHED_STATUSES and status != RuntimeStatus.Failed:  # HandleRewindInstanceRequestAsync: 410
            raise NotRunning(
                f"The instance '{instance_id}' has status {status}: only a Failed instance can be rewound."
            )
        if status != RuntimeStatus.Failed or instance_id in self._instances:  # DurableClient.RewindAsync refuses
            raise InvalidState("The rewind operation is only supported on failed orchestration instances.")
        plan = plan_rewind(self._store.history_events(instance_id), record.book)
        inst = Instance(
            instance_id=instance_id,
            name=record.name,
            execution_id=uuid.uuid4().hex,
            status=RuntimeStatus.Running,
            input=record.input,
            created=record.created,
            updated=record.created,
            parent_id=record.parent_id,
            parent_task_id=record.parent_task_id,
            custom_status=record.custom_status,
            book=replace(
                record.book,
                retries=plan.retries,
                failed_loops=[],
                interrupted_loops=[],
                retried=plan.retried,
                next_id=plan.next_id,
                fan_in=None,
            ),
        )
        self._instances.activate(inst)
        kept = [ev for _, ev in self._store.pending_events(instance_id)]  # answers kept while it was Failed
        self._store.delete_pending(instance_id)
        self._instances.replace_history(inst, plan.history)
        self._instances.queue_event(inst, rewound_event(now_iso(), reason))
        for answer in kept:
            if answer["EventType"] == EventType.EventRaised and answer["Name"] in plan.awaited_calls:
                self._instances.queue_event(inst, answer)
        if plan.awaited_calls:
            self._entities.redirect(instance_id, plan.awaited_calls, inst.execution_id)
        self._instances.save(inst)
        self._log.info(
            "%s: Function '%s (Orchestrator)' rewound. Reason: %s. Work running again: %d task(s), "
            "%d sub-orchestration(s).",
            instance_id,
            inst.name,
            reason,
            len(plan.rerun),
            len(plan.children),
        )
        for task_id, activity, activity_input in plan.rerun:
            self._dispatcher.run_activity(inst, task_id, activity, activity_input)
        for timer_id, fire_at in plan.timers:
            self._timers.arm(inst, timer_id, fire_at)
        for child in plan.children:
            self._resume_child(inst, child, reason)
        self._wake(inst)
        return inst

    def _resume_child(self, inst: Instance, child: ChildToResume, reason: str) -> None:
        """A sub-orchestration the rewound parent still awaits: rewind it, report it, or start it again."""
        child_id, task_id = child.instance_id, child.task_id
        if child.renumbered_from not in (None, task_id):  # rewind_plan.py `_renumber`: it reports under its new id
            self._store.set_parent_task_id(child_id, inst.instance_id, task_id)
            running = self._instances.get(child_id)
            if running is not None and running.parent_id == inst.instance_id:
                running.parent_task_id = task_id
        if child_id in self._instances:
            return  # still running: it reports to the parent when it ends
        outcome = self._store.child_outcome(child_id, inst.instance_id)
        if outcome is None:
            self._dispatcher.launch_child(inst, task_id, child.name, child_id, child.input, child.version)
        elif outcome[0] == RuntimeStatus.Failed:
            self.rewind(child_id, reason)
        else:
            status, output = outcome
            self._deliver(inst.instance_id, inst.execution_id, child_outcome(task_id, child_id, status, output))
