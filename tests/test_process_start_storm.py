"""Starting a service under a start-up storm: a service still working towards ready gets the time it needs; one
that does nothing is reported as stuck after the timeout (helpers.processes.start_service)."""

from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from helpers import processes

pytestmark = pytest.mark.timeout(60)

# Works (burns processor time, as importing libraries does) for `busy` seconds, then answers on its port.
SLOW_START = textwrap.dedent("""
    import sys, time, http.server
    busy, port = float(sys.argv[1]), int(sys.argv[2])
    end = time.monotonic() + busy
    while time.monotonic() < end:
        sum(range(1000))
    http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
""")


def start(script: str, *args: str, timeout: float) -> processes.Service:
    port = processes.free_port()
    scratch = Path(tempfile.mkdtemp(prefix="kit-storm-"))
    command = [sys.executable, "-c", script, *args, str(port)]
    return processes.start_service("slow", command, port, "/", None, None, scratch, timeout)


def test_a_start_that_keeps_working_past_its_timeout_is_waited_for() -> None:
    began = time.monotonic()
    service = start(SLOW_START, "1.0", timeout=0.3)
    try:
        assert service.running and time.monotonic() - began >= 1.0
    finally:
        service.stop()


def test_a_start_that_does_nothing_is_stuck_after_its_timeout() -> None:
    began = time.monotonic()
    with pytest.raises(processes.ServiceError, match="stopped making progress"):
        start("import sys, time; time.sleep(30)", timeout=0.5)
    assert time.monotonic() - began < 10


def test_a_start_that_works_for_ever_ends_after_the_storm_allowance() -> None:
    with pytest.raises(processes.ServiceError, match="still starting"):
        start(SLOW_START, "30", timeout=0.3)  # 5 x 0.3 s allowed
