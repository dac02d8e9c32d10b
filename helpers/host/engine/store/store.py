"""The store: every durable fact the engine keeps, read and written through named operations -- the only SQL of the
engine and of the host.

    store = Store(path)
    store.open()                                 # state_file.py: create, or validate and migrate, the file
    store.save_instance(record) ... store.flush() # writes join one transaction, committed once per loop iteration

Writes go through GroupCommit (group_commit.py), which decides when they are committed; the checkpointer
(checkpointer.py) copies the WAL into the file at quiet moments. Another process, or a test, reads a state file
through `StateFileReader` (reader.py), which shares this module's read statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ....durable_vocabulary import UNFINISHED_STATUSES, RuntimeStatus, canonical_status
from ..book import ExecutionBook
from ..history import Event, iso, parse_iso
from ..records import EntityRow, InstanceFilter, InstanceRecord, QueuedOperation, StatusRow
from . import reads
from .checkpointer import Checkpointer
from .group_commit import GroupCommit
from .state_file import open_state_file

_HISTORY_ROWS_PER_INSERT = 300  # one statement per 300 rows: far below SQLite's variable limit


class Store:
    """Named reads and writes of the state file, over one connection on the engine's event loop."""

    def __init__(self, path: str, *, synchronous_full: bool = False) -> None:
        self.path = path
        self._synchronous_full = synchronous_full
        self._group = GroupCommit()
        self._checkpointer: Checkpointer | None = None

    # ================================================================================= the file
    def open(self) -> None:
        self._group.attach(open_state_file(self.path, synchronous_full=self._synchronous_full))
        self._checkpointer = Checkpointer(self.path, self._group)

    @property
    def is_open(self) -> bool:
        return self._group.is_open

    def close(self) -> None:
        """Commit what is written, stop the checkpointer (it leaves a small WAL behind) and close the file."""
        if self._group.is_open:
            self._group.commit()
            self._stop_checkpointer(final_checkpoint=True)
            self._group.close()

    def abandon(self) -> None:
        """Close the file without committing, as `kill -9` leaves it: the open transaction is discarded."""
        self._stop_checkpointer(final_checkpoint=False)
        self._group.abandon()

    def _stop_checkpointer(self, *, final_checkpoint: bool) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop(final_checkpoint=final_checkpoint)
            self._checkpointer = None

    # ================================================================================= commits (group_commit.py)
    def set_before_commit(self, callback: Callable[[], None]) -> None:
        """`callback` writes what the engine deferred (`defer_write`) as the first thing of every commit."""
        self._group.before_commit = callback

    def defer_write(self) -> None:
        self._group.defer_write()

    def commit(self) -> None:
        self._group.commit()

    async def flush(self) -> None:
        await self._group.flush()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._group.after_commit(callback)

    def commit_for_read(self) -> None:
        self._group.commit_for_read()

    @property
    def has_uncommitted_writes(self) -> bool:
        return self._group.has_uncommitted_writes

    @property
    def commits(self) -> int:
        return self._group.commits

    @property
    def checkpoints(self) -> int:
        return self._checkpointer.checkpoints if self._checkpointer is not None else 0

    # ================================================================================= instances
    def save_instance(self, record: InstanceRecord) -> None:
        """Write the instance row: an UPDATE of the fields an execution changes (cheaper than rewriting the row
        and its index), an INSERT when the row is new. The input is not in it (`save_input`)."""
        book = json.dumps(record.book.to_json())
        cur = self._group.write(
            "UPDATE instances SET execution_id = ?, status = ?, output = ?, custom_status = ?, updated = ?, "
            "book = ? WHERE instance_id = ?",
            (
                record.execution_id,
                record.status,
                record.output,
                record.custom_status,
                record.updated,
                book,
                record.instance_id,
            ),
        )
        if cur.rowcount == 0:
            self._group.write(
                "INSERT INTO instances(instance_id, name, execution_id, status, output, custom_status, created, "
                "updated, parent_id, parent_task_id, book) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.instance_id,
                    record.name,
                    record.execution_id,
                    record.status,
                    record.output,
                    record.custom_status,
                    record.created,
                    record.updated,
                    record.parent_id,
                    record.parent_task_id,
                    book,
                ),
            )

    def save_input(self, instance_id: str, input_json: str | None) -> None:
        """An execution's input, in a table of its own: written when an execution starts, never per episode."""
        self._group.write("INSERT OR REPLACE INTO inputs(instance_id, input) VALUES (?, ?)", (instance_id, input_json))

    def delete_instance(self, instance_id: str) -> None:
        """The instance row, its input, its history and its pending events."""
        for table in ("instances", "inputs", "history", "pending"):
            self._group.write(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    def set_parent_task_id(self, child_id: str, parent_id: str, task_id: int) -> None:
        """The task id under which a sub-orchestration reports to its parent (rewind renumbers them)."""
        self._group.write(
            "UPDATE instances SET parent_task_id = ? WHERE instance_id = ? AND parent_id = ?",
            (task_id, child_id, parent_id),
        )

    def instance(self, instance_id: str) -> InstanceRecord | None:
        rows = self._group.read(f"SELECT {_RECORD_COLUMNS} FROM {_WITH_INPUTS} WHERE instance_id = ?", (instance_id,))
        return _record(rows[0]) if rows else None

    def unfinished_instances(self) -> list[InstanceRecord]:
        """Every instance that is Pending, Running or Suspended: what a start resumes."""
        statuses = sorted(UNFINISHED_STATUSES)
        rows = self._group.read(
            f"SELECT {_RECORD_COLUMNS} FROM {_WITH_INPUTS} WHERE status IN ({', '.join('?' * len(statuses))})",
            statuses,
        )
        return [_record(row) for row in rows]

    def instance_exists(self, instance_id: str) -> bool:
        return bool(self._group.read("SELECT 1 FROM instances WHERE instance_id = ?", (instance_id,)))

    def execution_failed(self, instance_id: str, execution_id: str) -> bool:
        """Whether this execution of the instance is the one stored, and it Failed."""
        return bool(
            self._group.read(
                "SELECT 1 FROM instances WHERE instance_id = ? AND execution_id = ? AND status = ?",
                (instance_id, execution_id, RuntimeStatus.Failed),
            )
        )

    def child_outcome(self, child_id: str, parent_id: str) -> tuple[str, str | None] | None:
        """(status, output) of a sub-orchestration of `parent_id`, or None when there is no such child."""
        rows = self._group.read(
            "SELECT status, output FROM instances WHERE instance_id = ? AND parent_id = ?", (child_id, parent_id)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def status(self, instance_id: str) -> StatusRow | None:
        rows = self._group.read(f"SELECT {_STATUS_COLUMNS} FROM {_WITH_INPUTS} WHERE instance_id = ?", (instance_id,))
        return _status(rows[0]) if rows else None

    def statuses(self, where: InstanceFilter, *, top: int | None = None, skip: int = 0) -> list[StatusRow]:
        """The instances `where` selects, oldest first; `top` of them after `skip` when `top` is given."""
        clause, params = _where(where)
        sql = f"SELECT {_STATUS_COLUMNS} FROM {_WITH_INPUTS}{clause} ORDER BY created, instance_id"
        if top:
            sql += " LIMIT ? OFFSET ?"
            params.extend([int(top), int(skip)])
        return [_status(row) for row in self._group.read(sql, params)]

    def instance_ids(self, where: InstanceFilter) -> list[str]:
        clause, params = _where(where)
        return [row[0] for row in self._group.read("SELECT instance_id FROM instances" + clause, params)]

    # ================================================================================= histories
    def append_history(self, instance_id: str, first_seq: int, texts: list[str]) -> None:
        """Events (already encoded) at positions `first_seq`, `first_seq + 1`, ... of the instance's history."""
        for first in range(0, len(texts), _HISTORY_ROWS_PER_INSERT):
            chunk = texts[first : first + _HISTORY_ROWS_PER_INSERT]
            rows = [value for i, text in enumerate(chunk, first_seq + first) for value in (instance_id, i, text)]
            self._group.write(
                "INSERT INTO history(instance_id, seq, event) VALUES " + ", ".join(["(?, ?, ?)"] * len(chunk)), rows
            )

    def delete_history(self, instance_id: str) -> None:
        self._group.write("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    def history_texts(self, instance_id: str) -> list[str]:
        """The instance's history, each event as the JSON text stored (and fed to the SDK)."""
        return reads.history_texts(self._group.conn, instance_id)

    def history_events(self, instance_id: str) -> list[Event]:
        return [json.loads(text) for text in self.history_texts(instance_id)]

    # ================================================================================= pending events
    def add_pending(self, instance_id: str, ev: Event, *, lazy: bool = False) -> int:
        """Queue an event for the instance's next episode; returns its row id (events are read back in row order)."""
        row_id = self._group.write(
            "INSERT INTO pending(instance_id, event) VALUES (?, ?)", (instance_id, json.dumps(ev)), lazy=lazy
        ).lastrowid
        assert row_id is not None
        return row_id

    def pending_events(self, instance_id: str) -> list[tuple[int, Event]]:
        """(row id, event) of the instance's pending events, in arrival order."""
        return reads.pending_events(self._group.conn, instance_id)

    def delete_pending_rows(self, row_ids: list[int]) -> None:
        self._group.write_many("DELETE FROM pending WHERE id = ?", [(row_id,) for row_id in row_ids])

    def delete_pending_through(self, instance_id: str, last_row_id: int) -> None:
        """The instance's oldest pending rows, up to and including `last_row_id` (one range delete)."""
        self._group.write("DELETE FROM pending WHERE instance_id = ? AND id <= ?", (instance_id, last_row_id))

    def delete_pending(self, instance_id: str) -> None:
        self._group.write("DELETE FROM pending WHERE instance_id = ?", (instance_id,))

    # ================================================================================= entities
    def queue_entity_operation(self, entity_id: str, payload: str) -> int:
        """Persist an operation for the entity; returns its row id (operations run in row order)."""
        row_id = self._group.write(
            "INSERT INTO entity_ops(entity_id, payload) VALUES (?, ?)", (entity_id, payload)
        ).lastrowid
        assert row_id is not None
        return row_id

    def update_entity_operation(self, row_id: int, payload: str) -> None:
        self._group.write("UPDATE entity_ops SET payload = ? WHERE id = ?", (payload, row_id))

    def delete_entity_operation(self, row_id: int) -> None:
        self._group.write("DELETE FROM entity_ops WHERE id = ?", (row_id,))

    def queued_entity_operations(self) -> list[QueuedOperation]:
        """Every queued operation of every entity, in queueing order."""
        return reads.queued_entity_operations(self._group.conn)

    def save_entity(self, entity_id: str, name: str, key: str, state: str | None, exists: bool, when: str) -> None:
        self._group.write(
            "INSERT INTO entities(entity_id, name, key, state, exists_, last_op) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(entity_id) DO UPDATE SET state = excluded.state, exists_ = excluded.exists_, "
            "last_op = excluded.last_op",
            (entity_id, name, key, state, int(exists), when),
        )

    def entity_state(self, entity_id: str) -> tuple[bool, str | None]:
        """(exists, state JSON text) of an entity; an entity never operated on does not exist."""
        rows = self._group.read("SELECT exists_, state FROM entities WHERE entity_id = ?", (entity_id,))
        if not rows or not rows[0][0]:
            return False, None
        return True, rows[0][1]

    def entities(self, name: str | None = None) -> list[EntityRow]:
        """The entities that exist (all, or those named `name`), by name and key."""
        sql = "SELECT name, key, state, last_op FROM entities WHERE exists_ = 1"
        params: tuple[str, ...] = ()
        if name:
            sql += " AND name = ?"
            params = (name.lower(),)
        return [EntityRow(*row) for row in self._group.read(sql + " ORDER BY name, key", params)]


_WITH_INPUTS = "instances LEFT JOIN inputs USING (instance_id)"  # the input has a table of its own
_RECORD_COLUMNS = (
    "instance_id, name, execution_id, status, input, created, updated, parent_id, parent_task_id, output, "
    "custom_status, book"
)
_STATUS_COLUMNS = (
    "instance_id, name, status, input, output, custom_status, created, updated, json_extract(book, '$.input_is_value')"
)


def _record(row: tuple[Any, ...]) -> InstanceRecord:
    (
        instance_id,
        name,
        execution_id,
        status,
        input_json,
        created,
        updated,
        parent_id,
        parent_task_id,
        output,
        custom,
        book,
    ) = row
    return InstanceRecord(
        instance_id=instance_id,
        name=name,
        execution_id=execution_id,
        status=status,
        input=input_json,
        created=created,
        updated=updated,
        parent_id=parent_id,
        parent_task_id=parent_task_id,
        output=output,
        custom_status=custom,
        book=ExecutionBook.from_json(json.loads(book)),
    )


def _status(row: tuple[Any, ...]) -> StatusRow:
    instance_id, name, status, input_json, output, custom_status, created, updated, input_is_value = row
    return StatusRow(
        instance_id, name, status, input_json, output, custom_status, created, updated, bool(input_is_value)
    )


def _where(where: InstanceFilter) -> tuple[str, list[Any]]:
    """` WHERE ...` and its parameters for the list/purge filters of the Durable HTTP API."""
    clauses: list[str] = []
    params: list[Any] = []
    if where.runtime_status:
        wanted = [canonical_status(s.strip()) for s in where.runtime_status if s and s.strip()]
        clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    for bound, op in ((where.created_from, ">="), (where.created_to, "<=")):
        if bound:
            when = bound if isinstance(bound, datetime) else parse_iso(str(bound))
            clauses.append(f"created {op} ?")
            params.append(iso(when))
    if where.instance_id_prefix:
        clauses.append("substr(instance_id, 1, ?) = ?")
        params.extend([len(where.instance_id_prefix), where.instance_id_prefix])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
