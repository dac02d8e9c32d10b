"""Run the kit's services (the embedded Functions host, the offline model, the model gateway) as child processes.

Used by tests, notebooks and benchmarks alike:

    with start_host("functions_app") as host:          # waits until GET /admin/host/status says Running
        httpx.post(f"{host.url}/api/singleagent/run", ...)
    # leaving the block stops it (SIGTERM, then SIGKILL if it does not exit in time)

Every service writes stdout and stderr to one log file (`service.log_text()`), so a failure can be explained
with the host's own words. Services still running when Python exits are stopped by an `atexit` hook, so a
crashed test or an interrupted notebook leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import httpx
import psutil

from . import warm_start
from .parent_watch import PARENT_PID_VARIABLE
from .warm_start import WarmProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_START_TIMEOUT = 30.0
# How much longer than its timeout a start that keeps working may take (a start-up storm: see _wait_ready).
STORM_FACTOR = 5
DEFAULT_STOP_TIMEOUT = 10.0
LOG_TAIL_CHARS = 4000


class ServiceError(RuntimeError):
    """A service did not come up (exited or never became ready); the message ends with its log tail."""


class PortInUse(ServiceError):
    """The service could not listen on its port: another program took the port between its choice and the bind
    (many kits starting at once on one machine, a workshop room). Starting again on another port helps."""


# How uvicorn, aiohttp and redis-server say that their port is taken.
_PORT_TAKEN = re.compile(r"address already in use|errno 98\b|EADDRINUSE", re.IGNORECASE)
PORT_ATTEMPTS = 3  # ports chosen by the kit itself are chosen again this often


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """A running child process with a base URL and a log file."""

    def __init__(
        self,
        name: str,
        process: subprocess.Popen[bytes] | WarmProcess,
        url: str,
        log_path: Path,
        scratch_dir: Path | None,
    ) -> None:
        self.name = name
        self.process = process
        self.url = url
        self.log_path = log_path
        _live_services.add(self)
        if scratch_dir is not None:  # temp files we created (log, state db); removed at interpreter exit
            _scratch_dirs.append(scratch_dir)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return self.log_text()[-chars:]

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int | None:
        """Ask politely (SIGTERM: finish in-flight work, close the store); SIGKILL after `timeout` seconds."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        _live_services.discard(self)
        return self.process.returncode

    def kill(self) -> int | None:
        """SIGKILL: no clean-up at all — what crash-recovery tests need."""
        if self.running:
            self.process.kill()
            self.process.wait(timeout=DEFAULT_STOP_TIMEOUT)
        _live_services.discard(self)
        return self.process.returncode

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited({self.process.returncode})"
        return f"<Service {self.name} pid={self.pid} {self.url} {state}>"


def start_host(
    app_dir: str | os.PathLike[str],
    *,
    port: int | None = None,
    state_db: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    extra_args: Iterable[str] = (),
    timeout: float = DEFAULT_START_TIMEOUT,
    launcher: Sequence[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    inherit_env: bool = True,
) -> Service:
    """Start `python -m helpers.host APP_DIR` and wait until it reports `Running`.

    Without `state_db` the host gets a fresh SQLite file in a temp folder, so runs never share state by
    accident; pass a path to keep state across restarts (crash-recovery tests, notebooks).

    The deployment rehearsal (`helpers.rehearsal`) runs the host on another Python: `launcher` replaces
    `python -m helpers.host`, `cwd` the repository root as working folder, and `inherit_env=False` gives the
    host `env` alone instead of this process's environment plus `env`.
    """

    def start(port: int) -> Service:
        scratch = scratch_dir("kit-host-", needed=state_db is None or log_path is None)
        state = Path(state_db) if state_db is not None else Path(scratch or ".") / "state.sqlite3"
        args = [str(Path(app_dir)), "--port", str(port), "--state-db", str(state), *extra_args]
        command = [*(launcher or (sys.executable, "-m", "helpers.host")), *args]
        return start_service(
            "host",
            command,
            port,
            "/admin/host/status",
            env,
            log_path,
            scratch,
            timeout,
            cwd=Path(cwd) if cwd is not None else REPO_ROOT,
            inherit_env=inherit_env,
        )

    return _on_a_free_port(port, start)


def start_offline_model(
    port: int | None = None,
    latency_ms: int = 0,
    extra_args: Iterable[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Service:
    """Start `python -m helpers.offline_model` and wait until `GET /v1/models` answers."""

    def start(port: int) -> Service:
        scratch = scratch_dir("kit-model-", needed=log_path is None)
        args = ["--port", str(port), "--latency-ms", str(latency_ms), *extra_args]
        command = [sys.executable, "-m", "helpers.offline_model", *args]
        return start_service("offline_model", command, port, "/v1/models", env, log_path, scratch, timeout)

    return _on_a_free_port(port, start)


def start_model_gateway(
    upstream: str,
    *,
    label: str = "the model backend",
    port: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Service:
    """Start `python -m helpers.model_gateway` in front of `upstream` and wait until `GET /_gateway` answers.

    The upstream URL travels in the environment, not on the command line, so it never shows in a process list.
    """

    def start(port: int) -> Service:
        scratch = scratch_dir("kit-gateway-", needed=log_path is None)
        command = [sys.executable, "-m", "helpers.model_gateway", "--port", str(port), "--label", label]
        env = {"KIT_GATEWAY_UPSTREAM": upstream}
        return start_service("model_gateway", command, port, "/_gateway", env, log_path, scratch, timeout)

    return _on_a_free_port(port, start)


def start_identity_endpoint(
    token: str,
    secret: str,
    *,
    client_id: str | None = None,
    port: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Service:
    """Start `python -m helpers.identity_endpoint` (a local managed-identity token endpoint) until it answers."""

    def start(port: int) -> Service:
        scratch = scratch_dir("kit-identity-", needed=log_path is None)
        args = ["--port", str(port), "--token", token, "--secret", secret]
        if client_id is not None:
            args += ["--client-id", client_id]
        command = [sys.executable, "-m", "helpers.identity_endpoint", *args]
        return start_service("identity_endpoint", command, port, "/issued", None, log_path, scratch, timeout)

    return _on_a_free_port(port, start)


def start_redis(
    port: int | None = None,
    *,
    work_dir: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Service:
    """Start a real Redis server on 127.0.0.1 (`python -m helpers.redis_server`) and wait until it answers PING.

    Its `url` is `redis://127.0.0.1:<port>`, the form `REDIS_CONNECTION_STRING` takes. It keeps no data.
    """
    from .redis_server import ping

    def start(port: int) -> Service:
        scratch = scratch_dir("kit-redis-", needed=work_dir is None or log_path is None)
        data_dir = Path(work_dir) if work_dir is not None else Path(scratch or ".")
        log = Path(log_path) if log_path is not None else Path(scratch or ".") / "redis.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "helpers.redis_server", "--port", str(port), "--dir", str(data_dir)]
        process = _spawn(command, {**os.environ, "PYTHONUNBUFFERED": "1"}, REPO_ROOT, log)
        service = Service("redis", process, f"redis://127.0.0.1:{port}", log, scratch)
        deadline = time.monotonic() + timeout
        while not (ping(port) and _listens_on(service, port)):  # answers, and it is this Redis that does
            if not service.running or time.monotonic() > deadline:
                service.stop(timeout=3)
                state = f"exited with code {process.returncode}" if process.returncode is not None else "did not answer"
                error = PortInUse if _PORT_TAKEN.search(service.log_tail()) else ServiceError
                raise error(f"redis {state} before it was ready on port {port}. Log tail:\n{service.log_tail()}")
            time.sleep(0.02)
        return service

    return _on_a_free_port(port, start)


def _on_a_free_port(port: int | None, start: Callable[[int], Service]) -> Service:
    """`start(port)`. With no port asked for, the kit chooses one, and chooses again if another program took it
    before the service could listen on it."""
    if port is not None:
        return start(port)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return start(free_port())
        except PortInUse:
            if attempt == PORT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _listens_on(service: Service, port: int) -> bool:
    """Whether the service's own process (or one it started: redis-server) listens on `port`. A port another
    program took before the service could bind it answers too, but for that other program."""
    try:
        process = psutil.Process(service.pid)
        processes = [process, *process.children(recursive=True)]
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            for p in processes
            for c in p.net_connections(kind="tcp")
        )
    except psutil.AccessDenied:
        return True  # a system that does not tell: the answer it gave is taken as the service's own
    except psutil.Error:
        return False


def scratch_dir(prefix: str, *, needed: bool) -> Path | None:
    """A temp folder for what the caller did not place itself (a log, a state file), removed when Python exits;
    None when nothing needs one (a notebook's kernel may be killed, not exited, and leave empty folders behind)."""
    return Path(tempfile.mkdtemp(prefix=prefix)) if needed else None


def start_service(
    name: str,
    command: list[str],
    port: int,
    ready_path: str,
    env: Mapping[str, str] | None,
    log_path: str | os.PathLike[str] | None,
    scratch: Path | None,
    timeout: float,
    *,
    cwd: Path = REPO_ROOT,
    inherit_env: bool = True,
) -> Service:
    """Run `command` as a service (its output in `log_path`, else `scratch/<name>.log`) and wait until
    `http://127.0.0.1:<port><ready_path>` answers 200; the start_* functions above are this with their commands."""
    if log_path is None and scratch is None:
        raise ValueError(f"start_service({name!r}): give a log_path or a scratch folder for the log")
    log = Path(log_path) if log_path is not None else Path(scratch or ".") / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    base_env = os.environ if inherit_env else {}
    process = _spawn(command, {**base_env, **(env or {}), "PYTHONUNBUFFERED": "1"}, cwd, log)
    service = Service(name, process, f"http://127.0.0.1:{port}", log, scratch)
    try:
        _wait_ready(service, ready_path, timeout)
    except BaseException:
        service.stop(timeout=3)
        raise
    return service


def _spawn(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes] | WarmProcess:
    """Run `command`; a `python -m ...` of this Python is forked from the warm process where there is one.

    PARENT_PID_VARIABLE: the service stops itself if its parent dies without stopping it (parent_watch.py). A
    forked service's parent is the warm process, which ends when this process does.
    """
    if warm_start.enabled() and command[:2] == [sys.executable, "-m"]:
        try:
            warm = warm_start.server(REPO_ROOT)
            return warm.start(command[1:], env={**env, PARENT_PID_VARIABLE: str(warm.pid)}, cwd=cwd, log=log)
        except warm_start.WarmStartUnavailable:
            pass  # started the usual way below
    with open(log, "ab") as log_file:  # the child keeps its own descriptor; ours can close at once
        return subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, PARENT_PID_VARIABLE: str(os.getpid())},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C meant for the notebook/test runner does not hit the service
        )


def _wait_ready(service: Service, ready_path: str, timeout: float) -> None:
    """Until the service answers `ready_path`. It fails when the service exits, when it used no processor time
    for `timeout` seconds (it is stuck), or after STORM_FACTOR times `timeout` in all.

    A room of learners pressing "Run All" together starts dozens of services at once, each importing its
    libraries: the processors are shared out and every start takes longer (8 kits starting at once on a busy
    2-core machine took 30 s each; 16 would pass 60). A service still working towards ready is not stuck.
    """
    started = time.monotonic()
    progress_at, cpu_seen = started, _cpu_seconds(service)
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if not service.running:
                error = PortInUse if _PORT_TAKEN.search(service.log_tail()) else ServiceError
                raise error(
                    f"{service.name} exited with code {service.process.returncode} before it was ready. "
                    f"Log tail:\n{service.log_tail()}"
                )
            try:
                response = client.get(service.url + ready_path)
                if response.status_code == 200 and _ready_body(response) and _listens_on(service, service.port):
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            now, cpu = time.monotonic(), _cpu_seconds(service)
            if cpu > cpu_seen + 0.01:
                progress_at, cpu_seen = now, cpu
            if now - progress_at > timeout or now - started > timeout * STORM_FACTOR:
                why = "it stopped making progress" if now - progress_at > timeout else "it was still starting"
                raise ServiceError(
                    f"{service.name} was not ready at {service.url}{ready_path} within {now - started:.0f}s "
                    f"({why}). Log tail:\n{service.log_tail()}"
                )
            time.sleep(0.05)


def _cpu_seconds(service: Service) -> float:
    """Processor time the service has used so far (0 once it is gone)."""
    try:
        times = psutil.Process(service.pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _ready_body(response: httpx.Response) -> bool:
    if not response.url.path.startswith("/admin/host/status"):
        return True
    try:
        return response.json().get("state") == "Running"
    except ValueError:
        return False


_live_services: set[Service] = set()
_scratch_dirs: list[Path] = []


def live_services() -> set[Service]:
    """The services this process started that are still running (each is stopped when the process exits)."""
    return set(_live_services)


def _cleanup() -> None:
    for service in list(_live_services):
        try:
            service.stop(timeout=3)
        except Exception:
            pass
    warm_start.shutdown()
    for directory in _scratch_dirs:
        shutil.rmtree(directory, ignore_errors=True)


atexit.register(_cleanup)
