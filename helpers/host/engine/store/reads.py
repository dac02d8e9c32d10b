"""Read statements shared by the engine's store and by readers of a state file on a connection of their own."""

from __future__ import annotations

import json
import sqlite3

from ..history import Event
from ..records import QueuedOperation


def history_texts(conn: sqlite3.Connection, instance_id: str) -> list[str]:
    """The instance's history, each event as the JSON text stored, in order."""
    return [
        text for (text,) in conn.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
    ]


def pending_events(conn: sqlite3.Connection, instance_id: str) -> list[tuple[int, Event]]:
    """(row id, event) of the instance's events not yet in its history, in arrival order."""
    return [
        (row_id, json.loads(text))
        for row_id, text in conn.execute(
            "SELECT id, event FROM pending WHERE instance_id = ? ORDER BY id", (instance_id,)
        )
    ]


def queued_entity_operations(conn: sqlite3.Connection) -> list[QueuedOperation]:
    """Every queued entity operation, in queueing order."""
    return [QueuedOperation(*row) for row in conn.execute("SELECT id, entity_id, payload FROM entity_ops ORDER BY id")]
