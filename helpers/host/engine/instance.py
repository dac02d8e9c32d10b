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
from typing import Any

from .records import InstanceRecord

_UNPLAYED = '"IsPlayed": false'
_PLAYED = '"IsPlayed": true'
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


def new_book(version: str | None = None, input_is_value: bool = False) -> dict[str, Any]:
    """The per-execution bookkeeping persisted with the instance row.

    episode: episodes run so far; next_id: the next sequence id the SDK will hand out; sigs: signature of every
    id-consuming action handled, by position (the non-determinism check); retries: retry loops in progress;
    failed_loops: retry loops that gave up and retried: attempt ids whose failure a retry loop answered with
    another attempt (both what rewind needs, added when first used); version: the orchestration version;
    input_is_value: the input was posted as plain JSON, so a status shows it as that value (queries.py).
    """
    return {
        "episode": 0,
        "next_id": 0,
        "sigs": [],
        "retries": [],
        "failed_loops": [],
        "version": version,
        "input_is_value": input_is_value,
    }


def played_text(ev: dict[str, Any]) -> str:
    """The stored JSON text of an event that now belongs to an earlier episode."""
    ev["IsPlayed"] = True
    return json.dumps(ev)


def unplayed_text(ev: dict[str, Any]) -> str:
    """The JSON text of an event delivered in the current episode (`IsPlayed` is the third key of every event)."""
    return json.dumps(ev).replace(_PLAYED, _UNPLAYED, 1)


@dataclass
class Instance(InstanceRecord):
    """An orchestration instance that is still active (Pending, Running or Suspended): its stored record, and what
    the engine keeps of it in memory."""

    history: list[dict[str, Any]] = field(default_factory=list)
    history_text: list[str] = field(default_factory=list)  # the same events, encoded (see module docstring)
    pending: list[tuple[int | None, dict[str, Any]]] = field(
        default_factory=list
    )  # (row id or None if deferred, event)
    book: dict[str, Any] = field(default_factory=new_book)
    busy: bool = False
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: InstanceRecord) -> Instance:
        """An active instance read back from the store (its history and pending events are added by the caller)."""
        inst = cls(**{f.name: getattr(record, f.name) for f in fields(InstanceRecord)})
        inst.book = {"failed_loops": [], "version": None, **(record.book or {})}  # keys older files lack
        return inst

    @property
    def version(self) -> str | None:
        return self.book.get("version")
