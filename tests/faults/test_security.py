"""Security basics of the kit's two servers: loopback only, no secret in any log or payload, bounded bodies."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from helpers.durable_vocabulary import agent_entity_name
from tests.faults.conftest import AppWithModel, serving_app_with_model

pytestmark = pytest.mark.timeout(90)

FAKE_KEY = "sk-test-SECRET-1234"
FAKE_CONNECTION = "Endpoint=http://127.0.0.1:9;Authentication=ManagedIdentity;SharedKey=conn-SECRET-5678"
SECRETS = (FAKE_KEY, "conn-SECRET-5678", "SECRET")
DURABLE = "/runtime/webhooks/durabletask"
HOST_BODY_LIMIT = 8 * 1024 * 1024  # the host's default --max-body-bytes


@pytest.fixture(scope="module")
def app_with_secrets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppWithModel]:
    with serving_app_with_model(
        tmp_path_factory.mktemp("secrets"),
        env_extra={
            "AZURE_OPENAI_API_KEY": FAKE_KEY,
            "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": FAKE_CONNECTION,
            "AzureWebJobsStorage": FAKE_CONNECTION,
        },
        model_args=("--log-level", "info"),  # the access log too: it must not carry the key either
    ) as app:
        yield app


def listening_addresses(pid: int) -> list[str]:
    return [c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def non_loopback_local_addresses() -> list[str]:
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not ipaddress.ip_address(address.address).is_loopback:
                found.append(address.address)
    return found


def test_host_and_model_listen_on_loopback_only(app_with_secrets: AppWithModel) -> None:
    for service in (app_with_secrets.host, app_with_secrets.model):
        addresses = listening_addresses(service.pid)
        assert addresses, f"{service.name} has no listening socket"
        assert all(ipaddress.ip_address(ip).is_loopback for ip in addresses), (service.name, addresses)
        for ip in non_loopback_local_addresses():  # the same port on this machine's other addresses: closed
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((ip, service.port)) != 0, f"{service.name} answers on {ip}"


def collect_everything_a_user_can_see(app: AppWithModel) -> dict[str, str]:
    """Run both seeds (one of them through a model failure), then gather every payload and log."""
    seen: dict[str, str] = {}
    ok_single, _ = app.run_single()
    ok_multi, _ = app.run_multi("What is a photon?")
    app.set_faults(fail_rate=1.0, fail_status=500)
    failed, _ = app.run_multi("What is a quark?")
    app.set_faults()
    assert ok_single["runtimeStatus"] == ok_multi["runtimeStatus"] == "Completed", (ok_single, ok_multi)
    assert failed["runtimeStatus"] == "Failed", failed
    for status in (ok_single, ok_multi, failed):
        instance_id = status["instanceId"]
        seen[f"status {instance_id}"] = json.dumps(status)
        full = app.http.get(
            f"{DURABLE}/instances/{instance_id}",
            params={"showHistory": "true", "showHistoryOutput": "true", "showInput": "true"},
        )
        seen[f"history {instance_id}"] = full.text
    seen["instances"] = app.http.get(f"{DURABLE}/instances").text
    for agent in ("WriterAgent", "PhysicistAgent", "ChemistAgent"):
        seen[f"entities {agent}"] = app.http.get(
            f"{DURABLE}/entities/{agent_entity_name(agent)}", params={"fetchState": "true"}
        ).text
    for path in ("/admin/host/status", "/admin/functions", "/api/health"):
        seen[path] = app.http.get(path).text
    seen["model /stats"] = app.model_http.get("/stats", params={"limit": "1000"}).text
    seen["model /admin/faults"] = app.model_http.get("/admin/faults").text
    time.sleep(0.2)  # let the last log lines reach the files
    seen["host log"] = app.host.log_text()
    seen["model log"] = app.model.log_text()
    return seen


def test_no_secret_in_logs_status_payloads_or_model_stats(app_with_secrets: AppWithModel) -> None:
    seen = collect_everything_a_user_can_see(app_with_secrets)
    assert "model/deployment" in seen["host log"], "the host log should name the backend (without the key)"
    assert "POST /openai/deployments" in seen["model log"], "the model's access log was not captured"
    leaks = [(where, secret) for where, text in seen.items() for secret in SECRETS if secret in text]
    assert not leaks, f"secrets found in: {leaks}"


def test_host_refuses_oversized_bodies_with_413_and_stays_up(app_with_secrets: AppWithModel) -> None:
    http = app_with_secrets.http
    too_big = b"x" * (HOST_BODY_LIMIT + 1)
    for path in ("/api/multiagent/run", f"{DURABLE}/orchestrators/multi_agent_concurrent_orchestration"):
        response = http.post(path, content=too_big, headers={"Content-Type": "text/plain"})
        assert response.status_code == 413, (path, response.status_code, response.text[:300])
        assert "limit" in response.json()["error"], response.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming too
        for _ in range(HOST_BODY_LIMIT // (1024 * 1024) + 1):
            yield b"y" * (1024 * 1024)

    response = http.post("/api/multiagent/run", content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413, response.text[:300]
    # The app's own, smaller limit on prompts answers 413 with its reason too.
    response = http.post("/api/multiagent/run", content=b"why? " * 1000, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413 and "Prompt is too long" in response.json()["error"], response.text
    assert http.get("/admin/host/status").json()["state"] == "Running"
    assert app_with_secrets.host.running


def test_offline_model_refuses_oversized_bodies_with_413(app_with_secrets: AppWithModel) -> None:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "z" * (16 * 2**20)}]}
    response = app_with_secrets.model_http.post("/v1/chat/completions", json=body)
    assert response.status_code == 413, (response.status_code, response.text[:200])
