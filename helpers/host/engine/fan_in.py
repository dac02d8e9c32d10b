"""When an episode is worth running: a fan-out's results join one episode instead of one each.

An episode replays the whole history through the SDK, so its cost grows with the history. In a fan-out
(`task_all` over N activities) every completion used to start an episode at once; N completions arriving
a few milliseconds apart then cost several replays, each waiting for the one before it, and the last result
waited longest. Here the engine holds back an episode that provably cannot move the orchestrator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...durable_vocabulary import TASK_FAILURE_EVENTS, TASK_SUCCESS_EVENTS, ActionType, EventType
from .history import Event


@dataclass(frozen=True)
class FanIn:
    """The `task_all` an orchestrator waits on: the task ids of its members that had no result when the episode
    ended. Persisted in the book (a list of ids), so a restart holds back the same results."""

    awaited: frozenset[int]

    def to_json(self) -> list[int]:
        return sorted(self.awaited)

    @classmethod
    def from_json(cls, task_ids: list[int]) -> FanIn | None:
        return cls(frozenset(int(task_id) for task_id in task_ids)) if task_ids else None


def outstanding_fan_in(
    raw_actions: list[Any], flat: list[dict[str, Any]], *, next_id: int, retrying: bool, history: list[Event]
) -> FanIn | None:
    """The members of the `task_all` the orchestrator now waits on that have no result yet -- or None if unsure.

    Why holding back is safe: the SDK resumes the generator only when the yielded task_all has every result
    or one failure (`WhenAllTask` in the SDK), and it records an action only when the generator yields it, so the last
    top-level action is the task the generator is suspended on. An episode that only delivers successes to it
    while members still run cannot move the orchestrator. Those successes wait in `pending` (committed like
    any other event) and join the episode that the last result, a failure or any other event starts.

    The set is only computed where that reasoning is airtight: the last action is a WhenAll of plain activity
    / sub-orchestration calls, no retry loop ever allocated ids (so ids are positions in the action list:
    `next_id` is the number of actions, and no loop is `retrying`), and no failure was ever delivered (a failed,
    earlier-scheduled member would have resolved the task_all at once and let the generator move on to re-yield
    an older task).
    """
    top = raw_actions[-1] if raw_actions and isinstance(raw_actions[-1], list) else raw_actions
    last = top[-1] if top else None
    if not isinstance(last, dict) or last.get("actionType") != ActionType.WhenAll:
        return None
    members = last.get("compoundActions") or []
    plain = (ActionType.CallActivity, ActionType.CallSubOrchestrator)
    if not members or any(m.get("actionType") not in plain for m in members):
        return None
    if retrying or next_id != len(flat):
        return None
    ids = set(range(len(flat) - len(members), len(flat)))
    for ev in history:
        kind = ev["EventType"]
        if kind in TASK_FAILURE_EVENTS or (
            kind == EventType.EventRaised and "exceptionType" in (ev.get("Input") or "")
        ):
            return None
        if kind in TASK_SUCCESS_EVENTS:
            ids.discard(ev["TaskScheduledId"])
    return FanIn(frozenset(ids)) if ids else None


def worth_an_episode(pending: Sequence[tuple[int | None, Event]], fan_in: FanIn | None) -> bool:
    """Whether an instance's pending events (row id, event) deserve an episode: not when there are none, nor while
    every one is a success for the awaited task_all and some of its members still run."""
    if not pending:
        return False
    if fan_in is None:
        return True
    arrived: set[int] = set()
    for _, ev in pending:
        if ev["EventType"] not in TASK_SUCCESS_EVENTS or ev["TaskScheduledId"] not in fan_in.awaited:
            return True
        arrived.add(ev["TaskScheduledId"])
    return len(arrived) >= len(fan_in.awaited)
