"""Fixtures for the fault tests: the offline model plus `functions_app/` on the embedded host, started once per
module, with fault rules and counters reset by each test through the model's admin API."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.load_faults import FUNCTIONS_APP
from helpers.offline_settings import offline_host_env
from tests.conftest import wait_for_status


@dataclass
class AppWithModel:
    host: Any
    model: Any
    http: httpx.Client
    model_http: httpx.Client

    def set_faults(self, **rules: Any) -> None:
        response = self.model_http.post("/admin/faults", json=rules)
        assert response.status_code == 200, response.text
        assert self.model_http.post("/stats/reset").status_code == 200

    def stats(self) -> dict[str, Any]:
        return self.model_http.get("/stats").json()

    def run_multi(self, prompt: str, timeout: float = 30.0) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        response = self.http.post(
            "/api/multiagent/run", content=prompt.encode(), headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 202, response.text
        return self.wait(response.json()["statusQueryGetUri"], timeout), time.monotonic() - started

    def run_single(self, timeout: float = 30.0) -> tuple[dict[str, Any], float]:
        started = time.monotonic()
        response = self.http.post("/api/singleagent/run")
        assert response.status_code == 202, response.text
        return self.wait(response.json()["statusQueryGetUri"], timeout), time.monotonic() - started

    def wait(self, status_url: str, timeout: float) -> dict[str, Any]:
        """The run's final status from the app's own status route (200 at every poll); a run must never hang."""
        return wait_for_status(self.http, status_url, timeout=timeout, expect_codes=(200,))


def start_app_with_model(
    workdir: Path, env_extra: dict[str, str] | None = None, model_args: tuple[str, ...] = ()
) -> tuple[Any, Any]:
    from helpers import processes

    model = processes.start_offline_model(log_path=workdir / "model.log", extra_args=model_args)
    try:
        host = processes.start_host(
            FUNCTIONS_APP,
            state_db=workdir / "state.db",
            log_path=workdir / "host.log",
            env={**offline_host_env(model.url), **(env_extra or {})},
        )
    except BaseException:
        model.stop()
        raise
    return host, model


@contextlib.contextmanager
def serving_app_with_model(workdir: Path, **options: Any) -> Iterator[AppWithModel]:
    """`start_app_with_model` plus HTTP clients for both servers; stops both on the way out."""
    host, model = start_app_with_model(workdir, **options)
    try:
        with (
            httpx.Client(base_url=host.url, timeout=30.0, trust_env=False) as http,
            httpx.Client(base_url=model.url, timeout=10.0, trust_env=False) as model_http,
        ):
            yield AppWithModel(host, model, http, model_http)
    finally:
        host.stop()
        model.stop()


@pytest.fixture(scope="module")
def app_with_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppWithModel]:
    with serving_app_with_model(tmp_path_factory.mktemp("app-with-model")) as app:
        yield app
