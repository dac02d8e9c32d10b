"""Read a stream route of server-sent events from a cursor: what a reliable-streaming client does.

Lesson 10's app answers `GET /api/agent/stream/{conversationId}?cursor=<id>` with the pieces of an agent's answer
stored after that cursor, as server-sent events (`id:` the Redis entry id, `event: message` or `event: done`,
`data:` the text). This module only speaks that public HTTP surface:

    events = lab.streams.fetch(kit, conversation_id)                 # from the start
    events = lab.streams.fetch(kit, conversation_id, cursor=events[2].id)   # the rest, after the third piece
    lab.streams.text_of(events)                                      # the pieces joined

The parser follows the SSE format (https://html.spec.whatwg.org/multipage/server-sent-events.html): `data:`
lines of one event are joined with newlines, one space after the colon is dropped, a blank line ends an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

STREAM_ROUTE = "/api/agent/stream/{conversation_id}"


@dataclass(frozen=True)
class StreamEvent:
    id: str | None  # the cursor to resume after this event
    event: str  # "message" or "done" ("error" if the server reports one)
    data: str

    @property
    def done(self) -> bool:
        return self.event == "done"


def parse(text: str) -> list[StreamEvent]:
    """The events of a `text/event-stream` body."""
    events: list[StreamEvent] = []
    event_id: str | None = None
    data: list[str] = []
    name, seen = "message", False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if seen:
                events.append(StreamEvent(event_id, name, "\n".join(data)))
            name, data, seen = "message", [], False
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id":
            event_id, seen = value, True
        elif field == "event":
            name, seen = value, True
        elif field == "data":
            data.append(value)
            seen = True
    if seen:
        events.append(StreamEvent(event_id, name, "\n".join(data)))
    return events


def fetch(kit: Any, conversation_id: str, cursor: str | None = None, *, wait: float = 10.0) -> list[StreamEvent]:
    """One GET of the stream route: the events stored after `cursor` (all without one), up to `done`.

    Raises LabError with the app's reason when it answers with an error (nothing streamed yet, a bad cursor).
    """
    from .errors import LabError

    url = kit.base_url + STREAM_ROUTE.format(conversation_id=quote(conversation_id, safe=""))
    params: dict[str, str] = {"wait": str(wait)}
    if cursor is not None:
        params["cursor"] = cursor
    response = httpx.get(url, params=params, headers={"Accept": "text/event-stream"}, timeout=wait + 30.0)
    if response.status_code != 200:
        try:
            reason = response.json().get("error", response.text)
        except ValueError:
            reason = response.text
        raise LabError(f"GET {response.url.path} answered {response.status_code}: {reason}")
    return parse(response.text)


def text_of(events: list[StreamEvent]) -> str:
    """The answer's text: the `message` events' data, joined."""
    return "".join(event.data for event in events if event.event == "message")
