"""Start the kit's Python services by forking a process that has already imported their libraries.

A fresh `python -m helpers.host` spends about 1.3 s of CPU importing openai, Agent Framework, the Functions
and Durable SDKs, Starlette and uvicorn before it serves anything; the offline model about 0.9 s. A test run
starts some 150 services, a notebook several (restarts included), a workshop room hundreds at once. So the
first service a process starts also starts one *warm process* (`python -m helpers.warm_start`) that imports
those libraries once; every service after that is forked from it and pays only for what is its own (about
0.1 s for the host with the kit's app). Forked services share the imported code's memory pages, too.

A forked service is the same program as `python -m <module> ...` with the same arguments, environment, working
directory and log (see __main__.py), so nothing else in the kit knows the difference: `WarmProcess` answers
what `subprocess.Popen` does (`pid`, `poll`, `wait`, `send_signal`, `terminate`, `kill`, `returncode`).

Linux only, where fork is cheap and safe for these libraries; elsewhere, or with `KIT_WARM_START=0`, or if the
warm process cannot start, services start as fresh processes, as before.

Why not `multiprocessing`'s forkserver: its children first re-import the parent's `__main__` module (a
Jupyter kernel's launcher, a benchmark script) and run a pickled function, not `python -m module` with its own
argv, stdio and exit status; a service must be indistinguishable from one started on the command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ENABLED_VARIABLE = "KIT_WARM_START"
START_TIMEOUT = 60.0  # the warm process's imports, on a busy machine


class WarmStartUnavailable(RuntimeError):
    """The warm process could not be started or could not fork; start the service the usual way."""


def enabled() -> bool:
    return sys.platform == "linux" and os.environ.get(ENABLED_VARIABLE, "1") != "0"


class WarmProcess:
    """A service forked by the warm process, with the part of `subprocess.Popen`'s interface the kit uses."""

    def __init__(self, server: WarmServer, pid: int, args: Sequence[str]) -> None:
        self._server = server
        self.pid = pid
        self.args = list(args)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.exit_code(self.pid, timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            code = self._server.exit_code(self.pid, timeout=timeout)
            if code is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = code
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass  # it ended between the poll and the signal; its exit is on its way

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __repr__(self) -> str:
        return f"<WarmProcess pid={self.pid} returncode={self.returncode}>"


class WarmServer:
    """This process's link to its warm process: one request at a time, exits reported by a reader thread."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "helpers.warm_start"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests: IO[bytes] = self._process.stdin
        self._replies: IO[bytes] = self._process.stdout
        self._lock = threading.Lock()  # one request and its answer at a time (services start side by side)
        self._changed = threading.Condition()
        self._answers: list[dict[str, Any]] = []
        self._exits: dict[int, int] = {}
        self._ready = False
        self._gone = False
        threading.Thread(target=self._read, name="warm-start-reader", daemon=True).start()
        with self._changed:
            if not self._changed.wait_for(lambda: self._ready or self._gone, START_TIMEOUT) or self._gone:
                self.close()
                raise WarmStartUnavailable("the warm process did not start")

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self._gone

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path) -> WarmProcess:
        request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log)}
        with self._lock:
            try:
                self._requests.write(json.dumps(request).encode() + b"\n")
                self._requests.flush()
            except OSError as exc:
                raise WarmStartUnavailable(f"the warm process is gone ({exc})") from None
            with self._changed:
                self._changed.wait_for(lambda: self._answers or self._gone, START_TIMEOUT)
                if not self._answers:
                    raise WarmStartUnavailable("the warm process did not answer")
                answer = self._answers.pop(0)
        if "pid" not in answer:
            raise WarmStartUnavailable(answer.get("error", "the warm process could not fork"))
        return WarmProcess(self, answer["pid"], [sys.executable, *argv])

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """The service's exit status once it has ended; None if it is still running after `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self._gone, timeout)
            if pid in self._exits:
                return self._exits[pid]
        if self._gone:  # no one reaps it any more: it was re-parented; tell by whether it still exists
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return self._exits.setdefault(pid, -signal.SIGKILL)
        return None

    def close(self) -> None:
        """End the warm process (its services stop themselves once they see it gone, as parent_watch.py says)."""
        try:
            self._requests.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def _read(self) -> None:
        for line in self._replies:
            message = json.loads(line)
            with self._changed:
                if "exited" in message:
                    self._exits[message["exited"]] = message["code"]
                elif "ready" in message:
                    self._ready = True
                else:
                    self._answers.append(message)
                self._changed.notify_all()
        with self._changed:
            self._gone = True
            self._changed.notify_all()


_server: WarmServer | None = None
_server_lock = threading.Lock()


def server(cwd: Path) -> WarmServer:
    """This process's warm process, started on first use (and again if it died)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive:
            _server = WarmServer(cwd)
        return _server


def shutdown() -> None:
    """End this process's warm process, if it has one (after its services were stopped)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
            _server = None
