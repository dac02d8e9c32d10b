"""The replay boundary: history in -> the SDK's orchestrator handle -> actions out, as plain data.

Everything here is a pure function of its arguments, so it can be tested (and read) without an engine:

    request = orchestrator_request(history_texts, new_texts, instance_id=..., input_json=..., parent_id=...)
    result  = run_orchestrator(handle, request)      # the SDK replays the user's generator
    plan    = plan_episode(result, book)              # what is new, checked against what was scheduled before

`run_orchestrator` is where the out-of-process protocol is decoded: the handle returns the orchestrator state as
JSON, or raises an exception whose text carries that state after a marker when the orchestrator failed.
`plan_episode` applies the two rules the engine must follow exactly: the action list is
cumulative, so only actions beyond those already handled are new, each taking the next sequence id; and an
action at a position already handled must match what was recorded there, or the orchestrator is
non-deterministic. The engine's `book` (book.py) is read, never changed here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .actions import describe, flatten_actions, signature
from .book import ActionSignature, ExecutionBook

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


def orchestrator_request(
    history_texts: list[str], new_texts: list[str], *, instance_id: str, input_json: str | None, parent_id: str | None
) -> str:
    """The request the Durable extension sends an orchestrator: the whole history plus the episode's new events.

    `history_texts` and `new_texts` are already-encoded events (earlier episodes' with `IsPlayed: true`), joined
    as text so an episode never re-encodes the history. Schema versions 1 + 2 select the SDK's V3 replay schema
    (with only 1 it answers schema 1, with 0 the legacy one, whose `actions` nest differently). The extension's
    timer-duration fields (`maximumShortTimerDuration`, `longRunningTimerIntervalDuration`) are left out on
    purpose: with them the SDK turns a timer longer than the maximum into a WhenAll of sub-timers; without them a
    10-day timer is one CreateTimer, as on the SDK's own Durable Task Scheduler and MSSQL paths.
    """
    is_replay = bool(history_texts)
    return (
        '{"history": [' + ", ".join(history_texts + new_texts) + "]"
        f', "input": {json.dumps(input_json)}, "instanceId": {json.dumps(instance_id)}'
        f', "isReplaying": {"true" if is_replay else "false"}, "parentInstanceId": {json.dumps(parent_id)}'
        ', "upperSchemaVersion": 1, "upperSchemaVersionNew": 2}'
    )


@dataclass
class ReplayResult:
    """What the orchestrator handle answered: its state (actions, isDone, output, ...) or why it failed."""

    state: dict[str, Any]
    error: str | None = None

    @property
    def actions(self) -> list[Any]:
        return self.state.get("actions") or []

    @property
    def done(self) -> bool:
        return bool(self.state.get("isDone")) and self.error is None


def run_orchestrator(handle: Callable[[str], str], request: str) -> ReplayResult:
    """Call the SDK's orchestrator handle (blocking; user code runs inside) and decode its answer."""
    try:
        return ReplayResult(json.loads(handle(request)))
    except Exception as exc:  # the SDK reports orchestrator failures as an exception (see module docstring)
        return failure_result(exc)


def failure_result(exc: BaseException) -> ReplayResult:
    text = str(exc)
    if OUT_OF_PROC_MARKER in text:
        message, _, data = text.partition(OUT_OF_PROC_MARKER)
        try:
            state = json.loads(data)
        except ValueError:
            return ReplayResult({}, message)
        return ReplayResult(state, str(state.get("error") or message))
    return ReplayResult({}, f"{type(exc).__name__}: {text}")


@dataclass
class EpisodePlan:
    """The engine's to-do list for one episode."""

    actions: list[dict[str, Any]]  # every id-consuming action, flattened, in the SDK's numbering order
    new: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (task id, action) to schedule
    nondeterminism: str | None = None  # the reason to fail the instance, when replay diverged


def plan_episode(result: ReplayResult, book: ExecutionBook) -> EpisodePlan:
    """Which actions are new (and their ids), or why the replay does not match the recorded history."""
    actions = flatten_actions(result.actions)
    sigs = book.signatures
    mismatch = check_determinism(sigs, actions, allow_shorter=result.error is not None)
    if mismatch is not None:
        return EpisodePlan(actions, nondeterminism=mismatch)
    next_id = book.next_id
    new = [(next_id + offset, action) for offset, action in enumerate(actions[len(sigs) :])]
    return EpisodePlan(actions, new)


def check_determinism(sigs: list[ActionSignature], actions: list[dict[str, Any]], allow_shorter: bool) -> str | None:
    """The replayed actions must match what earlier episodes scheduled (type and name, position by position).

    A shorter list is normal when the orchestrator failed part-way (it stopped yielding); otherwise it means
    an action that was scheduled is no longer produced.
    """
    for task_id, (recorded, action) in enumerate(zip(sigs, actions)):
        if recorded != signature(action):
            return (
                f"Non-Deterministic workflow detected: {recorded[0]}Event: {task_id} {recorded[0]} "
                f"{recorded[1]}; on replay the orchestrator scheduled {describe(action)} at this position "
                "instead. Was the orchestrator code changed while this instance was running?"
            )
    if len(actions) < len(sigs) and not allow_shorter:
        recorded = sigs[len(actions)]
        return (
            f"Non-Deterministic workflow detected: {recorded[0]}Event: {len(actions)} {recorded[0]} "
            f"{recorded[1]}; on replay the orchestrator no longer schedules it. Was the orchestrator code "
            "changed while this instance was running?"
        )
    return None
