"""Work in flight: what an instance has scheduled and not yet seen finish -- what a restart must start again.

The history is the record, as in the Durable Task Framework: an activity or durable HTTP call is scheduled by its
`TaskScheduled` event and finished by a `TaskCompleted` or `TaskFailed` naming it (`TaskScheduledId`); a durable
timer is created by `TimerCreated` and finished by `TimerFired` (`TimerId`). A scheduling event is committed by
the episode that made the decision, in the same transaction, before the work may begin (ActivityRunner starts it
after that commit); a finishing event is committed into the history by the episode that consumed it, or into
`pending` when no episode could take it yet. So after `kill -9` the work in flight is exactly the scheduled
work with no finishing event in the history or in `pending` -- derived here, with nothing else to keep in step.

A pure function of the events, so the engine's start-up, the benchmark's kill -9 rounds and the tests read
"in flight" the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...durable_vocabulary import EventType


@dataclass(frozen=True)
class ScheduledTask:
    """An activity (or a durable HTTP call, `BuiltIn::HttpActivity`) scheduled without a result yet."""

    task_id: int
    name: str
    input_json: str | None


@dataclass(frozen=True)
class ArmedTimer:
    """A durable timer created and not fired yet."""

    timer_id: int
    fire_at: str


@dataclass
class InFlight:
    tasks: list[ScheduledTask]
    timers: list[ArmedTimer]


def work_in_flight(events: Iterable[dict[str, Any]]) -> InFlight:
    """The unfinished work among `events`: an instance's history followed by its pending events, in order."""
    tasks: dict[int, ScheduledTask] = {}
    timers: dict[int, ArmedTimer] = {}
    for ev in events:
        kind = ev["EventType"]
        if kind == EventType.TaskScheduled:
            tasks[ev["EventId"]] = ScheduledTask(ev["EventId"], ev["Name"], ev.get("Input"))
        elif kind in (EventType.TaskCompleted, EventType.TaskFailed):
            tasks.pop(ev["TaskScheduledId"], None)
        elif kind == EventType.TimerCreated:
            timers[ev["EventId"]] = ArmedTimer(ev["EventId"], ev["FireAt"])
        elif kind == EventType.TimerFired:
            timers.pop(ev["TimerId"], None)
    return InFlight(sorted(tasks.values(), key=lambda t: t.task_id), sorted(timers.values(), key=lambda t: t.timer_id))
