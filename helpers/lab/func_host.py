"""`func start` (Azure Functions Core Tools) as the kit's host, with the interface of `processes.Service`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .errors import LabError


@dataclass
class FuncHost:
    """`func start` run by Azure Functions Core Tools, with the interface of `processes.Service`."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)  # func starts worker processes; stop the whole group
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def wait_until_running(host: FuncHost, client: httpx.Client, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not host.running:
            raise LabError(
                f"`func start` exited with code {host.process.returncode}. Log tail:\n{host.log_text()[-3000:]}"
            )
        try:
            response = client.get(host.url + "/admin/host/status")
            if response.status_code == 200 and response.json().get("state") == "Running":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    host.stop()
    raise LabError(f"`func start` was not Running within {timeout:.0f}s. Log tail:\n{host.log_text()[-3000:]}")
