"""Readable views of what Durable Functions stores: history events, agent conversations, replay episodes.

Everything here is a pure function of JSON the public Durable Functions HTTP API returns (or of host log
lines), so it works the same against the embedded host and a real `func start`. The views are `Table`s:
a list of row dicts with fixed columns that prints as plain text and renders as HTML in JupyterLab. Columns
never hold raw timestamps, so a notebook's stored output stays comparable from run to run.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from ..durable_vocabulary import (
    SCHEDULING_EVENTS,
    TASK_FAILURE_EVENTS,
    TASK_OUTCOME_EVENTS,
    EventType,
    event_type_name,
    parse_entity_id,
)

EXCERPT_CHARS = 60


# ------------------------------------------------------------------------------------------------- Table


@dataclass
class Table(Sequence[dict[str, Any]]):
    """Rows with fixed columns: index it like a list, print it, or let Jupyter render it as HTML."""

    columns: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    url_columns: tuple[str, ...] = ()  # URLs: lines break only after / ? & (never inside a word), copied whole

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def column(self, name: str) -> list[Any]:
        """All values of one column, e.g. `history.column("event")`."""
        if name not in self.columns:
            raise KeyError(f"No column {name!r}; the columns are {', '.join(self.columns)}")
        return [row.get(name) for row in self.rows]

    def where(self, **equals: Any) -> Table:
        """The rows whose columns equal the given values, e.g. `history.where(event="TaskCompleted")`."""
        kept = [row for row in self.rows if all(row.get(key) == value for key, value in equals.items())]
        return Table(self.columns, kept, self.title, self.url_columns)

    def select(self, *columns: str) -> Table:
        """The same rows with only some columns, e.g. to leave out a column whose order varies run to run."""
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise KeyError(f"No column {unknown[0]!r}; the columns are {', '.join(self.columns)}")
        rows = [{c: row.get(c) for c in columns} for row in self.rows]
        return Table(tuple(columns), rows, self.title, tuple(c for c in self.url_columns if c in columns))

    def __repr__(self) -> str:
        cells = [[_cell(row.get(column)) for column in self.columns] for row in self.rows]
        widths = [max([len(column)] + [len(line[i]) for line in cells]) for i, column in enumerate(self.columns)]

        def line(values: Sequence[str]) -> str:
            return "  ".join(value.ljust(width) for value, width in zip(values, widths)).rstrip()

        lines = [self.title] if self.title else []
        lines.append(line(self.columns))
        lines.append(line(["-" * width for width in widths]))
        lines.extend(line(values) for values in cells)
        if not self.rows:
            lines.append("(no rows)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """An HTML table that fits the output area and is never read as LaTeX.

        `mathjax_ignore` / `tex2jax_ignore` stop JupyterLab's MathJax from typesetting text between two `$`
        signs (shell variables in a setting's value). Cells wrap at spaces; values longer than
        `BREAK_ANYWHERE_CHARS` may also break inside a word (connection strings, long names), so the table can
        shrink to the output's width instead of being cut off. `url_columns` are the exception: a URL breaks only
        after a `/`, `?` or `&` (`<wbr>`), never inside a word, and selecting it copies it whole.
        """
        head = "".join(f"<th style='{_CELL_STYLE}'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(
                _html_url_cell(_cell(row.get(c))) if _is_url_cell(self, c, row) else _html_cell(_cell(row.get(c)))
                for c in self.columns
            )
            + "</tr>"
            for row in self.rows
        )
        caption = f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>" if self.title else ""
        return (
            f"<table class='mathjax_ignore tex2jax_ignore' style='max-width:100%'>"
            f"{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


BREAK_ANYWHERE_CHARS = 40
_CELL_STYLE = "text-align:left;white-space:normal"


def _html_cell(text: str) -> str:
    style = _CELL_STYLE + (";overflow-wrap:anywhere;word-break:break-word" if len(text) > BREAK_ANYWHERE_CHARS else "")
    return f"<td style='{style}'>{html.escape(text)}</td>"


def _is_url_cell(table: Table, column: str, row: dict[str, Any]) -> bool:
    """A value of a `url_columns` column with no space in it (text with spaces wraps at its spaces as usual)."""
    return column in table.url_columns and not re.search(r"\s", _cell(row.get(column)))


_URL_BREAK = re.compile(r"(?<=[^/]/)(?!/)|(?<=[?&])")  # after a single /, a ? or an &: where a URL may break


def _html_url_cell(text: str) -> str:
    """A URL in `<code>` that may break only where `<wbr>` allows; `<wbr>` adds no character to a copy."""
    parts = _URL_BREAK.split(text)
    code = "<wbr>".join(html.escape(part) for part in parts)
    style = "white-space:normal;overflow-wrap:normal;word-break:keep-all"
    return f"<td style='{_CELL_STYLE}'><code class='kit-url' style='{style}'>{code}</code></td>"


def fields_table(fields: dict[str, Any], title: str = "") -> Table:
    """One row per field of a JSON object (a `202 Accepted` body, a request): values whole, on one line each.

    For URLs: JupyterLab wraps a long printed line wherever it hits the edge, mid-word; here a URL breaks only
    after a `/`, `?` or `&`, and reads and copies whole.
    """
    rows = [
        {"field": name, "value": value if isinstance(value, str) else json.dumps(value)}
        for name, value in fields.items()
    ]
    return Table(("field", "value"), rows, title, url_columns=("value",))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def excerpt(text: Any, limit: int = EXCERPT_CHARS) -> str:
    """One line, at most `limit` characters, with an ellipsis when cut.

    The cut falls after a whole word when one ends in the last third of the budget, so a table never shows
    a half word ("the steady step mo…") that reads like a typo.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False, sort_keys=True)
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if flat[limit - 1] != " ":  # the cut splits a word: end at the previous space instead, if one is near
        space = cut.rfind(" ")
        if space >= (limit * 2) // 3:
            cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


# ------------------------------------------------------------------------------------------- JSON helpers


def decode_nested(value: Any, depth: int = 5) -> Any:
    """Undo JSON-in-a-string layers.

    Durable Functions stores results as JSON text, and an entity's reply to an orchestrator is JSON text
    inside JSON (`{"result": "<json>"}`), so a value may be wrapped two or three times.
    """
    for _ in range(depth):
        if not isinstance(value, str):
            break
        stripped = value.strip()
        if not stripped or stripped[0] not in '{["':
            break
        try:
            value = json.loads(stripped)
        except ValueError:
            break
    if isinstance(value, dict):
        return {key: decode_nested(item, depth) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_nested(item, depth) for item in value]
    return value


def agent_text(value: Any) -> str | None:
    """The text of an agent response (`AgentResponse.to_dict()`), or None when `value` is not one."""
    value = decode_nested(value)
    if isinstance(value, dict) and "result" in value and len(value) <= 2:
        value = value["result"]
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        texts = [
            content.get("text", "")
            for message in value["messages"]
            if isinstance(message, dict)
            for content in message.get("contents") or []
            if isinstance(content, dict)
            if content.get("type", content.get("$type")) == "text"
        ]
        # Structured output arrives as text that held JSON, which decode_nested has turned into a value.
        return " ".join(t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in texts if t)
    return None


# ----------------------------------------------------------------------------------------------- history

HISTORY_COLUMNS = ("#", "event", "name", "task id", "detail")
_FAILURE_NAMES = frozenset(kind.name for kind in (*TASK_FAILURE_EVENTS, EventType.ExecutionFailed))


def event_type(event: dict[str, Any]) -> str:
    """The event's type by name, whether the host sent the number (as stored) or the name (the Durable HTTP API)."""
    return event_type_name(event.get("EventType", event.get("eventType")))


def history_rows(events: Iterable[dict[str, Any]], *, timestamps: bool = False) -> Table:
    """One row per history event: its type, the function or entity it concerns, its task id, a detail.

    `detail` is a short excerpt of what the event carries (an activity result, the agent's answer inside
    an entity response, the orchestration output). `timestamps=True` adds the raw `Timestamp` column.
    The `task id` column appears only when some event carries one (activities, timers, sub-orchestrations);
    entity calls are matched by request id instead, so a history of agent calls alone leaves it out.
    """
    columns = HISTORY_COLUMNS + (("timestamp",) if timestamps else ())
    rows = []
    for number, event in enumerate(events):
        kind = event_type(event)
        row: dict[str, Any] = {
            "#": number,
            "event": kind,
            "name": _event_name(kind, event),
            "task id": _task_id(event),
            "detail": _event_detail(kind, event),
        }
        if timestamps:
            row["timestamp"] = event.get("Timestamp")
        rows.append(row)
    if all(row["task id"] is None for row in rows):
        columns = tuple(column for column in columns if column != "task id")
    return Table(columns, rows)


# The rows of a public history that stand for work the orchestrator scheduled, each of which took one task id
# (sequence number) from the SDK: entity calls and signals, activities, timers, sub-orchestrations. The HTTP API
# folds TaskScheduled / SubOrchestrationInstanceCreated into the completion row, which keeps `ScheduledTime`.
# Scheduled work, and the completions the Durable HTTP API folds their scheduling events into.
_SCHEDULING_ROWS = frozenset(kind.name for kind in SCHEDULING_EVENTS | TASK_OUTCOME_EVENTS)
_NONDETERMINISM_POSITION = re.compile(r"(?:Event: |sequence ID )(\d+)")


def scheduled_work(events: Iterable[dict[str, Any]]) -> Table:
    """The work an orchestration scheduled, numbered in the order it was scheduled: position 0, 1, 2, ...

    These are the positions replay compares and a non-determinism failure names ("TaskScheduledEvent: 1",
    "sequence ID 1"): the SDK gives every entity call, activity, timer and sub-orchestration the next number in
    the order the code asks for it. Rows are ordered by when the work was scheduled (`ScheduledTime` of a
    folded completion, else the row's own `Timestamp`), ties keeping history order. That order is exact for
    code that waits for each call before it makes the next (a chain); calls made together (`task_all`) share
    an episode, and among them the history lists completions in the order they finished.
    `#` is the row in `history_table`.
    """
    rows = []
    for number, event in enumerate(events):
        kind = event_type(event)
        if kind in _SCHEDULING_ROWS:
            at = str(event.get("ScheduledTime") or event.get("Timestamp") or "")
            rows.append((at, number, {"#": number, "event": kind, "name": _event_name(kind, event)}))
    ordered = [row for _, _, row in sorted(rows, key=lambda item: (item[0], item[1]))]
    return Table(("position", "#", "event", "name"), [{"position": i, **row} for i, row in enumerate(ordered)])


def nondeterminism_position(message: Any) -> int | None:
    """The position (task id) a non-determinism failure names, in the extension's wording or DTFx's; else None."""
    match = _NONDETERMINISM_POSITION.search(str(message or ""))
    return int(match.group(1)) if match else None


def _event_name(kind: str, event: dict[str, Any]) -> str:
    if kind == EventType.EventSent.name:
        target = parse_entity_id(event.get("InstanceId"))
        operation = _entity_operation(event)
        return f"{target[0]}.{operation}" if target else operation
    if kind == EventType.EventRaised.name:
        name = event.get("Name") or ""
        # An entity's reply to call_entity is an EventRaised named after the request GUID, carrying
        # {"result": ...}. An external event can have a GUID for a name too (a workflow's request for a
        # person's input, say): it keeps its name.
        return "entity response" if _looks_like_guid(name) and is_entity_answer(event.get("Input")) else name
    return event.get("FunctionName") or event.get("Name") or ""


def _task_id(event: dict[str, Any]) -> int | None:
    for key in ("TaskScheduledId", "TimerId"):
        if isinstance(event.get(key), int):
            return event[key]
    event_id = event.get("EventId")
    if isinstance(event_id, int) and event_id >= 0:
        return event_id
    return None


def _event_detail(kind: str, event: dict[str, Any]) -> str:
    if kind == EventType.EventSent.name:
        target = parse_entity_id(event.get("InstanceId"))
        return f"session {target[1]}" if target else excerpt(event.get("InstanceId"))
    if kind == EventType.EventRaised.name:
        value = event.get("Input")
        text = agent_text(value)
        return excerpt(text if text is not None else decode_nested(value))
    if kind in _FAILURE_NAMES:
        return excerpt(event.get("Reason") or event.get("Details"))
    if kind == EventType.ExecutionCompleted.name:
        status = event.get("OrchestrationStatus") or ""
        result = event.get("Result")
        return f"{status}: {excerpt(decode_nested(result))}" if result is not None else status
    if kind == EventType.ExecutionStarted.name:
        value = event.get("Input")
        return f"input: {excerpt(decode_nested(value))}" if value not in (None, "") else ""
    if "Result" in event:
        result = event.get("Result")
        text = agent_text(result)
        return excerpt(text if text is not None else decode_nested(result))
    return ""


def _entity_operation(event: dict[str, Any]) -> str:
    """The operation an EventSent asks an entity to run.

    The event's own `Name` is the generic "op"; the operation name sits in the request (`Input`), which the
    Durable HTTP API includes with showInput=true.
    """
    request = decode_nested(event.get("Input"))
    if isinstance(request, dict) and isinstance(request.get("op"), str):
        return request["op"]
    return event.get("Name") or ""


def is_entity_answer(value: Any) -> bool:
    """Is this an EventRaised's input that answers an entity call (`{"result": ...}`)?"""
    value = decode_nested(value)
    return isinstance(value, dict) and "result" in value and len(value) <= 2


def _looks_like_guid(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text))


def entity_calls(events: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The entity operations an orchestration sent, in order: `{"entity", "key", "operation"}`.

    For agents this is where the session shows: every call on one session targets the same entity key.
    """
    calls = []
    for event in events:
        if event_type(event) != EventType.EventSent.name:
            continue
        target = parse_entity_id(event.get("InstanceId"))
        if target:
            calls.append({"entity": target[0], "key": target[1], "operation": _entity_operation(event)})
    return calls


# ------------------------------------------------------------------------------------------ conversation

CONVERSATION_COLUMNS = ("#", "entry", "role", "text")


def conversation_rows(state: Any) -> Table:
    """Turn an agent entity's state (`DurableAgentState`) into one row per message.

    The state holds `data.conversationHistory`: alternating `request` entries (what the caller sent) and
    `response` entries (what the model answered), each with `messages` whose `contents` carry the text.
    Error contents (a failed model call) show as `error: <message>`.
    """
    state = decode_nested(state)
    if not isinstance(state, dict):
        raise ValueError(f"Not an agent entity state: {excerpt(state)}")
    data = state.get("data", state)
    history = data.get("conversationHistory") if isinstance(data, dict) else None
    if not isinstance(history, list):
        raise ValueError(
            "The entity state has no data.conversationHistory; is this an Agent Framework agent entity? "
            f"Got keys: {', '.join(state)}"
        )
    rows: list[dict[str, Any]] = []
    for entry in history:
        if not isinstance(entry, dict):
            continue
        for message in entry.get("messages") or []:
            rows.append(
                {
                    "#": len(rows),
                    "entry": entry.get("$type", ""),
                    "role": message.get("role", ""),
                    "text": _message_text(message),
                }
            )
    return Table(CONVERSATION_COLUMNS, rows)


def _message_text(message: dict[str, Any]) -> str:
    parts = []
    for content in message.get("contents") or []:
        kind = content.get("$type", content.get("type"))
        if kind == "text":
            text = content.get("text", "")
            # structured output arrives as text holding JSON, which decode_nested has turned into a value
            parts.append(text if isinstance(text, str) else json.dumps(text, ensure_ascii=False))
        elif kind == "error":
            parts.append(f"error: {content.get('message', '')}")
        elif kind:
            parts.append(f"[{kind}]")
    return " ".join(part for part in parts if part)


# ------------------------------------------------------------------------------------------ replay log

# The line the host writes at the start of every orchestrator episode (the real Functions host logs the same
# prefix, followed by other fields, so only the leading part is matched).
_EPISODE_LINE = re.compile(
    r"(?P<instance>[^\s:]+): Function '(?P<name>[^']+?) \(Orchestrator\)' started\. IsReplay: (?P<replay>True|False)\."
    r"(?: Episode: (?P<episode>\d+)\.)?(?: HistoryEvents: (?P<events>\d+)\.)?"
)


@dataclass(frozen=True)
class LoggedEpisode:
    """One run of an orchestrator function: the first is new work, every later one replays history first."""

    instance_id: str
    orchestrator: str
    number: int
    is_replay: bool
    history_events: int | None


def episodes(log_lines: Iterable[str], instance_id: str | None = None) -> list[LoggedEpisode]:
    """Every orchestrator episode line in a host log, optionally for one instance."""
    found: list[LoggedEpisode] = []
    counters: dict[str, int] = {}
    for line in log_lines:
        match = _EPISODE_LINE.search(line)
        if not match or (instance_id and match["instance"] != instance_id):
            continue
        counters[match["instance"]] = counters.get(match["instance"], 0) + 1
        found.append(
            LoggedEpisode(
                instance_id=match["instance"],
                orchestrator=match["name"],
                number=int(match["episode"]) if match["episode"] else counters[match["instance"]],
                is_replay=match["replay"] == "True",
                history_events=int(match["events"]) if match["events"] else None,
            )
        )
    return found


def replay_counts(log_lines: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per instance: how many orchestrator episodes ran and how many of them were replays."""
    counts: dict[str, dict[str, int]] = {}
    for episode in episodes(log_lines):
        entry = counts.setdefault(episode.instance_id, {"episodes": 0, "replays": 0})
        entry["episodes"] += 1
        entry["replays"] += int(episode.is_replay)
    return counts


def episode_table(log_lines: Iterable[str], instance_id: str) -> Table:
    rows = [
        {"episode": e.number, "replay": e.is_replay, "history events in": e.history_events}
        for e in episodes(log_lines, instance_id)
    ]
    return Table(("episode", "replay", "history events in"), rows)
