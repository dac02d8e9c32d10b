"""The rehearsal: the app as Azure will run it, on this machine — package, clean environment, settings, both runs.

    rehearsal = rehearse("functions_app", app_settings, work_dir="build/rehearsal")
    rehearsal          # ✓/✗ per step; the first ✗ says what is wrong and what to change
    rehearsal.ok

Steps, each stopping the rehearsal when it fails:

1. **package** — the zip Azure receives (`package.py`); function_app.py, host.json and requirements.txt in it.
2. **settings** — every setting host.json refers to (`%TASKHUB_NAME%`, the scheduler's connection setting) is
   among the app settings.
3. **clean environment** — a fresh venv with only requirements.txt (`environment.py`).
4. **app imports** — function_app.py imported in that environment alone (`boot.py`).
5. **host** — the embedded host started from the package folder, with the app settings and nothing else: no
   local.settings.json (the package has none), none of your shell's variables, no developer credentials.
6. **both orchestrations** — started through their HTTP routes and polled to the end (`client.py`).
7. **managed identity** — the model calls carried the managed identity's token.

Where Azure has a resource, the rehearsal has a local stand-in: the offline model poses as the Azure OpenAI
account (it accepts only the managed identity's token, and only the deployment the settings name), a local
managed-identity endpoint hands out that token to the one client id the app was given (Azure sets
`IDENTITY_ENDPOINT` and `IDENTITY_HEADER` for an app with a managed identity), and the embedded host's SQLite
file stands in for the Durable Task Scheduler, whose connection setting is checked but not used.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import textwrap
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .. import processes
from .boot import IMPORT_FAILED_MARK
from .client import DEFAULT_PROMPT, RunResult, run_orchestrations
from .diagnose import explain_import_failure
from .environment import CleanEnvironment, EnvironmentBuildError, create_environment
from .package import Package, build_package

BOOT_SCRIPT = Path(__file__).with_name("boot.py")
# The client id of the stand-in managed identity, when the settings hold a shell placeholder for the real one.
LOCAL_CLIENT_ID = "rehearsal-managed-identity"
# What the rehearsal puts where a setting holds a shell variable the deployment script fills in.
LOCAL_PLACEHOLDERS = {"$IDENTITY_CLIENT_ID": LOCAL_CLIENT_ID, "$DTS_ENDPOINT": "http://localhost:8080"}
HOST_START_TIMEOUT = 60.0
REPORT_WIDTH = 110
_SETTING_REFERENCE = re.compile(r"%([A-Za-z0-9_]+)%")


@dataclass(frozen=True)
class Step:
    """One step of the rehearsal: what it checked, whether it passed, and what it found."""

    title: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.title}: {self.detail}"


@dataclass
class Rehearsal:
    """What the rehearsal did and found. Printing it lists the steps; `ok` is True when every step passed."""

    app_dir: Path
    steps: list[Step] = field(default_factory=list)
    package: Package | None = None
    environment: CleanEnvironment | None = None
    settings: dict[str, str] = field(default_factory=dict)  # the environment the app ran with
    runs: list[RunResult] = field(default_factory=list)
    host_log: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def failure(self) -> Step | None:
        return next((step for step in self.steps if not step.ok), None)

    def passed(self, title: str, detail: str) -> None:
        self.steps.append(Step(title, True, detail))

    def failed(self, title: str, detail: str) -> Rehearsal:
        self.steps.append(Step(title, False, detail))
        return self

    def __repr__(self) -> str:
        # Wrapped at spaces only, so a package name or a `.funcignore` pattern in a message stays whole.
        lines = [
            textwrap.fill(
                str(step), REPORT_WIDTH, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False
            )
            for step in self.steps
        ]
        lines.append(
            "Rehearsal passed: this package, with these settings, runs both orchestrations."
            if self.ok
            else "Rehearsal failed: fix the ✗ above, then rehearse again. Nothing after it ran."
        )
        return "\n".join(lines)


def settings_host_json_needs(package_root: Path) -> list[str]:
    """The settings host.json refers to: `%NAME%` values and `connectionStringName` entries."""
    path = package_root / "host.json"
    needed: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for child_key, child in value.items():
                walk(child, child_key)
        elif isinstance(value, list):
            for child in value:
                walk(child, key)
        elif isinstance(value, str):
            names = _SETTING_REFERENCE.findall(value)
            if key.lower().endswith("connectionstringname") or key.lower() == "connection":
                names.append(value)
            needed.extend(name for name in names if name not in needed)

    walk(json.loads(path.read_text(encoding="utf-8")))
    return needed


def local_values(app_settings: Mapping[str, str], model_url: str) -> dict[str, str]:
    """The app settings with local stand-ins where they name an Azure resource or a shell placeholder."""
    values = {}
    for name, value in app_settings.items():
        for placeholder, local in LOCAL_PLACEHOLDERS.items():
            value = value.replace(placeholder, local)
        values[name] = value
    if "AZURE_OPENAI_ENDPOINT" in values:
        values["AZURE_OPENAI_ENDPOINT"] = model_url
    return values


def rehearse(
    app_dir: str | os.PathLike[str],
    app_settings: Mapping[str, str],
    *,
    work_dir: str | os.PathLike[str] | None = None,
    environment: CleanEnvironment | None = None,
    prompt: str = DEFAULT_PROMPT,
    timeout: float = 60.0,
    latency_ms: int = 0,
) -> Rehearsal:
    """Rehearse deploying `app_dir` with `app_settings` (the app settings as they will be in Azure).

    `work_dir` holds the package, the state file and the logs (default: a new temp folder). The clean
    environment is kept under .state/ and reused while requirements.txt, the kit's versions and the Python stay
    the same (`environment.create_environment`); pass `environment` to use one of your own.
    Never raises for a problem of the app: the failing step says what is wrong.
    """
    app = Path(app_dir).resolve()
    work = Path(work_dir).resolve() if work_dir is not None else Path(tempfile.mkdtemp(prefix="kit-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    result = Rehearsal(app)

    package = result.package = build_package(app, work / "package")
    missing = package.missing_required()
    if missing:
        return result.failed("package", " ".join(missing))
    result.passed(
        "package",
        f"{len(package.shipped)} files in {package.zip_path.name}, "
        f"{len(package.left_out)} left out; no local.settings.json",
    )

    needed = settings_host_json_needs(package.root)
    absent = [name for name in needed if not app_settings.get(name)]
    if absent:
        return result.failed(
            "settings",
            f"host.json refers to {', '.join(absent)}, which the app settings do not set: add "
            f"{'it' if len(absent) == 1 else 'them'} to the app settings.",
        )
    result.passed("settings", f"{len(app_settings)} app settings; every one host.json refers to is set")

    try:
        env = result.environment = environment or create_environment(package.root / "requirements.txt")
    except EnvironmentBuildError as error:
        return result.failed("clean environment", f"it could not be built: {error}")
    how = "at the kit's versions" if env.with_kit_versions else "resolved afresh: it asks for other versions"
    result.passed("clean environment", f"a new venv with only requirements.txt installed, {how}")

    with _StandIns(work, app_settings, latency_ms) as stand_ins:
        result.settings = _app_environment(env, work, app_settings, stand_ins)
        # The host first: the app calls the model only when an agent runs, and an app that does not start
        # needs no stand-ins at all.
        host = _start_host(result, package, env, work)
        if host is None:
            return result
        try:
            stand_ins.start()
            result.runs = run_orchestrations(host.url, prompt=prompt, timeout=timeout)
        finally:
            host.stop()
            result.host_log = host.log_text()
        for run in result.runs:
            if not run.ok:
                return result.failed(run.name, f"{run.runtime_status}: {_excerpt(run.output)}")
            result.passed(run.name, f"Completed: {_excerpt(run.output)}")
        issued = stand_ins.tokens_issued()
        if app_settings.get("AZURE_OPENAI_API_KEY"):
            result.passed("model key", "the app used AZURE_OPENAI_API_KEY, not a managed identity")
        elif issued == 0:
            return result.failed("managed identity", "no token was asked for, yet the model answered")
        else:
            who = f"client id {stand_ins.client_id}" if stand_ins.client_id else "the system-assigned identity"
            result.passed("managed identity", f"no key anywhere: {issued} token(s) issued to {who}, sent to the model")
    return result


class _StandIns:
    """For one rehearsal: the offline model posing as the Azure OpenAI account, and the managed-identity endpoint.

    Their ports are chosen up front, so the app's settings can name them before they are started (`start`)."""

    def __init__(self, work: Path, app_settings: Mapping[str, str], latency_ms: int) -> None:
        self.work, self.app_settings, self.latency_ms = work, app_settings, latency_ms
        self.model: processes.Service | None = None
        self.identity: processes.Service | None = None
        self.model_port, self.identity_port = _distinct_free_ports(2)
        self.token = "rehearsal-token-" + secrets.token_hex(12)
        self.identity_header = secrets.token_hex(8)
        client_id = app_settings.get("AZURE_CLIENT_ID")
        self.client_id = LOCAL_CLIENT_ID if client_id and client_id.startswith("$") else client_id

    def __enter__(self) -> _StandIns:
        return self

    def start(self) -> None:
        """Start both, side by side (each spends its start importing libraries)."""
        deployment = self.app_settings.get("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", "")
        accepted = self.app_settings.get("AZURE_OPENAI_API_KEY") or self.token
        args = ["--api-key", accepted] + (["--models", deployment] if deployment else [])
        with ThreadPoolExecutor(1) as pool:
            identity = pool.submit(
                processes.start_identity_endpoint,
                self.token,
                self.identity_header,
                client_id=self.client_id,
                port=self.identity_port,
                log_path=self.work / "identity.log",
            )
            try:
                self.model = processes.start_offline_model(
                    self.model_port, latency_ms=self.latency_ms, extra_args=args, log_path=self.work / "model.log"
                )
            finally:
                self.identity = identity.result()

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.model_port}"

    @property
    def identity_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.identity_port}/msi/token"

    def tokens_issued(self) -> int:
        answer = httpx.get(f"http://127.0.0.1:{self.identity_port}/issued", timeout=10, trust_env=False)
        return int(answer.json()["issued"])

    def __exit__(self, *_exc_info: object) -> None:
        for service in (self.model, self.identity):
            if service is not None:
                service.stop()


def _distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = processes.free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _app_environment(
    env: CleanEnvironment, work: Path, app_settings: Mapping[str, str], stand_ins: _StandIns
) -> dict[str, str]:
    """The whole environment the app gets: its app settings (with local stand-ins), what Azure sets for a
    managed identity, and a bare process environment — no shell variables, no developer credentials."""
    home = work / "home"  # empty: no ~/.azure sign-in for DefaultAzureCredential to find
    home.mkdir(exist_ok=True)
    return {
        "PATH": str(env.python.parent),  # no `az`, `azd` or PowerShell to borrow a sign-in from
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": tempfile.gettempdir(),
        **local_values(app_settings, stand_ins.model_url),
        "IDENTITY_ENDPOINT": stand_ins.identity_endpoint,
        "IDENTITY_HEADER": stand_ins.identity_header,
    }


def _start_host(result: Rehearsal, package: Package, env: CleanEnvironment, work: Path) -> processes.Service | None:
    log = work / "host.log"
    log.unlink(missing_ok=True)
    launcher = [str(env.python), "-I", "-u", str(BOOT_SCRIPT), str(env.host_layer), str(env.root / "pycache"), "--"]
    try:
        host = processes.start_host(
            package.root,
            state_db=work / "state.sqlite3",
            env=result.settings,
            log_path=log,
            launcher=launcher,
            cwd=package.root,
            inherit_env=False,
            timeout=HOST_START_TIMEOUT,
        )
    except processes.ServiceError as error:
        result.host_log = log.read_text(encoding="utf-8", errors="replace") if log.exists() else str(error)
        failure = _import_failure(result.host_log)
        if failure is not None:
            assert result.environment is not None
            result.failed("app imports", explain_import_failure(failure, package, result.environment.installed))
        else:
            result.passed("app imports", "function_app.py imports with only requirements.txt installed")
            result.failed("host", f"the host did not start: {_reason(result.host_log)}")
        return None
    result.passed("app imports", "function_app.py imports with only requirements.txt installed")
    functions = [line for line in host.log_text().splitlines() if re.match(r"^  \S+: ", line)]
    result.passed("host", f"started from the package with the app settings alone; {len(functions)} functions")
    return host


def _import_failure(log: str) -> dict[str, str] | None:
    for line in log.splitlines():
        if line.startswith(IMPORT_FAILED_MARK):
            return json.loads(line[len(IMPORT_FAILED_MARK) :])
    return None


def _reason(log: str) -> str:
    """The host's own reason ("Host failed to start: ..."), else the log's last line."""
    lines = [line for line in log.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Host failed to start:"):
            return line.removeprefix("Host failed to start:").strip()
    return lines[-1] if lines else "(no log)"


def _excerpt(value: object, limit: int = 64) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remove(work_dir: str | os.PathLike[str]) -> None:
    """Delete a rehearsal's work folder (package, environment, logs)."""
    shutil.rmtree(work_dir, ignore_errors=True)
