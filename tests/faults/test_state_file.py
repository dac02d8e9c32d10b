"""A --state-db that is not this host's (corrupted, foreign, newer) makes the host refuse to start: non-zero
exit, a clear reason on stderr, no port bound, and the file byte-for-byte as it was (SHA-256 before/after)."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_faults import CHAIN_APP
from helpers.host.engine.store import APPLICATION_ID, StateFileReader, Store
from helpers.processes import REPO_ROOT, free_port

pytestmark = pytest.mark.timeout(60)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kit_state_file(path: Path, rows: int = 400) -> Path:
    """A real state file of this host, with enough rows to span many pages."""
    store = Store(str(path))
    store.open()
    event = '{"EventType": 0, "pad": "' + "x" * 200 + '"}'
    for instance in range(rows // 10):
        store.append_history(f"i{instance}", 0, [event] * 10)
    store.close()
    return path


def not_sqlite(path: Path) -> Path:
    path.write_bytes(os.urandom(64 * 1024))
    return path


def text_file(path: Path) -> Path:
    path.write_text("instance_id,status\nabc,Completed\n", encoding="utf-8")
    return path


def foreign_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);"
        "INSERT INTO customers(name) VALUES ('Ada'), ('Grace');"
    )
    conn.close()
    return path


def newer_schema(path: Path) -> Path:
    kit_state_file(path, rows=10)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    return path


def corrupted_pages(path: Path) -> Path:
    kit_state_file(path)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page, len(data)
    for offset in range(2 * page, len(data) - page, 3 * page):  # scribble over b-tree pages, keep the header
        data[offset : offset + 512] = os.urandom(512)
    path.write_bytes(bytes(data))
    return path


def truncated(path: Path) -> Path:
    kit_state_file(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])
    return path


CASES = {
    "random bytes": (not_sqlite, "not an SQLite database"),
    "a CSV text file": (text_file, "not an SQLite database"),
    "another application's database": (foreign_sqlite, "belongs to another application"),
    "a newer schema": (newer_schema, "schema version 99"),
    "corrupted pages": (corrupted_pages, "corrupted"),
    "a truncated file": (truncated, "corrupted"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_host_refuses_a_state_file_it_does_not_own(tmp_path: Path, case: str) -> None:
    make, reason = CASES[case]
    state = make(tmp_path / "state.db")
    before = sha256(state)
    siblings_before = sorted(p.name for p in tmp_path.iterdir())
    port = free_port()

    result = subprocess.run(
        [sys.executable, "-m", "helpers.host", str(CHAIN_APP), "--port", str(port), "--state-db", str(state)],
        cwd=REPO_ROOT,
        env={**os.environ, "ACTIVITY_JOURNAL_PATH": str(tmp_path / "journal")},
        capture_output=True,
        text=True,
        timeout=45,
    )

    assert result.returncode != 0, result.stderr[-2000:]
    assert "Host failed to start" in result.stderr and reason in result.stderr, result.stderr[-2000:]
    assert str(state) in result.stderr, "the message must name the file"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert sha256(state) == before, "the state file was modified"
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings_before, "sidecar files (-wal/-shm) were left"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "a refused start must not leave a server listening"


def test_the_control_case_a_valid_state_file_is_accepted(tmp_path: Path) -> None:
    """Guards the cases above: the host does start on a healthy state file made the same way."""
    state = kit_state_file(tmp_path / "state.db")
    with StateFileReader(str(state)) as stored:
        assert stored.application_id() == APPLICATION_ID
    from helpers import processes

    host = processes.start_host(
        CHAIN_APP, state_db=state, env={"ACTIVITY_JOURNAL_PATH": str(tmp_path / "j")}, log_path=tmp_path / "host.log"
    )
    try:
        assert host.running
    finally:
        host.stop()
