"""Fixtures for the kit's function app: import it in-process (unit tests) or serve it with the offline model (e2e).

The end-to-end fixtures start real processes through `helpers.processes`: the offline model server and the
embedded Functions host running `functions_app/` unchanged, each on a free port with its own temp state.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from helpers.offline_settings import offline_host_env

FUNCTIONS_APP = Path(__file__).resolve().parents[2] / "functions_app"
OFFLINE_DEPLOYMENT = "offline-model"
MODEL_LATENCY_MS = 400


def load_app_module(name: str) -> ModuleType:
    """Import `functions_app/<name>.py` as the Functions worker does: the app directory goes on `sys.path`.

    Registered under a prefixed name so it cannot clash with other `function_app` modules in the same process.
    """
    if str(FUNCTIONS_APP) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_APP))
    qualified = f"kit_functions_app_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, FUNCTIONS_APP / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class ImportedApp:
    module: ModuleType
    functions: dict[str, Any]  # function name -> azure.functions Function (get_functions() is single-shot)

    def user_function(self, name: str) -> Any:
        """The undecorated user function of an HTTP trigger (the durable client middleware unwrapped)."""
        wrapper = self.functions[name].get_user_function()
        return getattr(wrapper, "client_function", wrapper)


@pytest.fixture(scope="session")
def imported_app() -> Iterator[ImportedApp]:
    """function_app.py imported with an Azure OpenAI backend that is never contacted."""
    settings = {
        "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
        "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": OFFLINE_DEPLOYMENT,
        "AZURE_OPENAI_API_KEY": "unused",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        module = load_app_module("function_app")
        functions = {f.get_function_name(): f for f in module.app.get_functions()}
        yield ImportedApp(module, functions)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- end to end ------------------------------------------------------------------------------------------------


@dataclass
class RunningApp:
    """The function app served by the embedded host, talking to the offline model."""

    host: Any
    model: Any
    http: httpx.Client
    model_http: httpx.Client

    def model_calls(self) -> int:
        return int(self.model_http.get("/stats").json()["calls"])


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    processes = pytest.importorskip("helpers.processes", reason="helpers.processes is not available")
    workdir = tmp_path_factory.mktemp("functions_app")
    started: list[Any] = []
    try:
        model = processes.start_offline_model(port=processes.free_port(), latency_ms=MODEL_LATENCY_MS)
        started.append(model)
        host = processes.start_host(
            FUNCTIONS_APP,
            port=processes.free_port(),
            state_db=workdir / "state.db",
            env=offline_host_env(model.url),
            log_path=workdir / "host.log",
        )
        started.append(host)
        with (
            httpx.Client(base_url=host.url, timeout=30.0) as http,
            httpx.Client(base_url=model.url, timeout=10.0) as model_http,
        ):
            yield RunningApp(host=host, model=model, http=http, model_http=model_http)
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception:  # never hide the test's own outcome behind a cleanup error
                pass
