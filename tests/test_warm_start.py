"""helpers.warm_start: a service forked from the warm process is the program `python -m module args` would be.

Each test compares a forked probe (tests/warm_start_probe.py) with what the same command line gives a fresh
process: arguments, exactly the given environment, working directory, `sys.path[0]`, a session of its own, an
empty stdin, stdout and stderr in the log as they are written, and the exit status (a code, an exception, a
signal). The kit's services start this way on Linux (helpers.processes), so every other test runs on it too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import processes, warm_start

pytestmark = pytest.mark.skipif(not warm_start.enabled(), reason="warm start is for Linux")

PROBE = ["-m", "tests.warm_start_probe"]


@pytest.fixture(scope="module")
def warm() -> warm_start.WarmServer:
    server = warm_start.WarmServer(processes.REPO_ROOT)
    yield server
    server.close()


def run_probe(warm: warm_start.WarmServer, tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    out, log = tmp_path / "seen.json", tmp_path / "probe.log"
    env = env if env is not None else {"ONLY_THIS": "1", "PATH": os.environ["PATH"]}
    process = warm.start([*PROBE, str(out), *args], env=env, cwd=processes.REPO_ROOT, log=log)
    code = process.wait(timeout=30)
    return code, json.loads(out.read_text()) if out.exists() else None, log.read_text(), process


def fresh_probe(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "fresh.json"
    subprocess.run(
        [sys.executable, *PROBE, str(out), *args],
        cwd=processes.REPO_ROOT,
        env={"ONLY_THIS": "1", "PATH": os.environ["PATH"]},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return json.loads(out.read_text())


def test_a_forked_service_sees_what_python_dash_m_would_give_it(warm, tmp_path: Path) -> None:
    code, seen, log, process = run_probe(warm, tmp_path, "0")
    fresh = fresh_probe(tmp_path, "0")
    assert code == 0 and process.returncode == 0 and process.poll() == 0
    assert seen["argv"][0] == fresh["argv"][0] == str(processes.REPO_ROOT / "tests" / "warm_start_probe.py")
    assert seen["argv"][1:] == [str(tmp_path / "seen.json"), "0"]
    assert seen["name"] == fresh["name"] == "__main__"
    assert seen["cwd"] == fresh["cwd"] and seen["path0"] == fresh["path0"] == str(processes.REPO_ROOT)
    # exactly the environment it was given (Python may add its own LC_CTYPE coercion, as it does when fresh)
    assert {k: v for k, v in seen["env"].items() if k != "LC_CTYPE"} == {"ONLY_THIS": "1", "PATH": os.environ["PATH"]}
    assert seen["sid"] == seen["pid"] != os.getsid(0), "a session of its own, as start_new_session=True"
    assert seen["stdin"] == ""
    assert log == "to stdout\nto stderr\n"


def test_exit_codes_exceptions_and_signals_reach_the_parent(warm, tmp_path: Path) -> None:
    assert run_probe(warm, tmp_path, "3")[0] == 3
    code, _, log, _ = run_probe(warm, tmp_path, "0", "raise")
    assert code == 1 and "RuntimeError: the probe was told to fail" in log

    sleeper = warm.start(
        ["-m", "http.server", "0", "--bind", "127.0.0.1"], env=dict(os.environ), cwd=tmp_path, log=tmp_path / "s.log"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(timeout=0.3)
    assert sleeper.poll() is None
    sleeper.kill()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL


def test_the_warm_process_ends_with_its_parent_and_its_services_stop(tmp_path: Path) -> None:
    """A parent that dies without stopping anything: the warm process sees its stdin close and ends; the
    service sees its parent change (parent_watch.py) and stops itself."""
    script = """
import sys, time
from helpers import processes
model = processes.start_offline_model()
print(model.pid, processes.warm_start.server(processes.REPO_ROOT).pid, flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=processes.REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    service_pid, warm_pid = map(int, parent.stdout.readline().split())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 15
    alive = {service_pid, warm_pid}
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if not ended(pid)}
        time.sleep(0.1)
    assert not alive, f"still running: {alive}"


def ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (a container's first process may not reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_services_start_fresh_when_warm_start_is_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(warm_start.ENABLED_VARIABLE, "0")
    with processes.start_offline_model() as model:
        assert isinstance(model.process, subprocess.Popen) and model.running
