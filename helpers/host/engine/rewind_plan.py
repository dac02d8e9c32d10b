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
- Every failure a retry loop already answered with another attempt stays (the book's `retried`), whether the loop
  later succeeded or gave up: the replay must find that attempt failed, or it would not reach the retry timer
  and the next attempt the history holds (a non-deterministic replay).
- A retry loop still running when another branch failed the instance (the book's `interrupted_loops`) goes on
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
from dataclasses import dataclass, field, replace

from ...durable_vocabulary import TASK_FAILURE_EVENTS, TASK_OUTCOME_EVENTS, EventType
from .book import ExecutionBook, RetryLoop
from .history import Event, event


@dataclass(frozen=True)
class ChildToResume:
    """A sub-orchestration the rewound parent still awaits (client.py rewinds it, reports it or starts it again)."""

    task_id: int  # the id the parent awaits it under (after renumbering)
    instance_id: str
    name: str
    input: str | None
    version: str | None
    renumbered_from: int | None = None  # the id it reported under before the rewind, when that changed


@dataclass
class RewindPlan:
    history: list[Event]  # the kept events, in order
    rerun: list[tuple[int, str, str | None]] = field(default_factory=list)  # (task id, activity name, input)
    timers: list[tuple[int, str]] = field(default_factory=list)  # (timer id, fireAt) to arm again
    children: list[ChildToResume] = field(default_factory=list)  # sub-orchestrations the parent still awaits
    retries: list[RetryLoop] = field(default_factory=list)  # retry loops resumed at their last attempt
    retried: list[int] = field(default_factory=list)  # failures retry loops answered (kept in the history)
    awaited_calls: set[str] = field(default_factory=set)  # request ids of entity calls with no answer yet
    next_id: int = 0


def plan_rewind(history: list[Event], book: ExecutionBook) -> RewindPlan:
    """The rewound history and the work to restart for an instance whose last execution Failed."""
    loops = list(book.failed_loops)
    interrupted: list[RetryLoop] = []
    for loop in book.interrupted_loops:
        # Waiting out its last retry interval, it had already lost: it gives up when that timer fires.
        doomed = loop.timer_id is not None and loop.out_of_attempts
        (loops if doomed else interrupted).append(loop)
    keep_failures = {aid for loop in loops for aid in loop.attempt_ids[:-1]}
    keep_failures.update(book.retried)
    keep_failures.update(aid for loop in interrupted for aid in loop.attempt_ids)
    dropped_timers = {loop.timer_id for loop in loops if loop.timer_id is not None}

    scheduled: dict[int, tuple[str, str | None]] = {}
    children: dict[int, ChildToResume] = {}
    outcome: set[int] = set()
    timers: dict[int, str] = {}
    kept: list[Event] = []
    for source in history:
        kind = source["EventType"]
        if kind in (EventType.ExecutionCompleted, EventType.ExecutionFailed):
            continue
        if kind in TASK_FAILURE_EVENTS and source["TaskScheduledId"] not in keep_failures:
            continue
        if kind == EventType.TimerCreated and source["EventId"] in dropped_timers:
            continue
        if kind == EventType.TimerFired and source["TimerId"] in dropped_timers:
            continue
        ev = dict(source)
        kept.append(ev)
        if kind == EventType.TaskScheduled:
            scheduled[ev["EventId"]] = (ev.get("Name") or "", ev.get("Input"))
        elif kind == EventType.SubOrchestrationInstanceCreated:
            children[ev["EventId"]] = ChildToResume(
                ev["EventId"], ev["InstanceId"], ev["Name"], ev.get("Input"), ev.get("Version")
            )
        elif kind in TASK_OUTCOME_EVENTS:
            outcome.add(ev["TaskScheduledId"])
        elif kind == EventType.TimerCreated:
            timers[ev["EventId"]] = ev["FireAt"]
        elif kind == EventType.TimerFired:
            timers.pop(ev["TimerId"], None)

    plan = RewindPlan(kept, next_id=book.next_id)
    plan.awaited_calls = awaited_entity_calls(kept)
    plan.rerun = [
        (task_id, name, input_json)
        for task_id, (name, input_json) in sorted(scheduled.items())
        if task_id not in outcome
    ]
    plan.children = [child for task_id, child in sorted(children.items()) if task_id not in outcome]
    plan.timers = sorted(timers.items())
    for loop in loops:
        plan.retries.append(replace(loop, attempts=loop.max_attempts, timer_id=None))
    plan.retries.extend(replace(loop) for loop in interrupted)
    plan.retried = list(book.retried)
    return _renumber(plan, dropped_timers) if dropped_timers else plan


def awaited_entity_calls(history: list[Event]) -> set[str]:
    """The request ids of the entity calls (not signals) in `history` that have no answer in it."""
    calls: set[str] = set()
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

    def new(task_id: int) -> int:
        if task_id < 0:
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
        replace(child, task_id=new(child.task_id), renumbered_from=child.task_id) for child in plan.children
    ]
    plan.timers = [(new(timer_id), fire_at) for timer_id, fire_at in plan.timers]
    plan.retries = [
        replace(
            loop,
            task_id=new(loop.task_id),
            timer_id=None if loop.timer_id is None else new(loop.timer_id),
            attempt_ids=[new(aid) for aid in loop.attempt_ids],
        )
        for loop in plan.retries
    ]
    plan.retried = [new(task_id) for task_id in plan.retried]
    plan.next_id -= len(gaps)
    return plan


def rewound_event(timestamp: str, reason: str) -> Event:
    """The event that records the rewind (DTFx ExecutionRewound); the SDK skips event types it does not know."""
    return event(EventType.ExecutionRewound, timestamp, Reason=reason)
