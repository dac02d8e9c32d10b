"""The orchestrator's action list: flattening it, and naming actions for the non-determinism check.

The SDK returns a cumulative, possibly nested list of actions. Every action except WaitForExternalEvent
consumes one sequence id, in depth-first order, and the SDK matches completions by those ids — so the engine
must walk the list exactly this way to predict them. `*_with_retry` calls are the exception: the SDK
allocates ids for retry timers while it processes a failure, which the engine mirrors (engine.py).
"""

from __future__ import annotations

from typing import Any

from ...durable_vocabulary import ENTITY_ACTIONS, HTTP_ACTIVITY, ActionType, EventType

_COMPOUND = (ActionType.WhenAny, ActionType.WhenAll)


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Id-consuming actions in the order the SDK numbered them."""
    flat: list[dict[str, Any]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            kind = item.get("actionType")
            if kind in _COMPOUND:
                walk(item.get("compoundActions") or [])
            elif kind != ActionType.WaitForExternalEvent:
                flat.append(item)

    walk(actions)
    return flat


def signature(action: dict[str, Any]) -> tuple[str, str]:
    """What must stay the same on replay: the kind of history event the action produced, and its name.

    This is exactly what the Durable Task Framework compares when it replays (TaskOrchestrationContext): the
    event kind, and the name of the activity or sub-orchestrator, case-insensitively. Entity calls and signals
    are recorded as EventSent named "op", so their target entity is *not* compared: an orchestrator that sends
    its second call to a different entity id on replay is not caught by the real extension either (it silently
    talks to another entity). Being stricter here would make apps fail locally that run on Azure.
    """
    kind = ActionType(action["actionType"])
    if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry, ActionType.CallHttp):
        return (EventType.TaskScheduled.name, (action.get("functionName") or HTTP_ACTIVITY).lower())
    if kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
        return (EventType.SubOrchestrationInstanceCreated.name, (action.get("functionName") or "").lower())
    if kind is ActionType.CreateTimer:
        return (EventType.TimerCreated.name, "")
    if kind in ENTITY_ACTIONS:
        return (EventType.EventSent.name, "op")
    return (kind.name, "")


def describe(action: dict[str, Any]) -> str:
    """A readable name for a replayed action in a non-determinism message."""
    kind = ActionType(action["actionType"])
    target = action.get("functionName") or action.get("instanceId") or ""
    if action.get("operation"):
        target = f"{target} operation '{action['operation']}'"
    return f"{kind.name} '{target}'" if target else kind.name
