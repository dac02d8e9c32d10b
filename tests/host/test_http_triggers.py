"""HTTP triggers served by the embedded host, driven over real HTTP against a host process."""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from helpers.processes import Service, start_host
from tests.conftest import app_copy

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("http-basic")
    app_dir = app_copy("http_basic", workdir, {"KIT_FROM_FILE": "file-value", "KIT_OVERRIDDEN": "file-value"})
    env = {"KIT_OVERRIDDEN": "environment-value"}
    os.environ.pop("KIT_FROM_FILE", None)
    with start_host(
        app_dir, state_db=workdir / "state.sqlite3", env=env, extra_args=["--max-body-bytes", str(MAX_BODY)]
    ) as service:
        yield service


@pytest.fixture(scope="module")
def client(host: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=host.url, timeout=10, trust_env=False) as client:
        yield client


def test_host_reports_running_and_lists_functions(client: httpx.Client, host: Service) -> None:
    status = client.get("/admin/host/status")
    assert status.status_code == 200 and status.json()["state"] == "Running"

    functions = {row["name"]: row for row in client.get("/admin/functions").json()}
    assert functions["echo"]["methods"] == ["GET", "POST"]
    assert functions["echo"]["url"] == f"{host.url}/api/echo/{{name}}"
    assert functions["Renamed"]["route"] == "renamed"  # @app.function_name wins over the Python name


def test_start_up_prints_the_function_list_like_func_start(host: Service) -> None:
    log = host.log_text()
    assert "Functions:" in log
    assert f"echo: [GET,POST] {host.url}/api/echo/{{name}}" in log


def test_request_parts_reach_the_function(client: httpx.Client, host: Service) -> None:
    response = client.post(
        "/api/ECHO/Ann%20Lee",
        params=[("q", "1"), ("q", "2"), ("lang", "en")],
        headers={"X-Test-Header": "hello"},
        json={"n": 1},
    )
    assert response.status_code == 200
    assert response.headers["x-echo"] == "yes"  # headers set on func.HttpResponse are sent
    assert response.headers["content-type"].startswith("application/json")
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["route_params"] == {"name": "Ann Lee"}
    assert seen["params"] == {"q": "1,2", "lang": "en"}
    assert seen["header"] == "hello"
    assert seen["json"] == {"n": 1}
    assert seen["url"].startswith(f"{host.url}/api/ECHO/Ann%20Lee?")


def test_invalid_json_body_is_the_functions_business(client: httpx.Client) -> None:
    seen = client.post("/api/echo/x", content=b"not json").json()
    assert seen["body"] == "not json" and seen["json_error"] is True


def test_route_constraints_and_optional_parameters(client: httpx.Client) -> None:
    assert client.get("/api/items/42").text == "id=42"
    assert client.get("/api/items/shoe").text == "slug=shoe"
    assert client.get("/api/greet").text == "Hello, stranger!"
    assert client.get("/api/greet/Ann").text == "Hello, Ann!"


def test_methods_are_enforced_with_404_like_the_functions_host(client: httpx.Client) -> None:
    response = client.delete("/api/greet/Ann")
    assert response.status_code == 404
    reason = response.json()["error"]
    assert "DELETE" in reason and "accepts GET" in reason
    assert client.put("/api/renamed").status_code == 200
    assert client.get("/api/renamed").status_code == 404


def test_unknown_routes_answer_404_json(client: httpx.Client) -> None:
    for path in ("/api/nothing-here", "/elsewhere", "/runtime/webhooks/durabletask/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_mcp_endpoints_of_an_app_without_mcp_triggers_say_so(client: httpx.Client) -> None:
    for path in ("/runtime/webhooks/mcp", "/runtime/webhooks/mcp/sse"):
        response = client.post(path, json={})
        assert response.status_code == 404
        assert "declares no MCP tool, resource or prompt trigger" in response.json()["error"]


def test_async_functions_run_concurrently_on_one_loop(client: httpx.Client) -> None:
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: client.get("/api/slow", params={"seconds": "0.5"}), range(4)))
    assert [r.status_code for r in responses] == [201] * 4
    assert time.perf_counter() - started < 1.5  # four 0.5 s sleeps overlapped

    loops = {client.get("/api/loop-id").text for _ in range(3)}
    assert len(loops) == 1


def test_plain_return_values_become_responses(client: httpx.Client) -> None:
    response = client.get("/api/plain-dict")
    assert response.status_code == 200 and response.json() == {"kind": "dict"}
    response = client.get("/api/plain-text")
    assert response.status_code == 200 and response.text == "just text"


def test_context_parameter_gets_a_functions_context(client: httpx.Client) -> None:
    assert client.put("/api/renamed").json() == {"function_name": "Renamed", "has_invocation_id": True}


@pytest.mark.parametrize("path", ["/api/boom", "/api/async-boom"])
def test_a_failing_function_answers_500_and_the_host_keeps_serving(
    client: httpx.Client, host: Service, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 500
    body = response.json()
    assert "failure on purpose" in body["exception"] or "failed on purpose" in body["exception"]
    assert "Traceback" in host.log_text()  # the traceback goes to the log, not to the caller
    assert "Traceback" not in response.text
    assert client.get("/api/greet/again").status_code == 200


def test_oversized_bodies_are_refused_with_413(client: httpx.Client) -> None:
    response = client.post("/api/echo/big", content=b"x" * (MAX_BODY + 1))
    assert response.status_code == 413
    assert "limit" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while streaming
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"y" * 1024

    response = client.post("/api/echo/big", content=chunks())
    assert response.status_code == 413
    assert client.post("/api/echo/small", content=b"z" * MAX_BODY).status_code == 200


def test_local_settings_fill_the_environment_but_never_override_it(client: httpx.Client) -> None:
    assert client.get("/api/setting/KIT_FROM_FILE").json() == {"value": "file-value"}
    assert client.get("/api/setting/KIT_OVERRIDDEN").json() == {"value": "environment-value"}
