"""An orchestration instance while it is active: what the engine keeps in memory, mirrored row by row in the Store.

Why the history is kept twice: `history` holds the events as dicts (the engine inspects them), `history_text`
holds each one already JSON-encoded with `IsPlayed: true` -- exactly the text stored in the `history` table and
fed back to the SDK on every later episode. Encoding an event once, when it joins the history, instead of
re-encoding the whole history on every episode keeps an episode's cost independent of how long the instance
has been running (apart from the SDK's own replay).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, fields

from .history import Event
from .records import InstanceRecord

MAX_INSTANCE_ID_LENGTH = 256


def instance_id_problem(instance_id: str) -> str | None:
    """Why the extension's StartNewAsync refuses this id (its ArgumentException's text, as .NET prints it), or None.

    The texts are the extension's own, including its swapped ArgumentException arguments, which put "instanceId"
    first: a client on Azure reads exactly this."""
    if instance_id.startswith("@"):
        return "instanceId (Parameter 'Orchestration instance ids must not start with @.')"
    if any(c in "/\\#?" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in instance_id):
        return (
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.')"
        )
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
    return None


def played_text(ev: Event) -> str:
    """The stored JSON text of an event that now belongs to an earlier episode."""
    ev["IsPlayed"] = True
    return json.dumps(ev)


@dataclass
class Instance(InstanceRecord):
    """An orchestration instance that is still active (Pending, Running or Suspended): its stored record, and what
    the engine keeps of it in memory."""

    history: list[Event] = field(default_factory=list)
    history_text: list[str] = field(default_factory=list)  # the same events, encoded (see module docstring)
    pending: list[tuple[int | None, Event]] = field(default_factory=list)  # (row id, None while deferred; event)
    busy: bool = False  # an episode driver runs (Episodes.wake)
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)  # armed durable timers, by timer id

    @classmethod
    def from_record(cls, record: InstanceRecord) -> Instance:
        """An active instance read back from the store (its history and pending events are added by the caller)."""
        return cls(**{f.name: getattr(record, f.name) for f in fields(InstanceRecord)})

    @property
    def version(self) -> str | None:
        return self.book.version

    def cancel_timers(self) -> None:
        """Disarm the instance's durable timers (their TimerCreated events stay: a restart arms them again)."""
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
