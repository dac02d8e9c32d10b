"""The suite's one set of shared fixtures and wait helpers.

- Hosts: start embedded Functions hosts on free ports (`start_host`, `start_module_host`) and always stop what was
  started; a host is driven exactly like `func start` would be: a subprocess serving one app directory over real
  HTTP. `DurableApi` talks to one; `app_copy` copies a test app with the local.settings.json a test wants.
- Engines: a durable engine in the test's own process (`engine`, `started_engine`, `run_to_end`), on the small
  app of tests/engine/engine_app.py or any registry a test builds.
- Waits: `wait_until` (and `wait_until_async` inside an event loop) for any condition, `wait_for_status` for an
  orchestration's status over HTTP. Every wait in the suite is bounded, so a broken host fails a test instead of
  hanging the run.

The suite is organised by what it protects: engine/ (the engine's parts, in process), conformance/ (the Durable
extension's behaviour over HTTP), durability/ (crashes, restarts, the state file), host/ (the embedded host's
HTTP layer), faults/ (load, model faults, security), app/ (functions_app end to end), and the lab, the model
servers and the tooling at the top level. Test apps live in tests/apps/.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from helpers.durable_vocabulary import FINISHED_STATUSES

if TYPE_CHECKING:
    from helpers.host.engine import DurableEngine
    from helpers.host.registry import Registry
    from helpers.host.user_code import UserCodeRunner

T = TypeVar("T")

HOST_APPS = Path(__file__).parent / "apps"
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
        return wait_for_status(self.http, url, statuses, timeout=timeout, params=params, predicate=predicate)

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


# ---------------------------------------------------------------------------------------------------- apps
def app_copy(name: str, destination: Path, settings: dict[str, str] | None = None) -> Path:
    """Copy tests/apps/<name> to destination/<name>; write `settings` as local.settings.json `Values`
    (local.settings.json is git-ignored -- it holds secrets in real projects -- so tests write theirs)."""
    target = destination / name
    shutil.copytree(HOST_APPS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    if settings is not None:
        document = {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **settings}}
        (target / "local.settings.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target


def unique(prefix: str) -> str:
    """An instance id / entity key no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------------------------- waits
def wait_until(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.02) -> T:
    """Call `check` until it returns something truthy and return that; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(interval)


async def wait_until_async(
    check: Callable[[], T | Awaitable[T]], *, timeout: float = 10.0, what: str, interval: float = 0.01
) -> T:
    """`wait_until` inside an event loop, for a check that may be a coroutine: the loop runs between checks (an
    in-process engine works meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(interval)


def wait_for_status(
    http: httpx.Client,
    url: str,
    statuses: frozenset[str] | set[str] = FINISHED_STATUSES,
    *,
    timeout: float = 15.0,
    params: dict[str, Any] | None = None,
    predicate: Callable[[dict[str, Any]], bool] | None = None,
    expect_codes: tuple[int, ...] | None = None,
    interval: float = 0.05,
) -> dict[str, Any]:
    """Poll an orchestration status URL (the Durable HTTP API's, or an app's own status route) until its
    runtimeStatus is in `statuses` and `predicate` holds; fail on timeout with the last answer seen.
    `expect_codes`: fail at once on an answer with another status code (None: keep polling through any)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = http.get(url, params=params)
        if expect_codes is not None:
            assert response.status_code in expect_codes, f"{url}: HTTP {response.status_code} {response.text}"
        if response.status_code in (200, 202):
            last = response.json()
            if last.get("runtimeStatus") in statuses and (predicate is None or predicate(last)):
                return last
        else:
            last = f"HTTP {response.status_code}: {response.text[:500]}"
        time.sleep(interval)
    raise AssertionError(f"{url} did not reach {sorted(statuses)} within {timeout}s; last seen: {last!r}")


# ------------------------------------------------------------------------------------------------- engines
@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def runner() -> Iterator[UserCodeRunner]:
    """The worker threads and user-code loop in-process engines run user code on."""
    from helpers.host.user_code import UserCodeRunner

    code_runner = UserCodeRunner(max_workers=32)
    yield code_runner
    code_runner.shutdown(wait=False)


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "state.db")


ENGINE_LOGGER = "helpers.host.durable"


async def started_engine(registry: Registry, db_path: str, runner: UserCodeRunner, **options: Any) -> DurableEngine:
    """A durable engine on `db_path`, started (its unfinished work resumed)."""
    from helpers.host.engine import DurableEngine

    eng = DurableEngine(registry, db_path, runner, "TestHub", logging.getLogger(ENGINE_LOGGER), **options)
    await eng.start()
    return eng


@pytest.fixture
async def engine(db_path: str, runner: UserCodeRunner) -> AsyncIterator[DurableEngine]:
    """An engine on the app of tests/engine/engine_app.py, its activity counters reset."""
    from tests.engine.engine_app import CALLS, REGISTRY

    CALLS.clear()
    eng = await started_engine(REGISTRY, db_path, runner)
    yield eng
    await eng.stop(timeout=2)


async def run_to_end(
    engine: DurableEngine, name: str, input_value: Any = None, *, timeout: float = 10, instance_id: str | None = None
) -> dict[str, Any]:
    """Start an orchestration on an in-process engine and wait until it finishes; return its status."""
    client = engine.client
    iid = await client.start_orchestration(name, instance_id, None if input_value is None else json.dumps(input_value))
    status = await client.wait_for_instance(iid, timeout)
    assert status is not None
    return status
