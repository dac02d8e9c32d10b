"""The store's checkpointer: it copies the WAL into the database file at quiet moments, never in the short pauses
of a running orchestration (store.py: a checkpoint makes the next commit restart the WAL, which syncs)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers.host.engine.store import Store, checkpointer
from tests.conftest import wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(str(tmp_path / "state.sqlite3"))
    opened.open()
    yield opened
    opened.close()


def commit_one(store: Store, n: int) -> None:
    store.append_history("i", n, ["{}"])
    store.commit()


def test_no_checkpoint_in_the_pauses_of_a_running_orchestration(store: Store) -> None:
    """Commits 200 ms apart, as in a chain of 200 ms activities, with the shipped settings: the WAL is left alone."""
    for n in range(7):
        commit_one(store, n)
        time.sleep(0.2)
    assert store.checkpoints == 0


def test_checkpoint_after_a_quiet_moment(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpointer, "CHECKPOINT_IDLE_SECONDS", 0.3)
    commit_one(store, 0)
    wait_until(lambda: store.checkpoints, timeout=5, what="a checkpoint", interval=0.05)
    assert store.checkpoints == 1
    time.sleep(0.5)  # nothing new was committed: nothing to checkpoint again
    assert store.checkpoints == 1


def test_a_large_wal_is_checkpointed_even_while_busy(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpointer, "CHECKPOINT_FORCE_BYTES", 64 * 1024)
    written = 0

    def busy_until_checkpointed() -> int:
        nonlocal written
        store.append_history("i", written, ["x" * 2000] * 20)
        written += 20
        store.commit()
        return store.checkpoints

    wait_until(busy_until_checkpointed, timeout=5, what="a checkpoint while commits go on")
    assert store.checkpoints >= 1
