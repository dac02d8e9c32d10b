"""Services started through helpers.processes never outlive the process that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers.processes import REPO_ROOT

pytestmark = pytest.mark.timeout(60)

# A stand-in for a notebook kernel: starts both services, prints their pids, then waits to be killed.
KERNEL = textwrap.dedent("""
    import sys, time
    from helpers import processes
    model = processes.start_offline_model()
    host = processes.start_host("tests/apps/http_basic")
    print(model.pid, host.pid, flush=True)
    time.sleep(60)
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) counts as gone.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_services_stop_when_their_parent_is_killed() -> None:
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        model_pid, host_pid = (int(pid) for pid in kernel.stdout.readline().split())
        assert alive(model_pid) and alive(host_pid)
        kernel.send_signal(signal.SIGKILL)  # no atexit clean-up can run
        kernel.wait(timeout=10)
        deadline = time.monotonic() + 15
        while (alive(model_pid) or alive(host_pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(model_pid), "the offline model outlived its parent"
        assert not alive(host_pid), "the host outlived its parent"
    finally:
        kernel.kill()
        kernel.wait(timeout=10)
