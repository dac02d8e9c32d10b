"""The SQLite file itself: its tables, how it is recognised, and how a file of an older schema is brought up to date.

- The file is stamped with `PRAGMA application_id` and `PRAGMA user_version`; anything else (another
  application's database, a newer schema, a corrupted or non-SQLite file) is refused before it is modified. A
  file of an older schema version is brought up to date when it is opened (`_MIGRATIONS`).
- WAL with `synchronous=NORMAL`: a commit is durable against the process dying (`kill -9`) because the WAL
  write has reached the OS; only a power cut can lose the last commits. That is the failure model of a
  laptop learning kit, and it keeps per-transition cost low. `synchronous_full=True` asks for FULL.
- SQLite's own auto-checkpoint is off: checkpoints run on a thread of their own (checkpointer.py).
- An orchestration's input has a table of its own, written when an execution starts. In the instance row, which
  every episode updates, it would be copied into the log at every commit: SQLite rewrites a row whole, overflow
  pages included, whenever its size changes.
"""

from __future__ import annotations

import os
import sqlite3

from ..errors import StoreError

APPLICATION_ID = 0x44464B31  # "DFK1": durable functions kit
SCHEMA_VERSION = 3
# What opening a file of an older schema version does to bring it to the next one, in one transaction.
_MIGRATIONS = {
    # 1 -> 2: work in flight is read from the history (in_flight.py); version 1 also kept a row per scheduled
    # activity or timer, which says nothing the history does not. A host that knows only version 1 would find
    # no rows and restart nothing, so the new version number makes it refuse the file instead.
    1: "DROP TABLE work;",
    # 2 -> 3: an orchestration's input moves to a table of its own. SQLite rewrites a row whole -- overflow pages
    # included -- whenever its size changes, and the instance row changes size in every episode (`book`), so a
    # 1 MB input in it cost 1 MB of log in every commit of that instance.
    2: "CREATE TABLE inputs (instance_id TEXT PRIMARY KEY, input TEXT);"
    "INSERT INTO inputs SELECT instance_id, input FROM instances WHERE input IS NOT NULL;"
    "ALTER TABLE instances DROP COLUMN input;",
}
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE instances (
    instance_id    TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    execution_id   TEXT NOT NULL,
    status         TEXT NOT NULL,
    output         TEXT,
    custom_status  TEXT,
    created        TEXT NOT NULL,
    updated        TEXT NOT NULL,
    parent_id      TEXT,
    parent_task_id INTEGER,
    book           TEXT NOT NULL
);
CREATE INDEX instances_by_created ON instances(created);
CREATE TABLE inputs (
    instance_id TEXT PRIMARY KEY,
    input       TEXT
);
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


def open_state_file(path: str, *, synchronous_full: bool = False) -> sqlite3.Connection:
    """A connection to `path`, created with the schema when new, validated and migrated when not; StoreError when
    the file is not one this host may use (it is then left untouched)."""
    had_data = _check_header(path)
    uri = f"file:{path}?mode={'rw' if had_data else 'rwc'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open durable state file {path}: {exc}") from exc
    try:
        _validate_or_create(conn, path, synchronous_full)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_header(path: str) -> bool:
    """True when `path` holds data; raises StoreError when that data is not an SQLite database."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    with open(path, "rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise StoreError(f"{path} is not an SQLite database; refusing to use it as the durable state file")
    return True


def _validate_or_create(conn: sqlite3.Connection, path: str, synchronous_full: bool) -> None:
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is corrupted or not a database ({exc}); left untouched") from exc
    if app_id == 0 and version == 0 and tables == 0:
        _configure(conn, synchronous_full)
        conn.executescript(
            f"BEGIN; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
        )
        return
    if app_id != APPLICATION_ID:
        raise StoreError(
            f"{path} belongs to another application (application_id={app_id:#x}, expected "
            f"{APPLICATION_ID:#x}); refusing to use it. Pick a new --state-db path."
        )
    if version != SCHEMA_VERSION and version not in _MIGRATIONS:
        raise StoreError(
            f"{path} has durable-state schema version {version}, this host understands {SCHEMA_VERSION}; left untouched"
        )
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is corrupted ({exc}); left untouched") from exc
    if check != "ok":
        raise StoreError(f"{path} is corrupted (quick_check: {check}); left untouched")
    _configure(conn, synchronous_full)
    while version in _MIGRATIONS:
        conn.executescript(f"BEGIN; {_MIGRATIONS[version]} PRAGMA user_version={version + 1}; COMMIT;")
        version += 1


def _configure(conn: sqlite3.Connection, synchronous_full: bool) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous_full else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it (checkpointer.py)
