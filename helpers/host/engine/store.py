"""The SQLite file that holds every durable fact: instances, their inputs, histories, pending events, entities.

Why it looks like this:
- One connection, used only from the engine's event loop thread, so there is no locking and no thread hop.
  Statements are microseconds; what costs is the commit, so writes pile up in one open transaction and
  `touch()` schedules a single commit at the end of the current loop iteration (group commit). Callers that
  acknowledge something to a client call `commit()` first, so nothing is acknowledged before it is on disk.
- Some writes may wait a little (`lazy=True`): an activity's result, for example, is safe uncommitted -- the
  activity is still in flight on disk (its TaskScheduled event has no result; in_flight.py), so after a crash it
  simply runs again, which is what a crash does to work in flight anyway. Such writes ride along with the next
  commit (usually the episode the result starts, milliseconds later) or are committed after
  `LAZY_COMMIT_SECONDS`. That halves the commits of a chain.
- Some writes need not happen at all: an arrived event that the next episode consumes in the same loop step
  goes straight into the history. The engine keeps such an event in memory and registers `before_commit`,
  which writes whatever is still unconsumed as the first thing any commit does (`defer_write()` says there is
  such a write). A commit therefore never loses an event that arrived before it.
- WAL with `synchronous=NORMAL`: a commit is durable against the process dying (`kill -9`) because the WAL
  write has reached the OS; only a power cut can lose the last commits. That is the failure model of a
  laptop learning kit, and it keeps per-transition cost low. Set `synchronous_full=True` for FULL.
- Checkpoints (copying the WAL into the database file, with the fsyncs NORMAL does there) run on a thread of
  their own with its own connection, when the engine has not committed for `CHECKPOINT_IDLE_SECONDS` (or the
  WAL has outgrown `CHECKPOINT_FORCE_BYTES`). Left to SQLite's auto-checkpoint they would run inside some
  unlucky commit on the event loop and stall it for tens of milliseconds; run while the engine is busy, their
  fsyncs would still hold up its commits' writes to the same file. "Not committed for" means a second, not
  the gap between two steps of an orchestration: a checkpoint that copies the whole WAL makes the *next*
  commit start the WAL over, and SQLite syncs the new WAL header (an fdatasync, even with NORMAL) -- measured
  here 0.1 ms -> 0.5 ms for that commit. Checkpointing in every 200 ms pause of a running chain put that
  sync on every step; after a second of quiet (a learner between two cells) it costs nothing anyone waits for.
- The file is stamped with `PRAGMA application_id` and `PRAGMA user_version`; anything else (another
  application's database, a newer schema, a corrupted or non-SQLite file) is refused before it is modified. A
  file of an older schema version is brought up to date when it is opened (`_MIGRATIONS`).
- An orchestration's input has a table of its own, written when an execution starts. In the instance row, which
  every episode updates, it would be copied into the log at every commit: SQLite rewrites a row whole, overflow
  pages included, whenever its size changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .errors import StoreError

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
LAZY_COMMIT_SECONDS = 0.02
CHECKPOINT_IDLE_SECONDS = 1.0  # see the module docstring: not in the pauses of a running orchestration
CHECKPOINT_FORCE_BYTES = 16 * 2**20

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


def instance_events(conn: sqlite3.Connection, instance_id: str) -> list[dict[str, Any]]:
    """An instance's committed history followed by its pending events, as another connection reads them (for
    `in_flight.work_in_flight` outside the engine: the load benchmark's kill rounds, the tests)."""
    events = [
        json.loads(text)
        for (text,) in conn.execute("SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))
    ]
    events += [
        json.loads(text)
        for (text,) in conn.execute("SELECT event FROM pending WHERE instance_id = ? ORDER BY id", (instance_id,))
    ]
    return events


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
        self._lazy_commit: asyncio.TimerHandle | None = None
        self._visible_writes = False  # uncommitted writes a reader could see (not only lazy ones)
        self._checkpointer: _Checkpointer | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.before_commit: Callable[[], None] | None = None  # writes deferred by `defer_write()` (docstring)
        self._deferred = False
        self._flushed: asyncio.Future | None = None  # what `flush()` callers wait on: the next commit
        self.last_commit = 0.0  # time.monotonic() of the last commit (the checkpointer waits for a quiet moment)
        self.commits = 0
        self.checkpoints = 0  # checkpoints the checkpointer thread has run

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
        self._checkpointer = _Checkpointer(self.path, self)

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
        if version != SCHEMA_VERSION and version not in _MIGRATIONS:
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
        while version in _MIGRATIONS:
            conn.executescript(f"BEGIN; {_MIGRATIONS[version]} PRAGMA user_version={version + 1}; COMMIT;")
            version += 1

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if self._synchronous_full else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it (module docstring)

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

    def write(self, sql: str, params: Iterable[Any] = (), *, lazy: bool = False) -> sqlite3.Cursor:
        """Run a modifying statement inside the open transaction and schedule its commit (see `lazy` above)."""
        self._begin()
        cur = self.conn.execute(sql, tuple(params))
        self._after_write(lazy)
        return cur

    def write_many(self, sql: str, rows: Iterable[Iterable[Any]], *, lazy: bool = False) -> None:
        self._begin()
        self.conn.executemany(sql, rows)
        self._after_write(lazy)

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    # -- commits -----------------------------------------------------------------------------------------
    def _after_write(self, lazy: bool) -> None:
        if lazy:
            self.touch_lazily()
        else:
            self._visible_writes = True
            self.touch()

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

    def touch_lazily(self) -> None:
        """Commit within LAZY_COMMIT_SECONDS, or with whichever commit comes first."""
        if self._commit_scheduled or self._lazy_commit is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._lazy_commit = loop.call_later(LAZY_COMMIT_SECONDS, self._scheduled_commit)

    def defer_write(self) -> None:
        """The owner holds a write for `before_commit` to make: commit lazily, as for a `lazy=True` write."""
        self._deferred = True
        self.touch_lazily()

    def _scheduled_commit(self) -> None:
        if self._conn is not None:
            self.commit()

    def commit(self) -> None:
        """Make every write so far durable now (`flush()` is the shared, awaitable form for acknowledgements)."""
        if self._deferred and self._conn is not None:
            self._deferred = False
            if self.before_commit is not None:
                self.before_commit()
        self._commit_scheduled = False
        self._visible_writes = False
        if self._lazy_commit is not None:
            self._lazy_commit.cancel()
            self._lazy_commit = None
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("COMMIT")
            self.last_commit = time.monotonic()
            self.commits += 1
        if self._after_commit and self._conn is not None:
            callbacks, self._after_commit = self._after_commit, []
            for callback in callbacks:
                callback()
        if self._flushed is not None:
            flushed, self._flushed = self._flushed, None
            if not flushed.done():
                flushed.set_result(None)

    async def flush(self) -> None:
        """Return once everything written so far is committed. Callers in the same loop iteration share one
        commit (group commit): ten clients starting orchestrations at once cost one commit, not ten."""
        if self._conn is None or not (self._conn.in_transaction or self._deferred):
            return
        if self._flushed is None:
            self._flushed = asyncio.get_running_loop().create_future()
            self.touch()
        await asyncio.shield(self._flushed)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` right after the next commit (scheduled now): for work that may begin only once its
        record is on disk."""
        self._after_commit.append(callback)
        self.touch()

    def commit_for_read(self) -> None:
        """Before answering a read: commit unless the only uncommitted writes are lazy ones, which no status,
        history or entity read shows (pending events)."""
        if self._visible_writes:
            self.commit()

    def close(self) -> None:
        if self._conn is not None:
            self.commit()
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            self._conn.close()
            self._conn = None


class _Checkpointer:
    """A daemon thread with its own connection that checkpoints the WAL at quiet moments (PASSIVE: it never
    waits for, nor blocks, the engine's connection); see the module docstring."""

    def __init__(self, path: str, store: Store) -> None:
        self._path = path
        self._store = store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        checkpointed_at = -1
        try:
            while not self._stop.wait(CHECKPOINT_IDLE_SECONDS / 2):
                store = self._store
                if store.commits == checkpointed_at:
                    continue  # nothing new in the WAL
                quiet = time.monotonic() - store.last_commit >= CHECKPOINT_IDLE_SECONDS
                if not quiet and self._wal_bytes() < CHECKPOINT_FORCE_BYTES:
                    continue
                commits = store.commits
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    checkpointed_at = commits
                    store.checkpoints += 1
                except sqlite3.Error:
                    pass  # busy or closing: the next round does it
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # leave a small WAL behind
            except sqlite3.Error:
                pass
        finally:
            conn.close()

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(f"{self._path}-wal")
        except OSError:
            return 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
