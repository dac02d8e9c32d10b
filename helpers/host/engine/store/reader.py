"""Reading a state file on a connection of its own, as another process sees it: only what is committed.

    with StateFileReader(path) as state:
        work_in_flight(state.instance_events(instance_id))   # what a restart would run again

For the load benchmark's `kill -9` rounds (which read a copy of the file a killed host left) and for the tests
that check what reached the disk. The engine itself reads through its Store.
"""

from __future__ import annotations

import json
import sqlite3
from types import TracebackType

from ....durable_vocabulary import UNFINISHED_STATUSES
from ..history import Event
from ..records import QueuedOperation
from . import reads


class StateFileReader:
    """Named reads of a state file's committed contents; a context manager that closes its connection."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path)  # reads only (read-only mode would need the WAL index to exist)

    def __enter__(self) -> StateFileReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def history_events(self, instance_id: str) -> list[Event]:
        return [json.loads(text) for text in reads.history_texts(self._conn, instance_id)]

    def pending_events(self, instance_id: str) -> list[Event]:
        return [ev for _, ev in reads.pending_events(self._conn, instance_id)]

    def instance_events(self, instance_id: str) -> list[Event]:
        """The instance's committed history followed by its pending events: what `in_flight.work_in_flight` reads."""
        return self.history_events(instance_id) + self.pending_events(instance_id)

    def unfinished_instance_ids(self) -> list[str]:
        statuses = sorted(UNFINISHED_STATUSES)
        rows = self._conn.execute(
            f"SELECT instance_id FROM instances WHERE status IN ({', '.join('?' * len(statuses))}) ORDER BY instance_id",
            statuses,
        )
        return [instance_id for (instance_id,) in rows]

    def queued_entity_operations(self) -> list[QueuedOperation]:
        return reads.queued_entity_operations(self._conn)

    def schema_version(self) -> int:
        version: int = self._conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def application_id(self) -> int:
        app_id: int = self._conn.execute("PRAGMA application_id").fetchone()[0]
        return app_id
