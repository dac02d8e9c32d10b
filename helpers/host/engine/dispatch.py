"""Dispatch: turning a new action into its scheduling event and real work -- activities, durable HTTP calls,
timers, retry loops, sub-orchestrations and entity messages.

A mixin of DurableEngine. The scheduling event is the durable record of the work: it joins the history in the
episode's commit, and the work itself begins only after that commit (activities: ActivityRunner; a timer only
fires into a later step). After `kill -9` the next start finds the work still in flight from the history and the
pending events alone (in_flight.py) and starts it again (engine._resume_instances).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

from ...durable_vocabulary import HTTP_ACTIVITY, TASK_OUTCOME_EVENTS, TASK_SUCCESS_EVENTS, ActionType, EventType
from .activities import ActivityRun
from .book import RetryKind, RetryLoop
from .errors import UnknownFunction
from .history import event, iso, now_iso, parse_iso, utcnow
from .http_calls import request_from_action
from .instance import Instance
from .instances import unknown_function

Outcome = tuple[str, Any] | None  # ("continue", input) | ("fail", message) | None


class WorkDispatcher:
    def _schedule(self, inst: Instance, action: dict[str, Any], task_id: int, made: list[dict[str, Any]]) -> Outcome:
        """Start the work for one new action and record its scheduling event in `made`."""
        kind = ActionType(action["actionType"])
        if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
            name, input_json = action["functionName"], action.get("input")
            made.append(event(EventType.TaskScheduled, now_iso(), task_id, Name=name, Version="", Input=input_json))
            self._queue_activity(inst, task_id, name, input_json)
            if kind is ActionType.CallActivityWithRetry:
                self._track_retry(inst, "activity", action, task_id)
        elif kind is ActionType.CallHttp:
            input_json = request_from_action(action)
            made.append(
                event(EventType.TaskScheduled, now_iso(), task_id, Name=HTTP_ACTIVITY, Version="", Input=input_json)
            )
            self._queue_activity(inst, task_id, HTTP_ACTIVITY, input_json)
        elif kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
            if (action.get("instanceId") or "").startswith("@"):  # DurableOrchestrationContext refuses it
                return (
                    "fail",
                    f"Orchestrator function '{inst.name}' failed: instanceId (Parameter 'Orchestration "
                    "instance ids must not start with @')",
                )
            child_id = self._start_child(inst, action, task_id, made)
            if kind is ActionType.CallSubOrchestratorWithRetry:
                self._track_retry(inst, "suborchestration", action, task_id, child_id)
        elif kind is ActionType.CreateTimer:
            fire_at = action["fireAt"]
            made.append(event(EventType.TimerCreated, now_iso(), task_id, FireAt=fire_at))
            self._arm_timer(inst, task_id, fire_at)
        elif kind in (ActionType.CallEntity, ActionType.SignalEntity):
            return self._send_to_entity(inst, action, task_id, made, signal=kind is ActionType.SignalEntity)
        elif kind is ActionType.ContinueAsNew:
            return ("continue", action.get("input"))
        else:
            return (
                "fail",
                f"Orchestrator function '{inst.name}' failed: the action {kind.name} is not supported "
                "by the embedded host.",
            )
        return None

    # ---- activities and durable HTTP calls -----------------------------------------------------------------
    def _queue_activity(self, inst: Instance, task_id: int, name: str, input_json: str | None) -> None:
        """Run the activity once the commit that holds its TaskScheduled event is done (ActivityRunner.start)."""
        self.activities.start(ActivityRun(inst.instance_id, inst.execution_id, task_id, name, input_json))

    # ---- timers ------------------------------------------------------------------------------------------
    def _arm_timer(self, inst: Instance, task_id: int, fire_at: str) -> None:
        """Fire TimerFired at `fire_at` (its TimerCreated event is in the history, or joins it in this step)."""
        when = parse_iso(fire_at).timestamp()
        delay = max(0.0, when - time.time())
        instance_id, execution_id = inst.instance_id, inst.execution_id
        loop = asyncio.get_running_loop()

        def fire() -> None:
            remaining = when - time.time()
            if remaining > 0:  # loop timers may run a little early (uvloop counts milliseconds): never fire early
                inst.timers[task_id] = loop.call_later(remaining + 0.0005, fire)
                return
            inst.timers.pop(task_id, None)
            self._deliver(
                instance_id,
                execution_id,  # a loop step of its own: the episode runs in it (_kick)
                event(EventType.TimerFired, now_iso(), TimerId=task_id, FireAt=fire_at),
                now=True,
            )

        inst.timers[task_id] = loop.call_later(delay, fire)

    # ---- retries -----------------------------------------------------------------------------------------
    def _track_retry(
        self, inst: Instance, kind: RetryKind, action: dict[str, Any], task_id: int, child_id: str | None = None
    ) -> None:
        inst.book.retries.append(RetryLoop.begin(kind, action, task_id, child_id))

    def _advance_retries(self, inst: Instance, ev: dict[str, Any], made: list[dict[str, Any]]) -> None:
        """Mirror the SDK's RetryAbleTask: a failure allocates a timer id, the timer allocates the next attempt."""
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
                self._arm_timer(inst, timer_id, fire_at)
                loop.timer_id = timer_id
            elif kind == EventType.TimerFired and ev["TimerId"] == loop.timer_id:
                if loop.out_of_attempts:
                    book.retries.remove(loop)  # the SDK now raises the last failure into the orchestrator
                    book.failed_loops.append(loop)  # kept for a rewind
                    continue
                loop.timer_id = None
                loop.attempts += 1
                book.retried.append(loop.task_id)  # a failure the loop answered (rewind.py)
                task_id = book.take_id()
                loop.task_id = task_id
                loop.attempt_ids.append(task_id)
                self.log.info(
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
                    self._queue_activity(inst, task_id, loop.name, loop.input)
                else:
                    action = {
                        "functionName": loop.name,
                        "input": loop.input,
                        "instanceId": loop.instance_id,
                        "version": loop.version,
                    }
                    loop.child_id = self._start_child(inst, action, task_id, made)

    # ---- sub-orchestrations ------------------------------------------------------------------------------
    def _start_child(self, inst: Instance, action: dict[str, Any], task_id: int, made: list[dict[str, Any]]) -> str:
        name, input_json = action["functionName"], action.get("input")
        child_id = action.get("instanceId") or uuid.uuid4().hex
        # The child's version: the one the orchestrator named, else this host's defaultVersion (as the extension
        # does -- not the parent's own version).
        version = action.get("version")
        if version is None:
            version = self.versioning.default_version
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
        self._launch_child(inst, task_id, name, child_id, input_json, version)
        return child_id

    def _launch_child(
        self, inst: Instance, task_id: int, name: str, child_id: str, input_json: str | None, version: str | None
    ) -> None:
        fn = self.registry.orchestrator(name)
        reason = None
        if fn is None:
            reason = unknown_function(name, "orchestrator")
        elif child_id in self._active:
            reason = f"An orchestration with instance id '{child_id}' is already running."
        if reason is not None:
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
        self._create_instance(fn.name, child_id, input_json, parent=(inst.instance_id, task_id), version=version)

    # ---- entities ----------------------------------------------------------------------------------------
    def _send_to_entity(
        self, inst: Instance, action: dict[str, Any], task_id: int, made: list[dict[str, Any]], *, signal: bool
    ) -> Outcome:
        assert self.entities is not None
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
            self.entities.enqueue(
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
                return ("fail", f"Orchestrator function '{inst.name}' failed: {exc}")
            payload = {"result": json.dumps(str(exc)), "exceptionType": "EntityNotFound"}
            self._deliver(
                inst.instance_id,
                inst.execution_id,
                event(EventType.EventRaised, now_iso(), Name=request_id, Input=json.dumps(payload)),
            )
        return None
