"""History events in the shape the durable SDK replays, and their public (Durable HTTP API) rendering.

Stored events are the DTFx objects as Newtonsoft serialises them (PascalCase keys, integer `EventType`),
because that is what the SDK's orchestrator handle reads. `public_history()` converts them the way the
Durable extension's `GetDurableOrchestrationStatusAsync` does for `showHistory=true`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ...durable_vocabulary import TASK_OUTCOME_EVENTS, EventType, RuntimeStatus

Event = dict[str, Any]  # a history event as the SDK reads it: DTFx field names, `EventType` as a number

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """The timestamp format of history events and stored times (sortable as text): `%Y-%m-%dT%H:%M:%S.%fZ`.

    Built with `isoformat` rather than `strftime`: the engine stamps several events per episode, and this is
    about five times cheaper.
    """
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso_seconds(stored: str) -> str:
    """`createdTime` / `lastUpdatedTime` as the Durable HTTP API prints them: `yyyy-MM-ddTHH:mm:ssZ`."""
    if len(stored) == 27 and stored[10] == "T" and stored[-1] == "Z":  # our own format: cut, don't parse
        return stored[:19] + "Z"
    return parse_iso(stored).strftime(ISO_SECONDS)


def parse_iso(text: str) -> datetime:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def event(kind: EventType, timestamp: str, event_id: int = -1, **fields: Any) -> Event:
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": timestamp, **fields}


def child_outcome(task_id: int, child_id: str, status: str, output_json: str | None) -> Event:
    """What a sub-orchestration's end delivers to its parent: SubOrchestrationInstanceCompleted with the output, or
    SubOrchestrationInstanceFailed with the failure's message as the reason (the SDK raises it in the parent)."""
    if status == RuntimeStatus.Completed:
        return event(
            EventType.SubOrchestrationInstanceCompleted, now_iso(), TaskScheduledId=task_id, Result=output_json
        )
    message = json_value(output_json)
    return event(
        EventType.SubOrchestrationInstanceFailed,
        now_iso(),
        TaskScheduledId=task_id,
        Reason=message if isinstance(message, str) else json.dumps(message),
        Details=f"Sub-orchestration '{child_id}' {status.lower()}.",
    )


def json_value(value: Any) -> Any:
    """ParseToJToken: stored JSON text becomes its value; anything else (not text, or not JSON) stays as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def public_history(events: list[dict[str, Any]], *, show_output: bool, show_input: bool) -> list[dict[str, Any]]:
    """Render stored events like the Durable extension's showHistory output.

    Orchestrator episode markers are dropped, scheduling events are folded into their completion events
    (which gain `FunctionName` and `ScheduledTime`), `EventType` becomes its name, and results appear only
    with showHistoryOutput.
    """
    scheduled: dict[tuple[str, int], dict[str, Any]] = {}
    drop: set[int] = set()
    out: list[dict[str, Any]] = []
    for index, source in enumerate(events):
        item = dict(source)
        kind = EventType(item["EventType"])
        item["EventType"] = kind.name
        if kind in (EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated):
            scheduled[(kind.name, item["EventId"])] = {"index": index, **item}
            item.pop("Version", None)
        elif kind in TASK_OUTCOME_EVENTS:
            task = kind in (EventType.TaskCompleted, EventType.TaskFailed)
            prefix = (EventType.TaskScheduled if task else EventType.SubOrchestrationInstanceCreated).name
            origin = scheduled.get((prefix, item["TaskScheduledId"]))
            if origin is not None:
                item["ScheduledTime"] = origin["Timestamp"]
                item["FunctionName"] = origin.get("Name")
                if show_input:
                    item["Input"] = origin.get("Input")
                drop.add(origin["index"])
            item.pop("TaskScheduledId", None)
            completed = kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted)
            if completed:
                if show_output:
                    item["Result"] = json_value(item.get("Result"))
                else:
                    item.pop("Result", None)
        elif kind is EventType.ExecutionStarted:
            item["FunctionName"] = item.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                item.pop(key, None)
        elif kind is EventType.ExecutionCompleted:
            if show_output:
                item["Result"] = json_value(item.get("Result"))
            else:
                item.pop("Result", None)
        elif kind is EventType.TimerFired:
            item.pop("TimerId", None)
        elif kind in (EventType.OrchestratorStarted, EventType.OrchestratorCompleted):
            drop.add(index)
        if not show_input:
            item.pop("Input", None)
        item.pop("EventId", None)
        item.pop("IsPlayed", None)
        out.append(item)
    return [item for index, item in enumerate(out) if index not in drop]
