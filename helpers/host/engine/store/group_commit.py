"""The state file's one connection and its commits: writes pile up in one open transaction, committed once per
loop iteration (group commit).

Why it looks like this:
- One connection, used only from the engine's event loop thread, so there is no locking and no thread hop.
  Statements are microseconds; what costs is the commit, so writes pile up in one open transaction and
  `touch()` schedules a single commit at the end of the current loop iteration. Callers that acknowledge
  something to a client wait for `flush()` first, so nothing is acknowledged before it is on disk.
- Some writes may wait a little (`lazy=True`): an activity's result, for example, is safe uncommitted -- the
  activity is still in flight on disk (its TaskScheduled event has no result; in_flight.py), so after a crash it
  simply runs again, which is what a crash does to work in flight anyway. Such writes ride along with the next
  commit (usually the episode the result starts, milliseconds later) or are committed after
  `LAZY_COMMIT_SECONDS`. That halves the commits of a chain.
- Some writes need not happen at all: an arrived event that the next episode consumes in the same loop step
  goes straight into the history. The engine keeps such an event in memory and registers `before_commit`,
  which writes whatever is still unconsumed as the first thing any commit does (`defer_write()` says there is
  such a write). A commit therefore never loses an event that arrived before it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..errors import StoreError

LAZY_COMMIT_SECONDS = 0.02

Row = tuple[Any, ...]


class GroupCommit:
    """Statements inside the open transaction, and the scheduling of its commit."""

    def __init__(self) -> None:
        self._conn: sqlite3.Connection | None = None
        self._commit_scheduled = False
        self._lazy_commit: asyncio.TimerHandle | None = None
        self._visible_writes = False  # uncommitted writes a reader could see (not only lazy ones)
        self._after_commit: list[Callable[[], None]] = []
        self.before_commit: Callable[[], None] | None = None  # writes deferred by `defer_write()` (docstring)
        self._deferred = False
        self._flushed: asyncio.Future[None] | None = None  # what `flush()` callers wait on: the next commit
        self.last_commit = 0.0  # time.monotonic() of the last commit (the checkpointer waits for a quiet moment)
        self.commits = 0

    def attach(self, conn: sqlite3.Connection) -> None:
        """Use `conn` (an opened state file) from now on."""
        self._conn = conn

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

    def write(self, sql: str, params: Sequence[Any] = (), *, lazy: bool = False) -> sqlite3.Cursor:
        """Run a modifying statement inside the open transaction and schedule its commit (see `lazy` above)."""
        self._begin()
        cur = self.conn.execute(sql, params)
        self._after_write(lazy)
        return cur

    def write_many(self, sql: str, rows: Iterable[Sequence[Any]], *, lazy: bool = False) -> None:
        self._begin()
        self.conn.executemany(sql, rows)
        self._after_write(lazy)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

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

    @property
    def has_uncommitted_writes(self) -> bool:
        return self._conn is not None and (self._conn.in_transaction or self._deferred)

    def close(self) -> None:
        """Commit what is written and close the connection."""
        if self._conn is not None:
            self.commit()
            self._conn.close()
            self._conn = None

    def abandon(self) -> None:
        """Close the connection without committing: the open transaction is discarded, as `kill -9` discards it."""
        if self._lazy_commit is not None:
            self._lazy_commit.cancel()
            self._lazy_commit = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
