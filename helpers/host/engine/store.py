"""The SQLite file that holds every durable fact: instances, histories, pending events, outstanding work, entities.

Why it looks like this:
- One connection, used only from the engine's event loop thread, so there is no locking and no thread hop.
  Statements are microseconds; what costs is the commit, so writes pile up in one open transaction and
  `touch()` schedules a single commit at the end of the current loop iteration (group commit). Callers that
  acknowledge something to a client call `commit()` first, so nothing is acknowledged before it is on disk.
- WAL with `synchronous=NORMAL`: a commit is durable against the process dying (`kill -9`) because the WAL
  write has reached the OS; only a power cut can lose the last commits. That is the failure model of a
  laptop learning kit, and it keeps per-transition cost low. Set `synchronous_full=True` for FULL.
- The file is stamped with `PRAGMA application_id` and `PRAGMA user_version`; anything else (another
  application's database, a newer schema, a corrupted or non-SQLite file) is refused before it is modified.
"""
from __future__ import annotations

import asyncio
import os
import sqlite3
from typing import Any, Iterable

from .errors import StoreError

APPLICATION_ID = 0x44464B31  # "DFK1": durable functions kit
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE instances (
    instance_id    TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    execution_id   TEXT NOT NULL,
    status         TEXT NOT NULL,
    input          TEXT,
    output         TEXT,
    custom_status  TEXT,
    created        TEXT NOT NULL,
    updated        TEXT NOT NULL,
    parent_id      TEXT,
    parent_task_id INTEGER,
    book           TEXT NOT NULL
);
CREATE INDEX instances_by_created ON instances(created);
CREATE TABLE history (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    event       TEXT NOT NULL
);
CREATE INDEX pending_by_instance ON pending(instance_id);
CREATE TABLE work (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    task_id      INTEGER NOT NULL,
    payload      TEXT NOT NULL,
    fire_at      REAL
);
CREATE INDEX work_by_instance ON work(instance_id);
CREATE TABLE entity_ops (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    payload   TEXT NOT NULL
);
CREATE INDEX entity_ops_by_entity ON entity_ops(entity_id);
CREATE TABLE entities (
    entity_id TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    key       TEXT NOT NULL,
    state     TEXT,
    exists_   INTEGER NOT NULL,
    last_op   TEXT NOT NULL
);
"""


def _check_header(path: str) -> bool:
    """True when `path` holds data; raises StoreError when that data is not an SQLite database."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    with open(path, "rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise StoreError(f"{path} is not an SQLite database; refusing to use it as the durable state file")
    return True


class Store:
    """Thin synchronous wrapper over the connection plus group-commit scheduling."""

    def __init__(self, path: str, *, synchronous_full: bool = False) -> None:
        self.path = path
        self._synchronous_full = synchronous_full
        self._conn: sqlite3.Connection | None = None
        self._commit_scheduled = False

    # -- opening ----------------------------------------------------------------------------------------
    def open(self) -> None:
        had_data = _check_header(self.path)
        uri = f"file:{self.path}?mode={'rw' if had_data else 'rwc'}"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open durable state file {self.path}: {exc}") from exc
        try:
            self._validate_or_create(conn, had_data)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _validate_or_create(self, conn: sqlite3.Connection, had_data: bool) -> None:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is corrupted or not a database ({exc}); left untouched") from exc
        if app_id == 0 and version == 0 and tables == 0:
            self._configure(conn)
            conn.executescript(
                f"BEGIN; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
            return
        if app_id != APPLICATION_ID:
            raise StoreError(
                f"{self.path} belongs to another application (application_id={app_id:#x}, expected "
                f"{APPLICATION_ID:#x}); refusing to use it. Pick a new --state-db path."
            )
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has durable-state schema version {version}, this host understands {SCHEMA_VERSION}; "
                "left untouched"
            )
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is corrupted ({exc}); left untouched") from exc
        if check != "ok":
            raise StoreError(f"{self.path} is corrupted (quick_check: {check}); left untouched")
        self._configure(conn)

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self._synchronous_full else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=OFF")

    # -- statements --------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the durable state file is closed")
        return self._conn

    def _begin(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")

    def write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run a modifying statement inside the open transaction and schedule its commit."""
        self._begin()
        cur = self.conn.execute(sql, tuple(params))
        self.touch()
        return cur

    def write_many(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self._begin()
        self.conn.executemany(sql, rows)
        self.touch()

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    # -- commits -----------------------------------------------------------------------------------------
    def touch(self) -> None:
        """Schedule one commit for everything written during this loop iteration."""
        if self._commit_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._commit_scheduled = True
        loop.call_soon(self._scheduled_commit)

    def _scheduled_commit(self) -> None:
        self._commit_scheduled = False
        if self._conn is not None:
            self.commit()

    def commit(self) -> None:
        """Make every write so far durable; call before acknowledging anything to a client."""
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self.commit()
            self._conn.close()
            self._conn = None
