"""The running kit: start the model backend, the model gateway and the Functions host; stop them; crash the host.

    kit = lab.start()             # offline model + gateway + embedded host, on free ports, with fresh state
    kit = lab.start(model="env")  # your Azure OpenAI / OpenAI-compatible server instead (checked with one call)
    kit.kill_host(); kit.start_host()   # a crash and a restart on the same state
    kit = lab.start(redis=True)   # also a real Redis server, for apps that stream answers through Redis Streams
    kit.stop()

What runs:
- the model backend: the kit's offline model (a child process), or the one your settings describe (nothing is
  started for it);
- the model gateway (`helpers.model_gateway`), a recording pass-through in front of that backend: the app's
  endpoint setting is pointed at it, so `kit.model_calls()` sees every real call whatever the backend;
- the Functions host: the embedded one (`python -m helpers.host`) or `func start`;
- with `redis=True`, a real Redis server on a free loopback port (`helpers.redis_server`), whose URL the app gets
  as `REDIS_CONNECTION_STRING`; it keeps nothing (no snapshot, no append-only file) and stops with the kit.

Fresh state under `func start`: the embedded host keeps each kit's state in its own SQLite file, but
`func start` keeps it in the Durable Task Scheduler (or emulator), which outlives the kit. So every
`host="func"` kit gets its own task hub, `kit<8 hex digits>`: `TASKHUB_NAME` is set to it and the
`TaskHub=` part of `DURABLE_TASK_SCHEDULER_CONNECTION_STRING` is rewritten to match. Environment variables
win over `local.settings.json` under Core Tools, so the app's own settings file stays untouched. The
scheduler must accept a task hub it has not seen before: start the emulator with
`-e DTS_USE_DYNAMIC_TASK_HUBS=true` (a hosted scheduler needs the hub created first; use
`lab.start(host="func")` against the emulator only). This has not been verified against every emulator
version: if `func start` logs that the task hub does not exist, that is why.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .. import processes
from ..offline_settings import offline_model_settings
from . import deploy, stepper
from .durable_client import DurableApiClient
from .environment import DEFAULT_APP_DIR, BackendChoice, choose_host, choose_model, settings_as_host_sees_them
from .errors import LabError
from .func_host import FuncHost, wait_until_running
from .model_calls import ModelRecords

DEFAULT_LATENCY_MS = 300
START_TIMEOUT = 60.0
DEFAULT_TASK_HUB = "default"  # the value local.settings.json.template gives TASKHUB_NAME
DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
LOOPBACK_HOSTS = "127.0.0.1,localhost"
WORK_DIR_SETTING = "LAB_WORK_DIR"
REDIS_SETTING = "REDIS_CONNECTION_STRING"  # the name Agent Framework's reliable-streaming sample reads
# How long `lab.poll` waits by default: a real model can take tens of seconds per call.
WAIT_BUDGET_SECONDS = {"offline": 60.0, "env": 300.0}


class Lab(DurableApiClient, ModelRecords):
    """The running kit: the model backend, the model gateway, the Functions host, and what reads their state.

    State (orchestration history, entity state) lives in a SQLite file in the kit's own temp folder
    (embedded host) or in the kit's own task hub, `task_hub` (`func start`, see the module docstring);
    `restart_host()` and `kill_host()` keep it, `stop()` removes the temp folder.
    """

    def __init__(
        self,
        *,
        model: BackendChoice,
        host: str,
        app_dir: Path,
        latency_ms: int,
        start_timeout: float = START_TIMEOUT,
        redis: bool = False,
    ) -> None:
        self.model = model
        self.host_kind = host
        self.app_dir = Path(app_dir).resolve()
        self.base_app_dir = self.app_dir  # what `deploy` builds on: the app the kit started with
        self._deployments = 0
        self._deployed: dict[str, Callable[..., Any]] = {}  # what `deploy` put on the host, by name
        self._deployed_sources: dict[str, str] = {}
        self._durable_task: dict[str, Any] = {}  # host.json extensions.durableTask settings `deploy` set
        self.latency_ms = latency_ms
        self.start_timeout = start_timeout
        self.work_dir = Path(tempfile.mkdtemp(prefix="durable-lab-"))
        self.state_db = self.work_dir / "state.sqlite3"
        self.host_log_path = self.work_dir / "host.log"
        self._model_service: processes.Service | None = None
        self._gateway: processes.Service | None = None
        self._host: processes.Service | FuncHost | None = None
        self.uses_redis = redis
        self._redis: processes.Service | None = None
        self._redis_port: int | None = None
        self._port: int | None = None
        self._gateway_url: str | None = None  # known before the gateway answers: the host is started with it
        self._http = httpx.Client(timeout=30.0, trust_env=False)
        self._stopped = False
        self._started = False  # True once the first start succeeded: the host's port is then fixed
        # One task hub per func kit, kept across restart_host()/start_host() so unfinished work resumes.
        self.task_hub: str | None = new_task_hub_name() if host == "func" else None

    # ---------------------------------------------------------------------------------------- lifecycle

    def _start(self) -> Lab:
        """Start the model backend (offline), the gateway and the host, on ports chosen up front.

        With the offline model the three start side by side: each is a Python process that spends most of its
        start importing libraries, and the host calls the model only when an agent runs, never while starting.
        With your own model the host waits for `check_model()`, so a wrong key is reported before anything else.
        A port another program took between its choice and the bind (many kits starting at once, a workshop
        room on one machine) is chosen again: everything this start began stops, and it starts over.
        """
        for attempt in range(1, processes.PORT_ATTEMPTS + 1):
            try:
                self._start_services()
                self._started = True
                return self
            except processes.PortInUse:
                self._stop_services()
                if attempt == processes.PORT_ATTEMPTS:
                    self.stop()
                    raise LabError(
                        f"Another program took the ports chosen for the kit, {attempt} times in a row; "
                        "start it again when fewer kits are starting."
                    ) from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _start_services(self) -> None:
        if self.uses_redis:  # its URL goes into the host's settings; it answers long before the host does
            (self._redis_port,) = _distinct_free_ports(1)
        if self.model.mode == "offline":
            model_port, gateway_port, self._port = _distinct_free_ports(3)
            self._gateway_url = f"http://127.0.0.1:{gateway_port}"
            _side_by_side(
                lambda: self._start_offline_model(model_port),
                lambda: self._start_gateway(f"http://127.0.0.1:{model_port}", gateway_port),
                self._start_redis,
                self._start_host,
            )
        elif not self.model.configured:
            raise LabError(
                f"model='env' asks for a real model, but none is configured: {self.model.problem}\n"
                "Use lab.start(model='offline'), or set the variables (see notebook 00)."
            )
        else:
            assert self.model.upstream is not None
            gateway_port, self._port = _distinct_free_ports(2)
            self._gateway_url = f"http://127.0.0.1:{gateway_port}"
            self._start_gateway(self.model.upstream, gateway_port)
            self.check_model()  # a wrong key or deployment is reported now, in one sentence, not mid-lesson
            self._start_redis()
            self._start_host()

    def _stop_services(self) -> None:
        """Stop what a start that failed had started, so it can start over on other ports."""
        for service in (self._host, self._gateway, self._model_service, self._redis):
            if service is not None:
                with contextlib.suppress(Exception):
                    service.stop(timeout=3)
        self._host = self._gateway = self._model_service = self._redis = None

    def _start_offline_model(self, port: int) -> None:
        self._model_service = processes.start_offline_model(
            port, latency_ms=self.latency_ms, log_path=self.work_dir / "model.log", timeout=self.start_timeout
        )

    def _start_gateway(self, upstream: str, port: int) -> None:
        self._gateway = processes.start_model_gateway(
            upstream,
            label=self.model.label,
            port=port,
            log_path=self.work_dir / "gateway.log",
            timeout=self.start_timeout,
        )

    def _start_redis(self) -> None:
        if self._redis_port is None:
            return
        try:
            self._redis = processes.start_redis(
                self._redis_port,
                work_dir=self.work_dir / "redis",
                log_path=self.work_dir / "redis.log",
                timeout=self.start_timeout,
            )
        except processes.PortInUse:
            raise  # _start chooses other ports
        except processes.ServiceError as error:
            raise LabError(f"Redis did not start. {error}") from None

    def _model_settings(self) -> dict[str, str]:
        return model_settings(self.model, self.gateway_url)

    def _host_env(self) -> dict[str, str]:
        env = host_environment(
            settings_as_host_sees_them(self.app_dir), model=self._model_settings(), task_hub=self.task_hub
        )
        env[WORK_DIR_SETTING] = str(self.work_dir)  # a folder of this kit's own, for files an app writes
        if self._redis_port is not None:
            env[REDIS_SETTING] = self.redis_url
        return env

    def _start_host(self) -> None:
        assert self._port is not None
        if self.host_kind == "func":
            self._host = self._start_func()
            return
        try:
            self._host = processes.start_host(
                self.app_dir,
                port=self._port,
                state_db=self.state_db,
                env=self._host_env(),
                log_path=self.host_log_path,
                timeout=self.start_timeout,
            )
        except processes.PortInUse as error:
            if not self._started:
                raise  # _start chooses other ports
            raise LabError(
                f"Another program took port {self._port} while the host was stopped, and the host must come back "
                f"on it (the URLs it handed out name it). Stop the kit and start it again. {error}"
            ) from None
        except processes.ServiceError as error:
            raise LabError(f"The Functions host did not start. {error}") from None

    def _start_func(self) -> FuncHost:
        func = shutil.which("func")
        if func is None:
            raise LabError(
                "host='func' needs Azure Functions Core Tools v4 (`func`) on PATH. Install it "
                "(https://learn.microsoft.com/azure/azure-functions/functions-run-local) or use host='embedded'."
            )
        env = {**os.environ, **self._host_env()}
        with open(self.host_log_path, "ab") as log:
            process = subprocess.Popen(
                [func, "start", "--port", str(self._port)],
                cwd=self.app_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        host = FuncHost(process, f"http://127.0.0.1:{self._port}", self.host_log_path)
        wait_until_running(host, self._http, timeout=max(self.start_timeout, 120.0))
        return host

    def restart_host(self) -> None:
        """Stop the host gracefully and start it again on the same port with the same state file."""
        if self._host is not None:
            self._host.stop()
        self._start_host()

    def kill_host(self) -> None:
        """Kill the host with SIGKILL, as a crash would: no clean-up, in-flight work is cut off.

        One thing happens first: the host is asked for its status, which makes the embedded host write out the
        log lines it has queued (its log writer batches them for up to 10 ms). The durable state is untouched by
        that, and the log then shows everything up to the crash -- which is what a lesson reads it for.
        """
        if self._host is not None:
            with contextlib.suppress(httpx.HTTPError):
                self._http.get(f"{self.base_url}/admin/host/status", timeout=2.0)
            self._host.kill()

    def start_host(self) -> None:
        """Start the host again after `kill_host()`: same port, same state file, so unfinished work resumes."""
        if self._host is not None and self._host.running:
            raise LabError("The host is already running; call kill_host() or restart_host() instead.")
        self._start_host()

    def deploy(self, *functions: Callable[..., Any], durable_task: Mapping[str, Any] | None = None) -> list[str]:
        """Run notebook functions (`@lab.orchestrator`, `@lab.activity`, `@lab.workflow`) on the host; see `lab.deploy`.

        Each call adds these functions to those deployed before (a function of the same name is replaced), and
        the host restarts on the kit's app plus all of them, with the same state and port. `durable_task`
        settings (e.g. `{"defaultVersion": "2.0"}`) are merged into the deployed host.json's
        `extensions.durableTask` and kept for later deploys. When nothing changed -- the same functions with the
        same source, the same settings -- the host is left running as it is. Returns the names of every
        deployed function.
        """
        wanted = dict(self._deployed)
        for function in functions:
            wanted[function.__name__] = function
        settings = {**self._durable_task, **(durable_task or {})}
        sources = {name: deploy.function_source(f) + deploy.registration(f) for name, f in wanted.items()}
        if (functions or durable_task) and sources == self._deployed_sources and settings == self._durable_task:
            return list(wanted)
        self._deployments += 1
        target = self.work_dir / f"{deploy.GENERATED_APP_DIR}_{self._deployments}"
        deploy.write_app(tuple(wanted.values()), self.base_app_dir, target, settings)
        previous = self.app_dir
        self.app_dir = target
        try:
            self.restart_host()
        except LabError as error:
            self.app_dir = previous
            self.restart_host()  # back to the app that worked, so the kit stays usable
            raise LabError(f"Your functions did not load, so the kit went back to its previous app. {error}") from None
        self._deployed, self._deployed_sources, self._durable_task = wanted, sources, settings
        return list(wanted)

    def durable_task_settings(self) -> dict[str, Any]:
        """The `extensions.durableTask` section of the host.json the host runs with now (hubName, defaultVersion...)."""
        host_json = self.app_dir / "host.json"
        if not host_json.exists():
            return {}
        config = json.loads(host_json.read_text(encoding="utf-8"))
        return dict((config.get("extensions") or {}).get("durableTask") or {})

    def replay_steps(self, instance_id: str) -> stepper.ReplaySteps:
        """Re-run the instance's orchestrator on each prefix of its history; one row per episode (`lab.stepper`)."""
        if self.host_kind != "embedded":
            raise LabError(
                "The replay stepper reads the embedded host's stored history (episode markers "
                "included), which `func start` keeps inside its storage provider: use host='embedded'."
            )
        response = self._http.get(f"{self.base_url}/admin/instances/{quote(instance_id, safe='')}/history")
        if response.status_code == 404:
            raise LabError(f"No orchestration instance {instance_id!r} on this host.")
        response.raise_for_status()
        return stepper.run_in_subprocess(self.app_dir, response.json(), self._host_env())

    def stop(self) -> None:
        """Stop the host, the gateway and the model and remove the kit's temp folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for service in (self._host, self._gateway, self._model_service, self._redis):
            if service is not None:
                try:
                    service.stop()
                except Exception:
                    pass
        self._http.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        _running_kits.discard(self)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ facts

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: the app's routes live under /api, the Durable API under /runtime."""
        if self._port is None:
            raise LabError("The kit has not started.")
        return f"http://127.0.0.1:{self._port}"

    @property
    def deployments(self) -> int:
        """How many times `deploy` has put functions on the host in this kit."""
        return self._deployments

    @property
    def gateway_url(self) -> str:
        """The model gateway the app's client calls; it forwards to the backend and records every call."""
        if self._gateway_url is None:
            raise LabError("The kit has not started.")
        return self._gateway_url

    @property
    def redis_url(self) -> str:
        """`redis://127.0.0.1:<port>`: the kit's Redis server (`lab.start(redis=True)`), the app's REDIS_CONNECTION_STRING."""
        if self._redis_port is None:
            raise LabError("This kit runs no Redis server: start it with lab.start(..., redis=True).")
        return f"redis://127.0.0.1:{self._redis_port}"

    @property
    def model_url(self) -> str | None:
        """The offline model's own URL (None with model='env': the backend is yours)."""
        return self._model_service.url if self._model_service else None

    @property
    def wait_budget(self) -> float:
        """Seconds `lab.poll` waits by default: a minute offline, five with a real model."""
        return WAIT_BUDGET_SECONDS[self.model.mode]

    @property
    def host_pid(self) -> int | None:
        return self._host.pid if self._host else None

    @property
    def host_running(self) -> bool:
        return bool(self._host and self._host.running)

    def serves(self, url: str) -> bool:
        """Does `url` point at this kit's host (a status URL it handed out, say)?"""
        return self._port is not None and not self._stopped and url.startswith(self.base_url + "/")

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("running" if self.host_running else "host down")
        hub = f", task hub {self.task_hub}" if self.task_hub else ""
        redis = ", redis" if self._redis_port is not None else ""
        return f"<Lab {self.host_kind} host at {self.base_url}{hub}, model {self.model.mode}{redis}, {state}>"

    def host_log(self, instance_id: str | None = None) -> list[str]:
        """Lines of the host log (across restarts), optionally only those that mention `instance_id`."""
        text = self.host_log_path.read_text(encoding="utf-8", errors="replace") if self.host_log_path.exists() else ""
        lines = text.splitlines()
        return [line for line in lines if instance_id in line] if instance_id else lines


def new_task_hub_name() -> str:
    """`kit` + 8 random hex digits: letters and digits only, which every Durable backend accepts as a hub name."""
    return "kit" + secrets.token_hex(4)


def with_task_hub(connection_string: str, task_hub: str) -> str:
    """The connection string with its `TaskHub=` part set to `task_hub` (added when it has none)."""
    pattern = re.compile(r"(^|;)(\s*)TaskHub\s*=[^;]*", re.IGNORECASE)
    if pattern.search(connection_string):
        return pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}TaskHub={task_hub}", connection_string, count=1)
    return f"{connection_string.rstrip(';')};TaskHub={task_hub}"


def model_settings(backend: BackendChoice, gateway_url: str) -> dict[str, str]:
    """The app settings that send its model calls to the gateway; the gateway forwards them to `backend`.

    Only the endpoint changes: keys, deployment names and API versions stay the learner's own, so the app's
    client authenticates exactly as it would against the backend directly (the gateway passes keys through).
    """
    if backend.kind == "offline":
        return offline_model_settings(gateway_url)
    if backend.kind == "azure_openai":
        return {"AZURE_OPENAI_ENDPOINT": gateway_url}
    return {"OPENAI_BASE_URL": gateway_url}


def host_environment(settings: Mapping[str, str], *, model: Mapping[str, str], task_hub: str | None) -> dict[str, str]:
    """The variables the lab adds to the host's environment (they win over local.settings.json).

    - `settings`: what the host would see without the lab (environment over local.settings.json Values).
    - `model`: the model settings (`model_settings`), pointing the app at the gateway.
    - `task_hub`: a task hub of the kit's own (`host="func"`), or None for the embedded host, whose
      state file is already fresh.
    Loopback addresses are added to NO_PROXY: behind a corporate proxy, the app's calls to the gateway
    on 127.0.0.1 must not be sent to the proxy.
    """
    env: dict[str, str] = dict(model)
    if task_hub is not None:
        env["TASKHUB_NAME"] = task_hub
        if settings.get(DTS_CONNECTION_SETTING):
            env[DTS_CONNECTION_SETTING] = with_task_hub(settings[DTS_CONNECTION_SETTING], task_hub)
    elif "TASKHUB_NAME" not in settings:
        # host.json names the task hub %TASKHUB_NAME%; without local.settings.json nothing sets it.
        env["TASKHUB_NAME"] = DEFAULT_TASK_HUB
    for name in ("NO_PROXY", "no_proxy"):
        existing = settings.get(name, "")
        if "127.0.0.1" not in existing:
            env[name] = f"{existing},{LOOPBACK_HOSTS}" if existing else LOOPBACK_HOSTS
    return env


# ------------------------------------------------------------------------------------- the running kits

_running_kits: set[Lab] = set()
_current: Lab | None = None


def _side_by_side(*starts: Callable[[], None]) -> None:
    """Run each start in a thread of its own, wait for all, then raise the first failure (in the order given)."""
    with ThreadPoolExecutor(len(starts), thread_name_prefix="kit-start") as pool:
        failures = [job.exception() for job in [pool.submit(start) for start in starts]]
    failure = next((f for f in failures if f is not None), None)
    if failure is not None:
        raise failure


def _distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports (two quick asks for a free port may, rarely, get the same one)."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := processes.free_port()) not in ports:
            ports.append(port)
    return ports


def start(
    model: str | None = None,
    host: str | None = None,
    *,
    latency_ms: int = DEFAULT_LATENCY_MS,
    app_dir: str | os.PathLike[str] | None = None,
    start_timeout: float = START_TIMEOUT,
    redis: bool = False,
) -> Lab:
    """Start a fresh kit: the model backend (offline unless asked otherwise), the gateway and the host.

    - `model`: "offline" (default, or $LAB_MODEL) starts the kit's deterministic offline model and points the
      app at it; "env" uses the model configured in the environment / local.settings.json, after one tiny
      call that proves it answers (a wrong key or deployment name raises `ModelBackendError` here).
    - `host`: "embedded" (default, or $LAB_HOST) runs `python -m helpers.host`; "func" runs `func start`.
    - `latency_ms`: how long each offline model call takes, so concurrency becomes visible (a real model
      takes what it takes).
    - `app_dir`: the Functions app to run (default: the kit's `functions_app/`).
    - `redis`: also start a real Redis server (for apps that stream through Redis, like lesson 10's); the app
      finds it in `REDIS_CONNECTION_STRING`. Off by default, so other lessons do not pay for it.

    Everything runs in the background on free ports with fresh state; it is stopped by `Lab.stop()` or, at
    the latest, when the Python process (the notebook kernel) exits.
    """
    global _current
    app = Path(app_dir) if app_dir is not None else DEFAULT_APP_DIR
    if not (app / "function_app.py").exists():
        raise LabError(f"No function_app.py in {app}: pass app_dir= the folder of your Functions app.")
    kit = Lab(
        model=choose_model(model, app),
        host=choose_host(host),
        app_dir=app,
        latency_ms=latency_ms,
        start_timeout=start_timeout,
        redis=redis,
    )
    _running_kits.add(kit)
    kit._start()
    _current = kit
    return kit


def current() -> Lab:
    """The kit most recently started and not yet stopped."""
    if _current is None or _current._stopped:
        raise LabError("No kit is running: call `kit = lab.start()` first.")
    return _current


def kit_serving(url: str) -> Lab | None:
    """The running kit whose host handed out `url`, if any."""
    return next((kit for kit in _running_kits if kit.serves(url)), None)


@atexit.register
def _stop_all() -> None:
    for kit in list(_running_kits):
        kit.stop()
