"""Checkpoints (copying the WAL into the database file), on a thread of their own, at quiet moments.

Left to SQLite's auto-checkpoint they would run inside some unlucky commit on the event loop and stall it for tens
of milliseconds; run while the engine is busy, their fsyncs (which `synchronous=NORMAL` does at checkpoints) would
still hold up its commits' writes to the same file. So a checkpoint runs when the engine has not committed for
`CHECKPOINT_IDLE_SECONDS`, or the WAL has outgrown `CHECKPOINT_FORCE_BYTES`.

"Not committed for" means a second, not the gap between two steps of an orchestration: a checkpoint that copies
the whole WAL makes the *next* commit start the WAL over, and SQLite syncs the new WAL header (an fdatasync, even
with NORMAL) -- measured here 0.1 ms -> 0.5 ms for that commit. Checkpointing in every 200 ms pause of a running
chain put that sync on every step; after a second of quiet (a learner between two cells) it costs nothing anyone
waits for.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Protocol

CHECKPOINT_IDLE_SECONDS = 1.0  # see the module docstring: not in the pauses of a running orchestration
CHECKPOINT_FORCE_BYTES = 16 * 2**20


class CommitClock(Protocol):
    """What the checkpointer reads of the engine's commits (GroupCommit): how many, and when the last one was."""

    @property
    def commits(self) -> int: ...

    @property
    def last_commit(self) -> float: ...


class Checkpointer:
    """A daemon thread with its own connection that checkpoints the WAL at quiet moments (PASSIVE: it never waits
    for, nor blocks, the engine's connection)."""

    def __init__(self, path: str, clock: CommitClock) -> None:
        self._path = path
        self._clock = clock
        self.checkpoints = 0  # checkpoints this thread has run
        self._stop = threading.Event()
        self._final_checkpoint = True
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
                commits = self._clock.commits
                if commits == checkpointed_at:
                    continue  # nothing new in the WAL
                quiet = time.monotonic() - self._clock.last_commit >= CHECKPOINT_IDLE_SECONDS
                if not quiet and self._wal_bytes() < CHECKPOINT_FORCE_BYTES:
                    continue
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    checkpointed_at = commits
                    self.checkpoints += 1
                except sqlite3.Error:
                    pass  # busy or closing: the next round does it
            if self._final_checkpoint:
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

    def stop(self, *, final_checkpoint: bool = True) -> None:
        """End the thread; `final_checkpoint` copies the whole WAL into the file first (an orderly close does)."""
        self._final_checkpoint = final_checkpoint
        self._stop.set()
        self._thread.join(timeout=5)
