"""The state file: one that is not this host's (corrupted, foreign, newer) is refused and left byte-for-byte as it
was (SHA-256 before/after) -- by the engine, and by the host, which then exits non-zero with a clear reason on
stderr and no port bound; one of an older schema version is upgraded when it is opened, keeping its work."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_faults import CHAIN_APP
from helpers.host.engine import DurableEngine, StoreError
from helpers.host.engine.store import APPLICATION_ID, SCHEMA_VERSION, StateFileReader, Store
from helpers.processes import REPO_ROOT, free_port
from tests.conftest import started_engine, wait_until_async
from tests.engine.engine_app import CALLS, GATE, REGISTRY

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


# ================================================================ the engine: refused or upgraded in process
@pytest.mark.anyio
async def test_a_file_of_schema_version_1_is_upgraded_and_its_work_in_flight_resumes(db_path, runner):
    """Version 1 files also kept a `work` row per activity in flight. Opening one drops that table, stamps the file
    version 2 -- which a host that only knows version 1 refuses, instead of finding no rows and hanging -- and the
    activity in flight runs again from what the history says."""
    CALLS.clear()
    GATE.clear()
    first = await started_engine(REGISTRY, db_path, runner)
    iid = await first.client.start_orchestration("gated_chain")
    await wait_until_async(lambda: CALLS.get("gated") == 1, what="the gated activity to start")
    await asyncio.sleep(0.05)
    first.abandon()  # as kill -9 leaves it
    with sqlite3.connect(db_path) as conn:  # the same file as version 1 wrote it
        as_schema_version_2(conn)
        conn.executescript(
            "CREATE TABLE work (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT "
            "NOT NULL, kind TEXT NOT NULL, task_id INTEGER NOT NULL, payload TEXT NOT NULL, fire_at REAL);"
            "CREATE INDEX work_by_instance ON work(instance_id);"
        )
        conn.execute(
            "INSERT INTO work(instance_id, execution_id, kind, task_id, payload) VALUES (?, 'e', 'activity', "
            '1, \'{"name": "gated", "input": "\\"crash\\""}\')',
            (iid,),
        )
        conn.execute("PRAGMA user_version = 1")
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        with StateFileReader(db_path) as stored:
            assert stored.schema_version() == SCHEMA_VERSION
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'work%'").fetchall() == []
        await wait_until_async(
            lambda: CALLS.get("gated") == 2, what="the gated activity to run again"
        )  # once, from the history
        GATE.set()
        status = await second.client.wait_for_instance(iid, 10)
        assert status["runtimeStatus"] == "Completed", status
        assert CALLS["gated"] == 2 and CALLS["hello"] == 2
    finally:
        GATE.set()
        await second.stop(timeout=2)


def as_schema_version_2(conn: sqlite3.Connection) -> None:
    """Rewrite a current file the way schema version 2 kept it: each input in its instance row."""
    conn.executescript(
        "ALTER TABLE instances ADD COLUMN input TEXT;"
        "UPDATE instances SET input = (SELECT input FROM inputs WHERE inputs.instance_id = instances.instance_id);"
        "DROP TABLE inputs; PRAGMA user_version = 2;"
    )


@pytest.mark.anyio
async def test_a_file_of_schema_version_2_is_upgraded_and_keeps_every_input(db_path, runner):
    """Version 2 kept an orchestration's input in its instance row; version 3 keeps it in a table of its own.
    A running instance and a finished one keep their inputs across the upgrade."""
    CALLS.clear()
    GATE.clear()
    first = await started_engine(REGISTRY, db_path, runner)
    done = await first.client.start_orchestration("chain", None, json.dumps({"name": "Ann"}))
    assert (await first.client.wait_for_instance(done, 10))["runtimeStatus"] == "Completed"
    running = await first.client.start_orchestration("gated_chain", None, json.dumps("kept"))
    await wait_until_async(lambda: CALLS.get("gated") == 1, what="the gated activity to start")
    first.abandon()  # as kill -9 leaves it
    with sqlite3.connect(db_path) as conn:
        as_schema_version_2(conn)
    second = await started_engine(REGISTRY, db_path, runner)
    try:
        with StateFileReader(db_path) as stored:
            assert stored.schema_version() == SCHEMA_VERSION
        with sqlite3.connect(db_path) as conn:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(instances)")]
            assert "input" not in columns
        GATE.set()
        status = await second.client.wait_for_instance(running, 10)
        assert status["runtimeStatus"] == "Completed" and status["input"] == json.dumps("kept"), status
        assert (await second.client.get_status(done))["input"] == json.dumps({"name": "Ann"})
    finally:
        GATE.set()
        await second.stop(timeout=2)


@pytest.mark.anyio
async def test_refuses_a_file_that_is_not_sqlite(tmp_path, runner):
    path = tmp_path / "notes.db"
    path.write_text("just some text, not a database\n" * 20)
    before = sha256(Path(path))
    with pytest.raises(StoreError, match="not an SQLite database"):
        await DurableEngine(REGISTRY, str(path), runner).start()
    assert sha256(Path(path)) == before


@pytest.mark.anyio
async def test_refuses_another_applications_database(tmp_path, runner):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers(name) VALUES ('Ann')")
    conn.commit()
    conn.close()
    before = sha256(Path(path))
    with pytest.raises(StoreError, match="another application"):
        await DurableEngine(REGISTRY, str(path), runner).start()
    assert sha256(Path(path)) == before
    assert list((tmp_path).iterdir()) == [path]


@pytest.mark.anyio
async def test_refuses_an_unknown_schema_version(db_path, runner):
    eng = await started_engine(REGISTRY, db_path, runner)
    await eng.stop()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        await DurableEngine(REGISTRY, db_path, runner).start()


@pytest.mark.anyio
async def test_refuses_a_corrupted_file(db_path, runner):
    eng = await started_engine(REGISTRY, db_path, runner)
    for i in range(30):
        await eng.client.start_orchestration("approval", f"i{i}", "30")
    await eng.stop()
    raw = bytearray(open(db_path, "rb").read())
    for offset in range(4096 + 100, len(raw), 997):  # scribble over pages after the header page
        raw[offset : offset + 8] = b"\xde\xad\xbe\xef\xde\xad\xbe\xef"
    open(db_path, "wb").write(bytes(raw))
    before = sha256(Path(db_path))
    with pytest.raises(StoreError):
        await DurableEngine(REGISTRY, db_path, runner).start()
    assert sha256(Path(db_path)) == before
