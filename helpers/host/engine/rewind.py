"""Rewinding a Failed instance: which history to keep, and which work to run again -- a pure function.

The Durable Task Framework rewinds by rewriting the history (TaskOrchestrationDispatcher
.ProcessRewindOrchestrationDecision): every failure event and the failed execution's completion are dropped,
everything else is kept, failed sub-orchestrations are rewound in turn, and the orchestrator replays. The
replay then waits exactly where work failed, so that work runs again while completed work is not repeated.

Where this differs from DTFx, it is because the Python SDK numbers and retries tasks itself:
- The failed task's own `TaskScheduled` event stays and the engine runs that task again with the same id
  (DTFx drops it and lets the orchestrator schedule it anew; the SDK would hand out the same id anyway).
- A `*_with_retry` loop that gave up keeps its earlier attempts; its last attempt runs once more, and the
  trailing retry timer the SDK waits for before raising is dropped. If that attempt fails again, the SDK
  raises again -- the same budget the SDK itself grants.
- Dropping that trailing timer takes one id out of the SDK's numbering: on replay every id handed out after it
  comes one earlier. The kept history and the loops are renumbered to match (`_renumber`), or the replay would
  wait for ids it no longer hands out.
- Every failure a retry loop already answered with another attempt stays (`book["retried"]`), whether the loop
  later succeeded or gave up: the replay must find that attempt failed, or it would not reach the retry timer
  and the next attempt the history holds (a non-deterministic replay).
- A retry loop still running when another branch failed the instance (`book["interrupted_loops"]`) goes on
  where it was: its failed attempts stay, as does the retry timer it was waiting for, and the loop keeps the
  attempts it has left. One that was only waiting out the interval after its last attempt is treated as a loop
  that gave up.

Work that was still running when the instance failed (a scheduled activity with no result, an unfired timer,
an unfinished child) is resumed as well, since its result was discarded with the failure. An entity call still
running then is not repeated: its answer goes to the rewound instance, whether it comes later or came while the
instance was Failed (engine.py keeps such answers).

A failure the orchestrator caught is dropped like any other, as DTFx does; if the orchestrator then went on to
other work, the replay takes the other path and the rewound instance fails as non-deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...durable_vocabulary import EventType
from .history import event


@dataclass
class RewindPlan:
    history: list[dict[str, Any]]  # the kept events, in order
    rerun: list[tuple[int, str, str | None]] = field(default_factory=list)  # (task id, activity name, input)
    timers: list[tuple[int, str]] = field(default_factory=list)  # (timer id, fireAt) to arm again
    children: list[dict[str, Any]] = field(default_factory=list)  # sub-orchestrations the parent still awaits
    retries: list[dict[str, Any]] = field(default_factory=list)  # retry loops resumed at their last attempt
    retried: list[int] = field(default_factory=list)  # failures retry loops answered (kept in the history)
    awaited_calls: set[str] = field(default_factory=set)  # request ids of entity calls with no answer yet
    next_id: int = 0


def plan_rewind(history: list[dict[str, Any]], book: dict[str, Any]) -> RewindPlan:
    """The rewound history and the work to restart for an instance whose last execution Failed."""
    loops = list(book.get("failed_loops") or [])
    interrupted = []
    for loop in book.get("interrupted_loops") or []:
        # Waiting out its last retry interval, it had already lost: it gives up when that timer fires.
        doomed = loop.get("timerId") is not None and loop["attempts"] >= loop["max"]
        (loops if doomed else interrupted).append(loop)
    keep_failures = {aid for loop in loops for aid in (loop.get("attemptIds") or [loop["taskId"]])[:-1]}
    keep_failures.update(book.get("retried") or [])
    keep_failures.update(aid for loop in interrupted for aid in (loop.get("attemptIds") or [loop["taskId"]]))
    dropped_timers = {loop["timerId"] for loop in loops if loop.get("timerId") is not None}

    scheduled: dict[int, tuple[str, str | None]] = {}
    children: dict[int, dict[str, Any]] = {}
    outcome: set[int] = set()
    timers: dict[int, str] = {}
    kept: list[dict[str, Any]] = []
    for source in history:
        kind = source["EventType"]
        if kind in (EventType.ExecutionCompleted, EventType.ExecutionFailed):
            continue
        if (
            kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
            and source.get("TaskScheduledId") not in keep_failures
        ):
            continue
        if (
            kind in (EventType.TimerCreated, EventType.TimerFired)
            and (source.get("EventId") if kind == EventType.TimerCreated else source.get("TimerId")) in dropped_timers
        ):
            continue
        ev = dict(source)
        kept.append(ev)
        if kind == EventType.TaskScheduled:
            scheduled[ev["EventId"]] = (ev.get("Name") or "", ev.get("Input"))
        elif kind == EventType.SubOrchestrationInstanceCreated:
            children[ev["EventId"]] = {
                "taskId": ev["EventId"],
                "instanceId": ev.get("InstanceId"),
                "name": ev.get("Name"),
                "input": ev.get("Input"),
                "version": ev.get("Version"),
            }
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            outcome.add(ev.get("TaskScheduledId"))
        elif kind == EventType.TimerCreated:
            timers[ev["EventId"]] = ev.get("FireAt")
        elif kind == EventType.TimerFired:
            timers.pop(ev.get("TimerId"), None)

    plan = RewindPlan(kept, next_id=int(book.get("next_id") or 0))
    plan.awaited_calls = awaited_entity_calls(kept)
    plan.rerun = [
        (task_id, name, input_json)
        for task_id, (name, input_json) in sorted(scheduled.items())
        if task_id not in outcome
    ]
    plan.children = [child for task_id, child in sorted(children.items()) if task_id not in outcome]
    plan.timers = sorted(timers.items())
    for loop in loops:
        plan.retries.append({**loop, "attempts": loop["max"], "timerId": None})
    plan.retries.extend(dict(loop) for loop in interrupted)
    plan.retried = list(book.get("retried") or [])
    return _renumber(plan, dropped_timers) if dropped_timers else plan


def awaited_entity_calls(history: list[dict[str, Any]]) -> set[str]:
    """The request ids of the entity calls (not signals) in `history` that have no answer in it."""
    calls = set()
    for ev in history:
        if ev["EventType"] == EventType.EventSent:
            try:
                message = json.loads(ev.get("Input") or "{}")
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") and not message.get("signal"):
                calls.add(message["id"])
    return calls - {ev.get("Name") for ev in history if ev["EventType"] == EventType.EventRaised}


def _renumber(plan: RewindPlan, dropped: set[int]) -> RewindPlan:
    """Close the gaps the dropped ids leave: every later id moves down by the number of dropped ids below it,
    in the history, the work to resume, the retry loops and the next id (the SDK hands them out in that order)."""
    gaps = sorted(dropped)

    def new(task_id: int | None) -> int | None:
        if task_id is None or task_id < 0:
            return task_id
        return task_id - sum(1 for gap in gaps if gap < task_id)

    for ev in plan.history:
        if ev.get("EventId", -1) >= 0:
            ev["EventId"] = new(ev["EventId"])
        for key in ("TaskScheduledId", "TimerId"):
            if key in ev:
                ev[key] = new(ev[key])
    plan.rerun = [(new(task_id), name, input_json) for task_id, name, input_json in plan.rerun]
    plan.children = [
        {**child, "taskId": new(child["taskId"]), "renumberedFrom": child["taskId"]} for child in plan.children
    ]
    plan.timers = [(new(timer_id), fire_at) for timer_id, fire_at in plan.timers]
    plan.retries = [
        {
            **loop,
            "taskId": new(loop["taskId"]),
            "timerId": new(loop.get("timerId")),
            "attemptIds": [new(aid) for aid in loop.get("attemptIds") or []],
        }
        for loop in plan.retries
    ]
    plan.retried = [new(task_id) for task_id in plan.retried]
    plan.next_id -= len(gaps)
    return plan


def rewound_event(timestamp: str, reason: str) -> dict[str, Any]:
    """The event that records the rewind (DTFx ExecutionRewound); the SDK skips event types it does not know."""
    return event(EventType.ExecutionRewound, timestamp, Reason=reason)
