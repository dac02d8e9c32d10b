"""Dispatch: turning a new action into its scheduling event and real work -- activities, durable HTTP calls,
timers, retry loops, sub-orchestrations and entity messages.

The scheduling event is the durable record of the work: it joins the history in the episode's commit, and the
work itself begins only after that commit (activities: ActivityRunner; a timer only fires into a later step).
After `kill -9` the next start finds the work still in flight from the history and the pending events alone
(in_flight.py) and starts it again (DurableEngine.start).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ...durable_vocabulary import HTTP_ACTIVITY, TASK_OUTCOME_EVENTS, TASK_SUCCESS_EVENTS, ActionType, EventType
from ..registry import Registry
from .activities import ActivityRun, ActivityRunner
from .book import RetryKind, RetryLoop
from .contracts import Deliver, Log, ParentLink, StartInstance
from .entities import Entities
from .errors import UnknownFunction, unknown_function_message
from .history import Event, event, iso, now_iso, utcnow
from .http_calls import request_from_action
from .instance import Instance
from .instances import Instances
from .timers import Timers
from .versioning import Versioning


@dataclass(frozen=True)
class ContinueAsNew:
    """The orchestrator asked to start over with this input (the episode ends the execution)."""

    input: str | None


@dataclass(frozen=True)
class FailOrchestration:
    """The action cannot be carried out: the orchestration fails with this reason."""

    reason: str


Outcome = ContinueAsNew | FailOrchestration | None  # None: the work is under way


class Dispatcher:
    """Starts the work an episode's new actions ask for, and the next attempt of a retry loop."""

    def __init__(
        self,
        registry: Registry,
        versioning: Versioning,
        instances: Instances,
        activities: ActivityRunner,
        entities: Entities,
        timers: Timers,
        deliver: Deliver,
        start_instance: StartInstance,
        log: Log,
    ) -> None:
        self._registry = registry
        self._versioning = versioning
        self._instances = instances
        self._activities = activities
        self._entities = entities
        self._timers = timers
        self._deliver = deliver
        self._start_instance = start_instance
        self._log = log

    def schedule(self, inst: Instance, action: dict[str, Any], task_id: int, made: list[Event]) -> Outcome:
        """Start the work for one new action and record its scheduling event in `made`."""
        kind = ActionType(action["actionType"])
        if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
            name, input_json = action["functionName"], action.get("input")
            made.append(event(EventType.TaskScheduled, now_iso(), task_id, Name=name, Version="", Input=input_json))
            self.run_activity(inst, task_id, name, input_json)
            if kind is ActionType.CallActivityWithRetry:
                self._track_retry(inst, "activity", action, task_id)
        elif kind is ActionType.CallHttp:
            input_json = request_from_action(action)
            made.append(
                event(EventType.TaskScheduled, now_iso(), task_id, Name=HTTP_ACTIVITY, Version="", Input=input_json)
            )
            self.run_activity(inst, task_id, HTTP_ACTIVITY, input_json)
        elif kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
            if (action.get("instanceId") or "").startswith("@"):  # DurableOrchestrationContext refuses it
                return FailOrchestration(
                    f"Orchestrator function '{inst.name}' failed: instanceId (Parameter 'Orchestration "
                    "instance ids must not start with @')"
                )
            child_id = self._start_child(inst, action, task_id, made)
            if kind is ActionType.CallSubOrchestratorWithRetry:
                self._track_retry(inst, "suborchestration", action, task_id, child_id)
        elif kind is ActionType.CreateTimer:
            fire_at = action["fireAt"]
            made.append(event(EventType.TimerCreated, now_iso(), task_id, FireAt=fire_at))
            self._timers.arm(inst, task_id, fire_at)
        elif kind in (ActionType.CallEntity, ActionType.SignalEntity):
            return self._send_to_entity(inst, action, task_id, made, signal=kind is ActionType.SignalEntity)
        elif kind is ActionType.ContinueAsNew:
            return ContinueAsNew(action.get("input"))
        else:
            return FailOrchestration(
                f"Orchestrator function '{inst.name}' failed: the action {kind.name} is not supported "
                "by the embedded host."
            )
        return None

    # ---- activities and durable HTTP calls -----------------------------------------------------------------
    def run_activity(self, inst: Instance, task_id: int, name: str, input_json: str | None) -> None:
        """Run the activity once the commit that holds its TaskScheduled event is done (ActivityRunner.start)."""
        self._activities.start(ActivityRun(inst.instance_id, inst.execution_id, task_id, name, input_json))

    # ---- retries -----------------------------------------------------------------------------------------
    def _track_retry(
        self, inst: Instance, kind: RetryKind, action: dict[str, Any], task_id: int, child_id: str | None = None
    ) -> None:
        inst.book.retries.append(RetryLoop.begin(kind, action, task_id, child_id))

    def advance_retries(self, inst: Instance, ev: Event, made: list[Event]) -> None:
        """Mirror the SDK's RetryAbleTask for one delivered event: a failed attempt allocates a retry timer's id,
        the fired timer the next attempt's; their scheduling events go to `made`."""
        book = inst.book
        kind = ev["EventType"]
        for loop in list(book.retries):
            attempt_ended = kind in TASK_OUTCOME_EVENTS and ev["TaskScheduledId"] == loop.task_id
            if attempt_ended and loop.timer_id is None and kind in TASK_SUCCESS_EVENTS:
                book.retries.remove(loop)
            elif attempt_ended and loop.timer_id is None:  # the attempt failed: wait out the interval
                timer_id = book.take_id()
                fire_at = iso(utcnow() + timedelta(milliseconds=loop.interval_ms))
                made.append(event(EventType.TimerCreated, now_iso(), timer_id, FireAt=fire_at))
                self._timers.arm(inst, timer_id, fire_at)
                loop.timer_id = timer_id
            elif kind == EventType.TimerFired and ev["TimerId"] == loop.timer_id:
                if loop.out_of_attempts:
                    book.retries.remove(loop)  # the SDK now raises the last failure into the orchestrator
                    book.failed_loops.append(loop)  # kept for a rewind
                    continue
                loop.timer_id = None
                loop.attempts += 1
                book.retried.append(loop.task_id)  # a failure the loop answered (rewind_plan.py)
                task_id = book.take_id()
                loop.task_id = task_id
                loop.attempt_ids.append(task_id)
                self._log.info(
                    "%s: retrying '%s', attempt %d of %d.",
                    inst.instance_id,
                    loop.name,
                    loop.attempts,
                    loop.max_attempts,
                )
                if loop.kind == "activity":
                    made.append(
                        event(EventType.TaskScheduled, now_iso(), task_id, Name=loop.name, Version="", Input=loop.input)
                    )
                    self.run_activity(inst, task_id, loop.name, loop.input)
                else:
                    action = {
                        "functionName": loop.name,
                        "input": loop.input,
                        "instanceId": loop.instance_id,
                        "version": loop.version,
                    }
                    loop.child_id = self._start_child(inst, action, task_id, made)

    # ---- sub-orchestrations ------------------------------------------------------------------------------
    def _start_child(self, inst: Instance, action: dict[str, Any], task_id: int, made: list[Event]) -> str:
        name, input_json = action["functionName"], action.get("input")
        child_id = action.get("instanceId") or uuid.uuid4().hex
        # The child's version: the one the orchestrator named, else this host's defaultVersion (as the extension
        # does -- not the parent's own version).
        version = action.get("version")
        if version is None:
            version = self._versioning.default_version
        made.append(
            event(
                EventType.SubOrchestrationInstanceCreated,
                now_iso(),
                task_id,
                Name=name,
                Version=version,
                InstanceId=child_id,
                Input=input_json,
            )
        )
        self.launch_child(inst, task_id, name, child_id, input_json, version)
        return child_id

    def launch_child(
        self, inst: Instance, task_id: int, name: str, child_id: str, input_json: str | None, version: str | None
    ) -> None:
        """Start the sub-orchestration `inst` awaits as `task_id`, or fail that task when it cannot start."""
        fn = self._registry.orchestrator(name)
        reason = None
        if fn is None:
            reason = unknown_function_message(name, "orchestrator")
        elif child_id in self._instances:
            reason = f"An orchestration with instance id '{child_id}' is already running."
        if fn is None or reason is not None:
            self._deliver(
                inst.instance_id,
                inst.execution_id,
                event(
                    EventType.SubOrchestrationInstanceFailed,
                    now_iso(),
                    TaskScheduledId=task_id,
                    Reason=reason,
                    Details="",
                ),
            )
            return
        self._start_instance(
            fn.name, child_id, input_json, parent=ParentLink(inst.instance_id, task_id), version=version
        )

    # ---- entities ----------------------------------------------------------------------------------------
    def _send_to_entity(
        self, inst: Instance, action: dict[str, Any], task_id: int, made: list[Event], *, signal: bool
    ) -> Outcome:
        eid, operation = action["instanceId"], action["operation"]
        input_json = action.get("input")
        request_id = str(uuid.uuid4())
        message: dict[str, Any] = {"op": operation, "input": input_json, "id": request_id, "parent": inst.instance_id}
        if signal:
            message["signal"] = True
        made.append(
            event(EventType.EventSent, now_iso(), task_id, InstanceId=eid, Name="op", Input=json.dumps(message))
        )
        try:
            self._entities.enqueue(
                eid,
                operation,
                input_json,
                signal=signal,
                caller=None if signal else inst.instance_id,
                caller_execution=inst.execution_id,
                request_id=request_id,
            )
        except UnknownFunction as exc:
            if signal:
                return FailOrchestration(f"Orchestrator function '{inst.name}' failed: {exc}")
            payload = {"result": json.dumps(str(exc)), "exceptionType": "EntityNotFound"}
            self._deliver(
                inst.instance_id,
                inst.execution_id,
                event(EventType.EventRaised, now_iso(), Name=request_id, Input=json.dumps(payload)),
            )
        return None
