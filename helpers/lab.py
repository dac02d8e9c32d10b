"""What the notebooks call: start and stop the services, poll with a progress bar, and show durable state.

    from helpers import lab
    kit = lab.start()                           # offline model + embedded Functions host, fresh state
    started = httpx.post(f"{kit.base_url}/api/singleagent/run").json()
    status = lab.poll(started["statusQueryGetUri"], desc="chaining")
    kit.history_table(started["instanceId"])     # the orchestration's history, one row per event
    kit.stop()

Everything a notebook learns about an orchestration comes through the public HTTP surface: the app's own
routes (`/api/...`) and the Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`). Only starting,
stopping and crashing processes, and reading the host log, are local — so the same notebooks run against a
real `func start` (`lab.start(host="func")`).

Fresh state under `func start`: the embedded host keeps each kit's state in its own SQLite file, but
`func start` keeps it in the Durable Task Scheduler (or emulator), which outlives the kit. So every
`host="func"` kit gets its own task hub, `kit<8 hex digits>`: `TASKHUB_NAME` is set to it and the
`TaskHub=` part of `DURABLE_TASK_SCHEDULER_CONNECTION_STRING` is rewritten to match. Environment variables
win over `local.settings.json` under Core Tools, so the app's own settings file stays untouched. The
scheduler must accept a task hub it has not seen before: start the emulator with
`-e DTS_USE_DYNAMIC_TASK_HUBS=true` (a hosted scheduler needs the hub created first; use
`lab.start(host="func")` against the emulator only). This has not been verified against every emulator
version: if `func start` logs that the task hub does not exist, that is why.

Module-level helpers (`history_table`, `entity_conversation`, ...) act on the most recently started kit,
for scripts that never name it; notebooks call the same methods on the `Lab` object `lab.start()` returns.
("Session" in this package always means an Agent Framework session: an agent's conversation, keyed by
its session key.)

Progress bars and stable notebook outputs: `poll` draws a plain `tqdm` bar on stderr (not `tqdm.auto`, which
needs ipywidgets and otherwise falls back with a warning). The bar redraws in place with carriage returns;
nbval keeps only the text after the last carriage return, and `notebooks/sanitize.cfg` replaces the bar's
elapsed-time tail. So learners see a live bar while the stored and re-run outputs still compare equal.
"""
from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from tqdm import tqdm

from . import processes
from .offline_settings import offline_model_settings
from .lab_env import (
    DEFAULT_APP_DIR,
    BackendChoice,
    choose_host,
    choose_model,
    describe_environment,
    settings_as_host_sees_them,
)
from .lab_plots import ModelCall, OverlapSummary, as_calls, overlap_summary, timeline_plot
from .lab_views import (
    Episode,
    Table,
    agent_text,
    conversation_rows,
    decode_nested,
    entity_calls,
    episode_table,
    episodes,
    history_rows,
    replay_counts,
)

__all__ = [
    "Lab", "LabError", "start", "current", "poll", "history", "history_table", "entity_calls_of",
    "entity_conversation", "entity_state", "find_agent_sessions", "host_log", "model_stats", "model_calls",
    "set_model_faults", "timeline_plot", "overlap_summary", "replay_counts", "episodes", "episode_table",
    "describe_environment", "Table", "ModelCall", "OverlapSummary", "Episode", "agent_text", "as_calls",
]

DURABLE_API = "/runtime/webhooks/durabletask"
DEFAULT_LATENCY_MS = 300
START_TIMEOUT = 60.0
DEFAULT_TASK_HUB = "default"  # the value local.settings.json.template gives TASKHUB_NAME
DTS_CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
CONTINUATION_HEADER = "x-ms-continuation-token"  # how the Durable HTTP API pages long lists
MAX_PAGES = 1000  # a server that keeps answering with a continuation token must not loop us forever
FINISHED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


class LabError(RuntimeError):
    """Something the learner can fix: the message says what happened and what to try."""


# ------------------------------------------------------------------------------------------------- the kit


@dataclass
class _FuncHost:
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


class Lab:
    """The running kit: the model backend, the Functions host, and helpers that read their state.

    State (orchestration history, entity state) lives in a SQLite file in the kit's own temp folder
    (embedded host) or in the kit's own task hub, `task_hub` (`func start`, see the module docstring);
    `restart_host()` and `kill_host()` keep it, `stop()` removes the temp folder.
    """

    def __init__(self, *, model: BackendChoice, host: str, app_dir: Path, latency_ms: int,
                 start_timeout: float = START_TIMEOUT) -> None:
        self.model = model
        self.host_kind = host
        self.app_dir = Path(app_dir).resolve()
        self.latency_ms = latency_ms
        self.start_timeout = start_timeout
        self.work_dir = Path(tempfile.mkdtemp(prefix="durable-lab-"))
        self.state_db = self.work_dir / "state.sqlite3"
        self.host_log_path = self.work_dir / "host.log"
        self._model_service: processes.Service | None = None
        self._host: processes.Service | _FuncHost | None = None
        self._port: int | None = None
        self._http = httpx.Client(timeout=30.0, trust_env=False)
        self._stopped = False
        # One task hub per func kit, kept across restart_host()/start_host() so unfinished work resumes.
        self.task_hub: str | None = new_task_hub_name() if host == "func" else None

    # ---------------------------------------------------------------------------------------- lifecycle

    def _start(self) -> "Lab":
        try:
            if self.model.mode == "offline":
                self._model_service = processes.start_offline_model(
                    latency_ms=self.latency_ms, log_path=self.work_dir / "model.log", timeout=self.start_timeout
                )
            elif not self.model.configured:
                raise LabError(
                    f"model='env' asks for a real model, but none is configured: {self.model.problem}\n"
                    "Use lab.start(model='offline'), or set the variables (see notebook 00)."
                )
            self._port = processes.free_port()
            self._start_host()
        except BaseException:
            self.stop()
            raise
        return self

    def _host_env(self) -> dict[str, str]:
        return host_environment(
            settings_as_host_sees_them(self.app_dir),
            model_url=self._model_service.url if self._model_service is not None else None,
            task_hub=self.task_hub,
        )

    def _start_host(self) -> None:
        assert self._port is not None
        if self.host_kind == "func":
            self._host = self._start_func()
            return
        try:
            self._host = processes.start_host(
                self.app_dir, port=self._port, state_db=self.state_db, env=self._host_env(),
                log_path=self.host_log_path, timeout=self.start_timeout,
            )
        except processes.ServiceError as error:
            raise LabError(f"The Functions host did not start. {error}") from None

    def _start_func(self) -> _FuncHost:
        func = shutil.which("func")
        if func is None:
            raise LabError(
                "host='func' needs Azure Functions Core Tools v4 (`func`) on PATH. Install it "
                "(https://learn.microsoft.com/azure/azure-functions/functions-run-local) or use host='embedded'."
            )
        env = {**os.environ, **self._host_env()}
        with open(self.host_log_path, "ab") as log:
            process = subprocess.Popen(
                [func, "start", "--port", str(self._port)], cwd=self.app_dir, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        host = _FuncHost(process, f"http://127.0.0.1:{self._port}", self.host_log_path)
        _wait_until_running(host, self._http, timeout=max(self.start_timeout, 120.0))
        return host

    def restart_host(self) -> None:
        """Stop the host gracefully and start it again on the same port with the same state file."""
        if self._host is not None:
            self._host.stop()
        self._start_host()

    def kill_host(self) -> None:
        """Kill the host with SIGKILL, as a crash would: no clean-up, in-flight work is cut off."""
        if self._host is not None:
            self._host.kill()

    def start_host(self) -> None:
        """Start the host again after `kill_host()`: same port, same state file, so unfinished work resumes."""
        if self._host is not None and self._host.running:
            raise LabError("The host is already running; call kill_host() or restart_host() instead.")
        self._start_host()

    def stop(self) -> None:
        """Stop the host and the model and remove the kit's temp folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for service in (self._host, self._model_service):
            if service is not None:
                try:
                    service.stop()
                except Exception:  # noqa: BLE001 — keep stopping the others
                    pass
        self._http.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        _running_kits.discard(self)

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ facts

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: the app's routes live under /api, the Durable API under /runtime."""
        if self._port is None:
            raise LabError("The kit has not started.")
        return f"http://127.0.0.1:{self._port}"

    @property
    def model_url(self) -> str | None:
        return self._model_service.url if self._model_service else None

    @property
    def host_pid(self) -> int | None:
        return self._host.pid if self._host else None

    @property
    def host_running(self) -> bool:
        return bool(self._host and self._host.running)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else ("running" if self.host_running else "host down")
        hub = f", task hub {self.task_hub}" if self.task_hub else ""
        return f"<Lab {self.host_kind} host at {self.base_url}{hub}, model {self.model.mode}, {state}>"

    # --------------------------------------------------------------------------------------- HTTP API

    def durable_url(self, path: str) -> str:
        return f"{self.base_url}{DURABLE_API}/{path.lstrip('/')}"

    def _durable_get(self, path: str, *, what: str, params: Mapping[str, str] | None = None,
                     headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET on the Durable HTTP API; any answer >= 400 except 404 becomes a LabError that says which host.

        Why: a backend may not support a query the embedded host answers (e.g. `showHistory` on some
        storage providers under `func start`); a bare `HTTPStatusError` would not say so.
        """
        response = self._http.get(self.durable_url(path), params=params, headers=headers)
        if response.status_code >= 400 and response.status_code != 404:
            raise LabError(_durable_api_error(self.host_kind, what, response))
        return response

    def status(self, instance_id: str, *, history: bool = False) -> dict[str, Any]:
        """The Durable HTTP API's status of one instance (with `historyEvents` when `history=True`)."""
        params = {"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"} if history else {}
        what = f"the {'history' if history else 'status'} of instance {instance_id}"
        response = self._http.get(self.durable_url(f"instances/{quote(instance_id, safe='')}"), params=params)
        if response.status_code == 404:
            raise LabError(f"No orchestration instance {instance_id!r} on this host.")
        body = _json_or_none(response)
        # With returnInternalServerErrorOnFailure the API answers a *failed instance* with 500 and its status.
        if response.status_code >= 400 and not (isinstance(body, dict) and "runtimeStatus" in body):
            raise LabError(_durable_api_error(self.host_kind, what, response))
        return body

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The raw `historyEvents` of an instance (showHistory + showHistoryOutput)."""
        return list(self.status(instance_id, history=True).get("historyEvents") or [])

    def history_table(self, instance_id: str, *, timestamps: bool = False) -> Table:
        """The instance's history as a table: event, name, task id and an excerpt of what it carries."""
        table = history_rows(self.history(instance_id), timestamps=timestamps)
        table.title = "history of instance " + instance_id
        return table

    def entity_calls_of(self, instance_id: str) -> list[dict[str, str]]:
        """The entity operations an orchestration sent (entity name, key = session, operation), in order."""
        return entity_calls(self.history(instance_id))

    def entity_state(self, entity_name: str, key: str) -> Any:
        """An entity's state via `GET /runtime/webhooks/durabletask/entities/{name}/{key}`."""
        response = self._durable_get(f"entities/{quote(entity_name, safe='')}/{quote(key, safe='')}",
                                     what=f"the state of entity {entity_name}/{key}")
        if response.status_code == 404:
            raise LabError(f"No entity {entity_name}/{key} on this host (yet).")
        return decode_nested(response.json())

    def entity_conversation(self, agent_name: str, session_key: str) -> Table:
        """The agent's conversation for one session: one row per message (role, text)."""
        table = conversation_rows(self.entity_state(f"dafx-{agent_name}", session_key))
        table.title = f"dafx-{agent_name} / {session_key}"
        return table

    def find_agent_sessions(self, agent_name: str) -> list[str]:
        """The session keys of every `dafx-<agent_name>` entity that exists on this host (all pages)."""
        entity_name = "dafx-" + agent_name
        keys: list[str] = []
        for page in self._entity_pages(entity_name):
            keys.extend(entity_keys(page))
        return keys

    def _entity_pages(self, entity_name: str) -> list[Any]:
        """Every page of `GET .../entities/{name}`, following the `x-ms-continuation-token` response header.

        The real extension answers a list query one page at a time and puts the token for the next page in
        that header; the client sends it back as a request header. The embedded host answers in one page.
        """
        pages: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            response = self._durable_get(
                f"entities/{quote(entity_name, safe='')}", what=f"the list of {entity_name} entities",
                params={"fetchState": "false"}, headers={CONTINUATION_HEADER: token} if token else None,
            )
            if response.status_code == 404:  # no entity function of that name, or no entities yet
                return pages
            pages.append(response.json())
            next_token = response.headers.get(CONTINUATION_HEADER)
            if not next_token or next_token == token:
                return pages
            token = next_token
        raise LabError(f"Listing {entity_name} entities: still more pages after {MAX_PAGES}; giving up.")

    def functions(self) -> Table:
        """The app's functions as the host indexed them (`GET /admin/functions`): name, trigger, route."""
        response = self._http.get(self.base_url + "/admin/functions")
        response.raise_for_status()
        rows = []
        for item in response.json():
            trigger, route, methods = item.get("trigger"), item.get("route"), item.get("methods")
            for binding in (item.get("config") or {}).get("bindings") or []:  # `func start` answers this way
                if str(binding.get("type", "")).endswith("Trigger"):
                    trigger = binding["type"]
                    route, methods = binding.get("route"), binding.get("methods")
            http = f"{'/'.join(m.upper() for m in methods or []) or 'ANY'} /api/{route}" if route else ""
            rows.append({"function": item.get("name"), "trigger": trigger, "http": http})
        return Table(("function", "trigger", "http"), rows)

    # ----------------------------------------------------------------------------------- logs, model

    def host_log(self, instance_id: str | None = None) -> list[str]:
        """Lines of the host log (across restarts), optionally only those that mention `instance_id`."""
        text = self.host_log_path.read_text(encoding="utf-8", errors="replace") if self.host_log_path.exists() else ""
        lines = text.splitlines()
        return [line for line in lines if instance_id in line] if instance_id else lines

    def _model(self) -> processes.Service:
        if self._model_service is None:
            raise LabError("Model statistics and faults exist only for the offline model (model='offline').")
        return self._model_service

    def model_stats(self) -> dict[str, Any]:
        """The offline model's `GET /stats`: total calls and the recent calls with their start/end times."""
        response = self._http.get(self._model().url + "/stats")
        response.raise_for_status()
        return response.json()

    def model_calls(self, since: int = 0) -> list[dict[str, Any]]:
        """The offline model's recorded calls after call number `since` (take `model_stats()["calls"]` first).

        Each record has `start` / `end` (epoch seconds), the `persona` the instructions gave, and
        `input_messages`: how many messages the model was sent (the whole conversation, every time).
        """
        stats = self.model_stats()
        recent = stats.get("recent_calls") or stats.get("recent") or []
        return [call for call in recent if call.get("id", 0) > since]

    def set_model_faults(self, **faults: Any) -> dict[str, Any]:
        """Ask the offline model to fail on purpose (POST /admin/faults), e.g. to watch retries."""
        response = self._http.post(self._model().url + "/admin/faults", json=faults)
        if response.status_code >= 400:
            raise LabError(f"The offline model refused the faults {faults}: {response.text}")
        return response.json() if response.content else {}


def _wait_until_running(host: _FuncHost, client: httpx.Client, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not host.running:
            raise LabError(f"`func start` exited with code {host.process.returncode}. Log tail:\n"
                           f"{host.log_text()[-3000:]}")
        try:
            response = client.get(host.url + "/admin/host/status")
            if response.status_code == 200 and response.json().get("state") == "Running":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    host.stop()
    raise LabError(f"`func start` was not Running within {timeout:.0f}s. Log tail:\n{host.log_text()[-3000:]}")


def new_task_hub_name() -> str:
    """`kit` + 8 random hex digits: letters and digits only, which every Durable backend accepts as a hub name."""
    return "kit" + secrets.token_hex(4)


def with_task_hub(connection_string: str, task_hub: str) -> str:
    """The connection string with its `TaskHub=` part set to `task_hub` (added when it has none)."""
    pattern = re.compile(r"(^|;)(\s*)TaskHub\s*=[^;]*", re.IGNORECASE)
    if pattern.search(connection_string):
        return pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}TaskHub={task_hub}", connection_string, count=1)
    return f"{connection_string.rstrip(';')};TaskHub={task_hub}"


def host_environment(settings: Mapping[str, str], *, model_url: str | None,
                     task_hub: str | None) -> dict[str, str]:
    """The variables the lab adds to the host's environment (they win over local.settings.json).

    - `settings`: what the host would see without the lab (environment over local.settings.json Values).
    - `model_url`: the offline model's URL, or None to use the model configured in `settings`.
    - `task_hub`: a task hub of the kit's own (`host="func"`), or None for the embedded host, whose
      state file is already fresh.
    """
    env: dict[str, str] = {}
    if task_hub is not None:
        env["TASKHUB_NAME"] = task_hub
        if settings.get(DTS_CONNECTION_SETTING):
            env[DTS_CONNECTION_SETTING] = with_task_hub(settings[DTS_CONNECTION_SETTING], task_hub)
    elif "TASKHUB_NAME" not in settings:
        # host.json names the task hub %TASKHUB_NAME%; without local.settings.json nothing sets it.
        env["TASKHUB_NAME"] = DEFAULT_TASK_HUB
    if model_url is not None:
        env.update(offline_model_settings(model_url))
    return env


def entity_keys(page: Any) -> list[str]:
    """The entity keys in one page of the Durable API's entity list (a list, or {"entities": [...]})."""
    items = page.get("entities", page) if isinstance(page, dict) else page
    keys = []
    for item in items or []:
        entity = item.get("entityId") or item.get("EntityId") or {}
        key = entity.get("key") or entity.get("Key")
        if key is not None:
            keys.append(key)
    return keys


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _durable_api_error(host_kind: str, what: str, response: httpx.Response) -> str:
    """A LabError message for a Durable API answer >= 400: which host, what was asked, what it said."""
    host = "`func start` (Azure Functions Core Tools)" if host_kind == "func" else "embedded host"
    hint = ""
    if response.status_code >= 500 and host_kind == "func":
        hint = (" The Durable extension or its storage backend failed or does not support this query (some "
                "backends cannot return history with showHistory=true); the func log (kit.host_log()) says which.")
    return (f"The {host}'s Durable HTTP API answered {response.status_code} when asked for {what}: "
            f"{response.text[:300]}.{hint}")


# ------------------------------------------------------------------------------------- module helpers

_running_kits: set[Lab] = set()
_current: Lab | None = None


def start(model: str | None = None, host: str | None = None, *, latency_ms: int = DEFAULT_LATENCY_MS,
          app_dir: str | os.PathLike[str] | None = None, start_timeout: float = START_TIMEOUT) -> Lab:
    """Start a fresh kit: the model backend (offline unless asked otherwise) and the Functions host.

    - `model`: "offline" (default, or $LAB_MODEL) starts the kit's deterministic offline model and points the
      app at it; "env" uses the model configured in the environment / local.settings.json.
    - `host`: "embedded" (default, or $LAB_HOST) runs `python -m helpers.host`; "func" runs `func start`.
    - `latency_ms`: how long each offline model call takes, so concurrency becomes visible.

    Both run in the background on free ports with fresh state; they are stopped by `Lab.stop()` or, at the
    latest, when the Python process (the notebook kernel) exits.
    """
    global _current
    app = Path(app_dir) if app_dir is not None else DEFAULT_APP_DIR
    if not (app / "function_app.py").exists():
        raise LabError(f"No function_app.py in {app}: pass app_dir= the folder of your Functions app.")
    kit = Lab(model=choose_model(model, app), host=choose_host(host), app_dir=app, latency_ms=latency_ms,
              start_timeout=start_timeout)
    _running_kits.add(kit)
    kit._start()
    _current = kit
    return kit


def current() -> Lab:
    """The kit most recently started and not yet stopped."""
    if _current is None or _current._stopped:
        raise LabError("No kit is running: call `kit = lab.start()` first.")
    return _current


@atexit.register
def _stop_all() -> None:
    for kit in list(_running_kits):
        kit.stop()


def poll(status_url: str, *, timeout: float = 60.0, interval: float = 0.25, desc: str = "orchestration",
         client: httpx.Client | None = None, expect: str | None = "Completed") -> dict[str, Any]:
    """GET `status_url` until the instance finishes; show a progress bar; return the final status JSON.

    Works with the app's status routes (always 200) and the Durable HTTP API (202 while running). The bar
    fills with the time budget and shows the current `runtimeStatus`. `expect` (default "Completed") makes
    any other final status raise a `LabError` quoting the instance's output, which holds the failure reason;
    pass `expect=None` to get failed statuses back instead.
    """
    own_client = client is None
    http = client or httpx.Client(timeout=10.0, trust_env=False)
    # Text printed before the bar must reach the notebook first: stdout and stderr are separate buffers.
    sys.stdout.flush()
    # tqdm.std, not tqdm.auto: see the module docstring. Whole seconds keep the redraws few and readable.
    bar = tqdm(total=int(timeout), desc=f"{desc}: starting", unit="s", file=sys.stderr, leave=True, ncols=80,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}]")
    started = time.monotonic()
    status: dict[str, Any] = {}
    try:
        while True:
            response = http.get(status_url)
            if response.status_code == 404:
                raise LabError(f"{status_url} answered 404: no such instance (yet?). Body: {response.text[:200]}")
            if response.status_code >= 400 and response.status_code != 500:
                raise LabError(f"{status_url} answered {response.status_code}: {response.text[:300]}")
            status = response.json()
            runtime_status = status.get("runtimeStatus", "?")
            bar.set_description_str(f"{desc}: {runtime_status}", refresh=False)
            bar.n = min(int(time.monotonic() - started), bar.total)
            bar.refresh()
            if runtime_status in FINISHED:
                bar.n = bar.total  # a finished instance fills the bar, so the final line is the same every run
                bar.refresh()
                break
            if time.monotonic() - started > timeout:
                raise LabError(
                    f"{desc}: still {runtime_status} after {timeout:.0f}s. Look at the host log "
                    "(kit.host_log(instance_id)) for errors, or poll again with a larger timeout."
                )
            time.sleep(interval)
    finally:
        bar.close()
        # The kernel sends stdout and stderr in separate, timed batches. Flushing now sends the bar's final
        # line before anything the caller prints next, so the saved notebook shows them in that order.
        sys.stderr.flush()
        if own_client:
            http.close()
    if expect and status.get("runtimeStatus") != expect:
        raise LabError(f"{desc} ended {status.get('runtimeStatus')}, expected {expect}: {status.get('output')}")
    return status


def history(instance_id: str) -> list[dict[str, Any]]:
    return current().history(instance_id)


def history_table(instance_id: str, *, timestamps: bool = False) -> Table:
    return current().history_table(instance_id, timestamps=timestamps)


def entity_calls_of(instance_id: str) -> list[dict[str, str]]:
    return current().entity_calls_of(instance_id)


def entity_state(entity_name: str, key: str) -> Any:
    return current().entity_state(entity_name, key)


def entity_conversation(agent_name: str, session_key: str) -> Table:
    return current().entity_conversation(agent_name, session_key)


def find_agent_sessions(agent_name: str) -> list[str]:
    return current().find_agent_sessions(agent_name)


def host_log(instance_id: str | None = None) -> list[str]:
    return current().host_log(instance_id)


def model_stats() -> dict[str, Any]:
    return current().model_stats()


def model_calls(since: int = 0) -> list[dict[str, Any]]:
    return current().model_calls(since)


def set_model_faults(**faults: Any) -> dict[str, Any]:
    return current().set_model_faults(**faults)
