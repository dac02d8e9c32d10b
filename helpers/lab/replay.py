"""Views for notebooks 04 and 05: replay episode by episode, a crash in the host log, shared agent sessions.

Like `views`, everything here is a pure function of what the public surface hands out — history events
from the Durable Functions HTTP API, entity state, host log lines, the offline model's call records — so the
notebooks can print it as tables whose columns never hold raw timestamps or ports.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..durable_vocabulary import (
    COMPLETION_EVENTS,
    ENDING_EVENTS,
    SCHEDULING_EVENTS,
    EventType,
    agent_entity_id,
    parse_entity_id,
)
from .views import LoggedEpisode, Table, agent_text, decode_nested, event_type, excerpt

T = TypeVar("T")

# The event kinds the walkthrough sorts a public history by (the Durable HTTP API names them).
_COMPLETIONS = frozenset(kind.name for kind in COMPLETION_EVENTS)  # each wakes the orchestrator for an episode
_SCHEDULING = frozenset(kind.name for kind in SCHEDULING_EVENTS)  # work the orchestrator's code asked for
_ENDINGS = frozenset(kind.name for kind in ENDING_EVENTS)  # the way it ended


class WaitTimeout(TimeoutError):
    """`wait_until` gave up: the message says what it was waiting for."""


def wait_until(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `check` until it returns something truthy, and return that; raise `WaitTimeout` after `timeout` s.

    Notebooks use it to act at a precise moment (e.g. kill the host while a model call is in flight)
    without sleeping for a guessed number of seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"Still waiting after {timeout:.0f}s for: {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------- replay


def _step(event: dict[str, Any]) -> str:
    kind = event_type(event)
    if kind == EventType.EventSent.name:
        target = parse_entity_id(event.get("InstanceId"))
        return f"call {target[0]}" if target else "send event"
    if kind == EventType.EventRaised.name:
        text = agent_text(event.get("Input"))
        return f"answer: {excerpt(text, 40)}" if text is not None else f"event {event.get('Name')}"
    if kind in _ENDINGS:
        return f"{kind} ({event.get('OrchestrationStatus') or 'done'})"
    return f"{kind} {event.get('Name') or ''}".strip()


def replay_walkthrough(history: Sequence[dict[str, Any]], episodes: Sequence[LoggedEpisode]) -> Table:
    """One row per orchestrator episode: what woke it, what it replayed from history, what it did new.

    "replayed from history" counts the scheduling and result events the episode's code read back before
    doing anything new (the result that woke it included).

    The history is split at each completion event (an activity result, an entity answer, a timer): every
    completion wakes the orchestrator once. That split is exact when results arrive one at a time, as in a
    chain of calls; with `task_all` two results can arrive in one episode, and the host log then shows fewer
    episodes than the split does — the `episodes` argument (from the host log) is used to check that.
    """
    segments: list[list[dict[str, Any]]] = [[]]
    for event in history:
        if event_type(event) in _COMPLETIONS and segments[-1]:
            segments.append([])
        segments[-1].append(event)
    if len(segments) != len(episodes):
        raise ValueError(
            f"The history splits into {len(segments)} episodes but the host log shows {len(episodes)}; "
            "results arrived together (task_all?), so this one-result-per-episode view does not apply."
        )
    rows = []
    replayed: list[str] = []
    for segment, episode in zip(segments, episodes):
        first = segment[0]
        if event_type(first) in _COMPLETIONS:
            woken_by = _step(first)
            replayed.append(woken_by)  # the new result is read from history like the older ones
        else:
            woken_by = "start (ExecutionStarted)"
        new = [_step(e) for e in segment[1:] if event_type(e) in _SCHEDULING | _ENDINGS]
        rows.append(
            {
                "episode": episode.number,
                "replay": episode.is_replay,
                "woken by": woken_by,
                "replayed from history": len(replayed),
                "new this episode": "; ".join(new) or "(waits)",
            }
        )
        replayed.extend(_step(e) for e in segment[1:] if event_type(e) in _SCHEDULING)
    return Table(("episode", "replay", "woken by", "replayed from history", "new this episode"), rows)


def label_keys(text: str, prefix: str = "key") -> str:
    """Replace each distinct session key / GUID in `text` by `key-1`, `key-2`, ... in order of appearance.

    Random keys differ on every run; their labels do not, and two different keys keep different labels —
    which is exactly what a non-determinism message needs to show.
    """
    labels: dict[str, str] = {}

    def label(match: re.Match[str]) -> str:
        return labels.setdefault(match.group(0).lower(), f"{prefix}-{len(labels) + 1}")

    return re.sub(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b", label, text)


# ------------------------------------------------------------------------------------- host log timeline

_LOG_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "orchestrator episode",
        re.compile(
            r"Function '(?P<what>[^']+) \(Orchestrator\)' started\. IsReplay: "
            r"(?P<replay>True|False)\.(?: Episode: (?P<n>\d+)\.)?"
        ),
    ),
    ("orchestrator completed", re.compile(r"Function '(?P<what>[^']+) \(Orchestrator\)' completed")),
    (
        "entity operation started",
        re.compile(
            r"Function '(?P<what>[^']+) \(Entity\)' operation '(?P<op>[^']+)' "
            r"started"
        ),
    ),
    (
        "entity operation completed",
        re.compile(
            r"Function '(?P<what>[^']+) \(Entity\)' operation '(?P<op>[^']+)' "
            r"completed"
        ),
    ),
    ("host restarted, resumed work", re.compile(r"Resumed (?P<what>\d+) unfinished orchestration")),
)


def host_timeline(lines: Iterable[str], *, instance_id: str, entity_key: str | None = None) -> Table:
    """The host log lines about one orchestration (and its agent entity), one row each, in order.

    Keeps the events that tell the story of a crash: orchestrator episodes, the entity's operations starting
    and completing, and a new host process resuming unfinished work. No timestamps or ids.
    """
    rows: list[dict[str, Any]] = []
    for line in lines:
        about_us = instance_id in line or (entity_key is not None and entity_key in line)
        for kind, pattern in _LOG_PATTERNS:
            match = pattern.search(line)
            if not match or (kind.startswith(("orchestrator", "entity")) and not about_us):
                continue
            groups = match.groupdict()
            detail = groups.get("what") or ""
            if kind == "orchestrator episode":
                detail += f" (episode {groups['n']}, replay: {groups['replay']})"
            elif kind.startswith("entity"):
                detail += f" {groups['op']}"
            elif kind == "host restarted, resumed work":
                detail = f"{groups['what']} unfinished orchestration(s) from the state file"
            rows.append({"#": len(rows), "host log": kind, "detail": detail})
            break
    return Table(("#", "host log", "detail"), rows)


def calls_per_prompt(calls: Iterable[dict[str, Any]]) -> dict[int, int]:
    """How many model calls carried 2, 4, ... input messages (turn 1 of a session sends 2, turn 2 sends 4)."""
    return dict(sorted(Counter(int(call.get("input_messages", 0)) for call in calls).items()))


# ------------------------------------------------------------------------------------------- sessions


def entity_instance_id(agent_name: str, session_key: str) -> str:
    """The scheduler id of an agent's entity, as orchestration history writes it: `@dafx-<agent lower>@<key>`."""
    return agent_entity_id(agent_name, session_key)


def conversation_by_caller(state: Any, callers: dict[str, str]) -> Table:
    """An agent entity's conversation with a `caller` column, to see whose turns interleave.

    `callers` maps orchestration instance ids to short labels (e.g. {"<id A>": "A"}). A request carries the
    `orchestrationId` that sent it (none when it came through the agent's HTTP route); its response shares
    the request's `correlationId`, so it gets the same label.
    """
    state = decode_nested(state)
    history = (state.get("data") or {}).get("conversationHistory") or []
    by_correlation: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for entry in history:
        kind = entry.get("$type", "")
        correlation = entry.get("correlationId") or ""
        if kind == "request":
            orchestration = entry.get("orchestrationId")
            by_correlation[correlation] = callers.get(orchestration, "HTTP route" if not orchestration else "?")
        caller = by_correlation.get(correlation, "?")
        for message in entry.get("messages") or []:
            text = " ".join(
                t if isinstance(t, str) else json.dumps(t, ensure_ascii=False)
                for c in message.get("contents") or []
                if c.get("$type") == "text"
                for t in [c.get("text", "")]
            )
            rows.append(
                {
                    "#": len(rows),
                    "caller": caller,
                    "entry": kind,
                    "role": message.get("role", ""),
                    "text": excerpt(text, 90),
                }
            )
    return Table(("#", "caller", "entry", "role", "text"), rows)


def stored_entry_outline(entry: Any) -> dict[str, Any]:
    """A stored record (a history event, a `conversationHistory` entry) with JSON-in-strings decoded and long
    texts shortened, to print what Durable Functions / the agent entity really keep."""

    def shorten(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shorten(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shorten(item) for item in value]
        if isinstance(value, str) and len(value) > 60:
            return excerpt(value, 60)
        return value

    return shorten(decode_nested(entry))
