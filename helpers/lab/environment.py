"""What the kit will run with: Python, packages, model backend and Functions host — secrets masked.

The model backend is chosen by the app's own `model_client.select_backend` (the code the Functions app runs
at start-up), fed with the same settings the host would see: the process environment over
`local.settings.json` `Values`. So the report cannot drift from what the app really does.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..offline_settings import OFFLINE_DEPLOYMENT
from .views import Table

KIT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_APP_DIR = KIT_ROOT / "functions_app"
TEACHING_APP = KIT_ROOT / "notebooks" / "apps" / "teaching_app"  # functions_app plus the lessons' orchestrators
WORKFLOWS_APP = KIT_ROOT / "notebooks" / "apps" / "workflows_app"  # Agent Framework workflows (notebook 09)
TOOLS_AND_STREAMS_APP = KIT_ROOT / "notebooks" / "apps" / "tools_and_streams"  # lesson 10: MCP tools, Redis streams

# The packages a learner's questions usually come down to, in the order they matter.
KEY_PACKAGES = (
    "agent-framework-core",
    "agent-framework-azurefunctions",
    "agent-framework-durabletask",
    "agent-framework-openai",
    "azure-functions",
    "azure-functions-durable",
    "openai",
    "httpx",
    "starlette",
    "uvicorn",
    "tqdm",
    "matplotlib",
    "nbval",
    "jupyterlab",
)

# Variable names whose values are never shown.
_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CONNECTION_STRING|SAS)", re.IGNORECASE)

MODEL_CHOICES = ("offline", "env")
HOST_CHOICES = ("embedded", "func")
# The pinned packages (ipykernel, matplotlib, numpy, starlette) need 3.11; 3.14 is not tested yet.
SUPPORTED_PYTHON = ((3, 11), (3, 14))  # lowest supported, first unsupported


def python_supported(version: tuple[int, ...]) -> bool:
    """Whether `version` (major, minor, ...) is one the pinned requirements install on."""
    lowest, first_unsupported = SUPPORTED_PYTHON
    return lowest <= tuple(version[:2]) < first_unsupported


def is_secret_name(name: str) -> bool:
    """Does the variable's name say it holds a secret (key, token, password, connection string)?"""
    return bool(_SECRET_NAME.search(name))


def mask(value: str | None) -> str:
    """`****` plus the last two characters for long values: enough to tell two keys apart, not to use one."""
    if not value:
        return "(not set)"
    return "****" if len(value) < 12 else f"****{value[-2:]}"


def masked_environment(names: list[str] | tuple[str, ...], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    shown = {}
    for name in names:
        value = env.get(name)
        shown[name] = mask(value) if is_secret_name(name) else (value or "(not set)")
    return shown


def local_settings(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, str]:
    """`Values` of the app's local.settings.json ({} when the file does not exist)."""
    path = Path(app_dir) / "local.settings.json"
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values") or {}
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    return {str(key): str(value) for key, value in values.items()}


def settings_as_host_sees_them(app_dir: Path = DEFAULT_APP_DIR) -> dict[str, str]:
    """local.settings.json Values under the process environment (variables already set win, as in `func`)."""
    return {**local_settings(app_dir), **os.environ}


def _model_client(app_dir: Path) -> ModuleType:
    """The app's own `model_client.py`; an app without one (a teaching app built on the kit's) uses the kit's."""
    path = Path(app_dir) / "model_client.py"
    if not path.exists():
        path = DEFAULT_APP_DIR / "model_client.py"
    spec = importlib.util.spec_from_file_location("_kit_model_client", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{path} not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return module


OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"  # where the openai client goes without OPENAI_BASE_URL


@dataclass(frozen=True)
class BackendChoice:
    """Which model the agents will talk to, and why. Holds no secret: keys stay in the settings."""

    mode: str  # "offline" or "env"
    description: str  # one line, no secrets
    configured: bool  # is a real backend configured in the environment / local.settings.json?
    problem: str | None = None  # why the configured backend cannot be used, if it cannot
    kind: str = "offline"  # "offline", "azure_openai" or "openai_compatible" (model_client.ModelBackend.kind)
    upstream: str | None = None  # the base URL the app's client would call (the gateway forwards there)
    model_name: str | None = None  # deployment (Azure) or model name
    auth: str | None = None  # "API key", "Microsoft Entra ID" or "no key"

    @property
    def endpoint_setting(self) -> str:
        """The setting that says where the backend is."""
        return "AZURE_OPENAI_ENDPOINT" if self.kind == "azure_openai" else "OPENAI_BASE_URL"

    @property
    def model_setting(self) -> str:
        return "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME" if self.kind == "azure_openai" else "OPENAI_MODEL"

    @property
    def key_setting(self) -> str:
        return "AZURE_OPENAI_API_KEY" if self.kind == "azure_openai" else "OPENAI_API_KEY"

    @property
    def label(self) -> str:
        """Who answers, for messages: `Azure OpenAI at https://x.openai.azure.com`, `the offline model`."""
        if self.kind == "offline":
            return "the offline model"
        name = "Azure OpenAI" if self.kind == "azure_openai" else "the OpenAI-compatible server"
        return f"{name} at {endpoint_only(self.upstream)}"


def configured_backend(app_dir: Path = DEFAULT_APP_DIR) -> BackendChoice:
    """The real backend the environment describes, as the app would pick it (nothing is contacted)."""
    model_client = _model_client(app_dir)
    try:
        backend = model_client.select_backend(settings_as_host_sees_them(app_dir))
    except model_client.ModelSettingsError as error:  # nothing, or something half configured
        reason = " ".join(str(error).split())  # the whole message on one line: its first line alone is cut off
        return BackendChoice("env", "no real model configured", False, reason, kind="none")
    upstream = backend.endpoint or OPENAI_DEFAULT_BASE_URL
    return BackendChoice(
        "env",
        backend.describe(),
        True,
        kind=backend.kind,
        upstream=upstream.rstrip("/"),
        model_name=backend.model,
        auth=backend.auth,
    )


def setting_origin(name: str, app_dir: Path = DEFAULT_APP_DIR) -> str:
    """Where the host reads a setting from, in words: the environment wins over local.settings.json."""
    if name in os.environ:
        return "your environment (shell variables win over local.settings.json)"
    if name in local_settings(app_dir):
        return f"{_display_path(Path(app_dir) / 'local.settings.json')} (Values)"
    return "neither your environment nor local.settings.json (it is not set)"


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(KIT_ROOT))
    except ValueError:
        return str(path)


def choose_model(model: str | None, app_dir: Path = DEFAULT_APP_DIR) -> BackendChoice:
    """Resolve `model` ("offline" | "env" | None → $LAB_MODEL, default "offline")."""
    mode = (model or os.environ.get("LAB_MODEL") or "offline").strip().lower()
    if mode not in MODEL_CHOICES:
        raise ValueError(f"model must be one of {', '.join(MODEL_CHOICES)}, not {mode!r}")
    if mode == "offline":
        return BackendChoice(
            "offline",
            "offline model (deterministic, scripted; not an LLM)",
            False,
            kind="offline",
            model_name=OFFLINE_DEPLOYMENT,
            auth="no key",
        )
    return configured_backend(app_dir)


def choose_host(host: str | None) -> str:
    """Resolve `host` ("embedded" | "func" | None → $LAB_HOST, default "embedded")."""
    mode = (host or os.environ.get("LAB_HOST") or "embedded").strip().lower()
    if mode not in HOST_CHOICES:
        raise ValueError(f"host must be one of {', '.join(HOST_CHOICES)}, not {mode!r}")
    return mode


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def pinned_versions(requirements: Path = KIT_ROOT / "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


@dataclass(frozen=True)
class EnvironmentReport:
    python: str
    python_ok: bool
    platform: str
    packages: Table
    model: BackendChoice
    real_backend: BackendChoice
    host: str
    func_path: str | None
    settings: dict[str, str]

    @property
    def packages_ok(self) -> bool:
        return all(row["ok"] for row in self.packages)

    def __repr__(self) -> str:
        lines = [
            f"Python        {self.python} ({'ok' if self.python_ok else 'the kit needs 3.11-3.13'})",
            f"Platform      {self.platform}",
            f"Model         {self.model.mode}: {self.model.description}",
            textwrap.fill(
                f"Real model    {self.real_backend.description}"
                + (f": {self.real_backend.problem}" if self.real_backend.problem else ""),
                width=110,
                subsequent_indent=" " * 14,
                break_on_hyphens=False,
            ),
            f"Host          {self.host}"
            + (
                f" (func found at {self.func_path})"
                if self.func_path
                else " (Azure Functions Core Tools `func` not on PATH)"
            ),
            "",
            "Settings the app reads (secrets masked):",
            *[f"  {name:<36} {value}" for name, value in self.settings.items()],
            "",
            repr(self.packages),
        ]
        return "\n".join(lines)


MODEL_SETTINGS = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OPENAI_API_KEY",
    "LAB_MODEL",
    "LAB_HOST",
)


def describe_environment(
    model: str | None = None, host: str | None = None, app_dir: Path = DEFAULT_APP_DIR
) -> EnvironmentReport:
    """Everything notebook 00 shows: versions against the pins, which model and host `lab.start()` will use."""
    pins = pinned_versions()
    rows = []
    for name, version in package_versions().items():
        pinned = pins.get(name)
        rows.append(
            {
                "package": name,
                "installed": version or "(missing)",
                "pinned": pinned or "",
                "ok": version is not None and (pinned is None or version == pinned),
            }
        )
    settings = settings_as_host_sees_them(app_dir)
    shown = masked_environment(MODEL_SETTINGS, settings)
    for name, value in shown.items():
        if name.endswith("ENDPOINT") or name.endswith("BASE_URL"):
            shown[name] = endpoint_only(settings.get(name)) if settings.get(name) else value
    return EnvironmentReport(
        python=platform.python_version(),
        python_ok=python_supported(tuple(sys.version_info[:2])),
        platform=f"{platform.system()} {platform.machine()}",
        packages=Table(("package", "installed", "pinned", "ok"), rows),
        model=choose_model(model, app_dir),
        real_backend=configured_backend(app_dir),
        host=choose_host(host),
        func_path=shutil.which("func"),
        settings=shown,
    )


def endpoint_only(url: str | None) -> str:
    """Scheme, host and port only: a URL's user info, path or query may carry a secret."""
    from urllib.parse import urlsplit

    if not url:
        return "(not set)"
    parts = urlsplit(url)
    if not parts.scheme:
        return url if "@" not in url else "****"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
