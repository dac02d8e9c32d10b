"""When an episode is worth running: a fan-out's results join one episode instead of one each.

An episode replays the whole history through the SDK, so its cost grows with the history. In a fan-out
(`task_all` over N activities) every completion used to start an episode at once; N completions arriving
a few milliseconds apart then cost several replays, each waiting for the one before it, and the last result
waited longest. Here the engine holds back an episode that provably cannot move the orchestrator.
"""

from __future__ import annotations

from typing import Any

from ...durable_vocabulary import TASK_FAILURE_EVENTS, TASK_SUCCESS_EVENTS, ActionType, EventType


def outstanding_fan_in(
    raw_actions: list[Any], flat: list[dict[str, Any]], book: dict[str, Any], history: list[dict[str, Any]]
) -> list[int]:
    """Task ids of the `task_all` the orchestrator now waits on that have no result yet — or [] if unsure.

    Why holding back is safe: the SDK resumes the generator only when the yielded task_all has every result
    or one failure (`WhenAllTask` in the SDK), and it records an action only when the generator yields it, so the last
    top-level action is the task the generator is suspended on. An episode that only delivers successes to it
    while members still run cannot move the orchestrator. Those successes wait in `pending` (committed like
    any other event) and join the episode that the last result, a failure or any other event starts.

    The set is only computed where that reasoning is airtight: the last action is a WhenAll of plain activity
    / sub-orchestration calls, no retry loop ever allocated ids (so ids are positions in the action list),
    and no failure was ever delivered (a failed, earlier-scheduled member would have resolved the task_all
    at once and let the generator move on to re-yield an older task).
    """
    top = raw_actions[-1] if raw_actions and isinstance(raw_actions[-1], list) else raw_actions
    last = top[-1] if top else None
    if not isinstance(last, dict) or last.get("actionType") != ActionType.WhenAll:
        return []
    members = last.get("compoundActions") or []
    plain = (ActionType.CallActivity, ActionType.CallSubOrchestrator)
    if not members or any(m.get("actionType") not in plain for m in members):
        return []
    if book["retries"] or book["next_id"] != len(flat):
        return []
    ids = set(range(len(flat) - len(members), len(flat)))
    for ev in history:
        kind = ev["EventType"]
        if kind in TASK_FAILURE_EVENTS or (
            kind == EventType.EventRaised and "exceptionType" in (ev.get("Input") or "")
        ):
            return []
        if kind in TASK_SUCCESS_EVENTS:
            ids.discard(ev.get("TaskScheduledId"))
    return sorted(ids)


def worth_an_episode(inst: Any) -> bool:
    """False while every pending event is a success for the awaited task_all and some members still run."""
    if not inst.pending:
        return False
    waiting = inst.book.get("fan_in")
    if not waiting:
        return True
    arrived = set()
    for _, ev in inst.pending:
        if ev["EventType"] not in TASK_SUCCESS_EVENTS or ev.get("TaskScheduledId") not in waiting:
            return True
        arrived.add(ev["TaskScheduledId"])
    return len(arrived) >= len(waiting)
