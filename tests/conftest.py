"""Shared fixtures: start embedded Functions hosts on free ports and always stop what was started.

The host is driven exactly like `func start` would be: a subprocess serving one app directory over real HTTP.
Every wait in the suite is bounded, so a broken host fails a test instead of hanging the run.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.durable_vocabulary import FINISHED_STATUSES

HOST_APPS = Path(__file__).parent / "host" / "apps"
DURABLE_WEBHOOKS = "/runtime/webhooks/durabletask"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a couple of seconds (restarts, real sleeps)")


@pytest.fixture(autouse=True)
def _collect_garbage_before_async_tests(request: pytest.FixtureRequest) -> None:
    """Collect garbage before every anyio test, outside any event loop.

    openai's async HTTP client closes itself from `__del__` by scheduling `aclose()` on whatever loop is running.
    A client an earlier test left behind, collected during an async test, would schedule that on the test's
    loop while its connections belong to the earlier, closed loop; anyio reports the error against the
    innocent test. Collected here, with no loop running, `__del__` finds none and does nothing.
    """
    if request.node.get_closest_marker("anyio") is not None:
        gc.collect()


class HostLauncher:
    """Starts hosts through `helpers.processes.start_host`, remembers them, and stops them all on `close()`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._services: list[Any] = []

    def __call__(
        self,
        app_dir: Path | str,
        *,
        state_db: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> Any:
        # Imported here so that an unfinished helpers package cannot break collection of unrelated tests.
        from helpers import processes

        index = len(self._services)
        app_dir = Path(app_dir)
        if not app_dir.is_absolute():
            app_dir = HOST_APPS / app_dir
        service = processes.start_host(
            app_dir,
            port=port,
            state_db=state_db or self._workdir / f"state-{index}.db",
            env=env,
            log_path=self._workdir / f"host-{index}.log",
        )
        self._services.append(service)
        return service

    def close(self) -> None:
        for service in reversed(self._services):
            try:
                service.stop()
            except Exception:  # a service already killed by the test must not hide the test's own result
                pass
        self._services.clear()


@pytest.fixture
def start_host(tmp_path: Path) -> Iterator[HostLauncher]:
    """Factory for hosts that live for one test (restarts, kill -9)."""
    launcher = HostLauncher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def start_module_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostLauncher]:
    """Factory for hosts shared by every test of one module (one process per app per module keeps the suite fast)."""
    launcher = HostLauncher(tmp_path_factory.mktemp("hosts"))
    try:
        yield launcher
    finally:
        launcher.close()


class DurableApi:
    """Small client for a running host: the app's own routes plus the public Durable HTTP API."""

    def __init__(self, base_url: str, route_prefix: str = "api") -> None:
        self.base_url = base_url.rstrip("/")
        self.route_prefix = route_prefix
        self.http = httpx.Client(base_url=self.base_url, timeout=15.0)

    def app_url(self, route: str) -> str:
        return f"/{self.route_prefix}/{route.lstrip('/')}" if self.route_prefix else f"/{route.lstrip('/')}"

    def instance_url(self, instance_id: str) -> str:
        return f"{DURABLE_WEBHOOKS}/instances/{instance_id}"

    def status(self, instance_id: str, **params: Any) -> httpx.Response:
        return self.http.get(self.instance_url(instance_id), params=params)

    def wait_for(
        self,
        instance_id_or_url: str,
        statuses: frozenset[str] | set[str] = FINISHED_STATUSES,
        *,
        timeout: float = 15.0,
        params: dict[str, Any] | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Poll an instance until its runtimeStatus is in `statuses` (and `predicate` holds); fail on timeout."""
        url = instance_id_or_url if "/" in instance_id_or_url else self.instance_url(instance_id_or_url)
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            response = self.http.get(url, params=params)
            if response.status_code in (200, 202):
                last = response.json()
                if last.get("runtimeStatus") in statuses and (predicate is None or predicate(last)):
                    return last
            else:
                last = f"HTTP {response.status_code}: {response.text[:500]}"
            time.sleep(0.05)
        raise AssertionError(f"{url} did not reach {sorted(statuses)} within {timeout}s; last seen: {last!r}")

    def start(self, orchestrator: str, payload: Any = None, *, instance_id: str | None = None) -> dict[str, Any]:
        """Start through the app's own starter route (which calls `client.start_new`); return the 202 body."""
        route = f"orchestrators/{orchestrator}" + (f"/{instance_id}" if instance_id else "")
        response = (
            self.http.post(self.app_url(route), json=payload)
            if payload is not None
            else self.http.post(self.app_url(route))
        )
        assert response.status_code == 202, f"starting {orchestrator}: HTTP {response.status_code} {response.text}"
        return response.json()

    def run(self, orchestrator: str, payload: Any = None, *, timeout: float = 15.0, **params: Any) -> dict[str, Any]:
        """Start an orchestration and wait until it finishes; return the final status JSON."""
        started = self.start(orchestrator, payload, **params)
        return self.wait_for(started["id"], timeout=timeout)

    def host_is_running(self) -> bool:
        response = self.http.get("/admin/host/status")
        return response.status_code == 200 and response.json().get("state") == "Running"

    def close(self) -> None:
        self.http.close()
