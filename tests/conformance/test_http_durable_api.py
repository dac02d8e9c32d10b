"""The Durable Functions HTTP API of the embedded host, end to end over real HTTP.

Covers both callers: the SDK client inside the app's own functions (its rpcBaseUrl points back at the host)
and people/notebooks using the public URLs. Status codes are the contract the SDK depends on:
202 running/accepted, 200 finished, 404 unknown, 410 already finished, 400 bad input.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpers.processes import Service, start_host
from tests.conftest import HOST_APPS, wait_for_status, wait_until

APP = HOST_APPS / "http_durable"
API = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    state = tmp_path_factory.mktemp("http-durable") / "state.sqlite3"
    with start_host(APP, state_db=state) as service:
        yield service


@pytest.fixture(scope="module")
def client(host: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=host.url, timeout=15, trust_env=False) as client:
        yield client


def wait_until_finished(client: httpx.Client, status_url: str, timeout: float = 15) -> dict[str, Any]:
    """The Durable HTTP API answers 202 while an instance runs and 200 once it finished; nothing else."""
    return wait_for_status(client, status_url, timeout=timeout, expect_codes=(200, 202))


def start(client: httpx.Client, name: str, body: Any = None, instance_id: str | None = None) -> str:
    path = f"{API}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
    response = client.post(path, json=body) if body is not None else client.post(path)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_status_shows_the_input_as_the_extension_does(client: httpx.Client) -> None:
    """Posted as plain JSON: the value; sent by the SDK's start_new (JSON inside a JSON string): the text."""
    plain = client.post(f"{API}/orchestrators/chain", json={"name": "Ann"}).json()
    by_sdk = client.post("/api/orchestrators/chain", json={"name": "Ann"}).json()
    done_plain = wait_until_finished(client, plain["statusQueryGetUri"])
    done_sdk = wait_until_finished(client, by_sdk["statusQueryGetUri"])
    assert done_plain["input"] == {"name": "Ann"} and done_sdk["input"] == '{"name": "Ann"}'
    assert done_plain["output"] == done_sdk["output"] == ["Hello Ann", "Hello Hello Ann"]  # the same to the code
    listed = {row["instanceId"]: row["input"] for row in client.get(f"{API}/instances").json()}
    assert listed[plain["id"]] == {"name": "Ann"} and listed[by_sdk["id"]] == '{"name": "Ann"}'
    again = client.post(f"{API}/instances/{plain['id']}/restart").json()  # a restart keeps the input's form
    assert wait_until_finished(client, again["statusQueryGetUri"])["input"] == {"name": "Ann"}


def test_chain_started_by_the_sdk_client_inside_a_function(client: httpx.Client, host: Service) -> None:
    response = client.post("/api/orchestrators/chain", json={"name": "Ann"})
    assert response.status_code == 202
    payload = response.json()
    status_url = payload["statusQueryGetUri"]
    assert status_url.startswith(f"{host.url}{API}/instances/{payload['id']}")  # the origin we called
    assert response.headers["location"] == status_url

    status = wait_until_finished(client, status_url)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Ann", "Hello Hello Ann"]
    assert status["input"] == '{"name": "Ann"}'  # the JSON text, as the real extension shows it
    # The same status through the app's own route (SDK get_status -> our API -> back to the app).
    assert client.get(f"/api/status/{payload['id']}").json() == {
        "runtimeStatus": "Completed",
        "output": ["Hello Ann", "Hello Hello Ann"],
    }


def test_status_options_history_and_input(client: httpx.Client) -> None:
    instance_id = start(client, "chain", {"name": "Bo"})
    wait_until_finished(client, f"{API}/instances/{instance_id}")
    with_history = client.get(f"{API}/instances/{instance_id}", params={"showHistory": "true"}).json()
    event_types = [event["EventType"] for event in with_history["historyEvents"]]
    assert event_types.count("TaskCompleted") == 2 and "ExecutionStarted" in event_types
    without_input = client.get(f"{API}/instances/{instance_id}", params={"showInput": "false"}).json()
    assert without_input.get("input") in (None, "")
    assert client.get(f"{API}/instances/{instance_id}", params={"showHistory": "maybe"}).status_code == 400


def test_fan_out_fan_in(client: httpx.Client) -> None:
    instance_id = start(client, "fan_out", 5)
    status = wait_until_finished(client, f"{API}/instances/{instance_id}")
    assert status["output"] == [f"Hello n{i}" for i in range(5)]


def test_running_instance_answers_202_and_takes_an_event_once(client: httpx.Client) -> None:
    instance_id = start(client, "approval", instance_id=f"approval-{uuid.uuid4().hex[:8]}")
    running = client.get(f"{API}/instances/{instance_id}")
    assert running.status_code == 202
    assert running.json()["runtimeStatus"] in ("Pending", "Running")
    # As HttpApiHandler does: Location is the URL that was asked for, and the client is asked to wait 5 s.
    assert running.headers["location"] == f"{client.base_url}{API}/instances/{instance_id}"
    assert running.headers["retry-after"] == "5"
    query = "taskHub=TestHubName&connection=Storage"
    assert client.get(f"{API}/instances/{instance_id}?{query}").headers["location"].endswith(f"{instance_id}?{query}")

    assert client.post(f"{API}/instances/{instance_id}/raiseEvent/Approve", content=b"{oops").status_code == 400
    response = client.post(f"{API}/instances/{instance_id}/raiseEvent/Approve", json={"ok": True})
    assert response.status_code == 202
    status = wait_until_finished(client, f"{API}/instances/{instance_id}")
    assert status["output"] == {"decision": {"ok": True}}

    late = client.post(f"{API}/instances/{instance_id}/raiseEvent/Approve", json={"ok": False})
    assert late.status_code == 410
    assert client.post(f"{API}/instances/no-such-id/raiseEvent/Approve", json=1).status_code == 404


def test_terminate_suspend_resume(client: httpx.Client) -> None:
    instance_id = start(client, "approval")
    assert client.post(f"{API}/instances/{instance_id}/suspend", params={"reason": "wait"}).status_code == 202
    wait_for_status(client, f"{API}/instances/{instance_id}", {"Suspended"}, timeout=10)
    assert client.post(f"{API}/instances/{instance_id}/resume").status_code == 202
    assert client.post(f"{API}/instances/{instance_id}/terminate", params={"reason": "enough"}).status_code == 202
    status = wait_until_finished(client, f"{API}/instances/{instance_id}")
    assert status["runtimeStatus"] == "Terminated"
    assert client.post(f"{API}/instances/{instance_id}/terminate").status_code == 410
    assert client.post(f"{API}/instances/no-such-id/terminate").status_code == 404


def test_unknown_things(client: httpx.Client) -> None:
    missing = client.get(f"{API}/instances/no-such-id")
    assert missing.status_code == 404 and "error" in missing.json()
    # The SDK client turns that 404 into a falsy status object, whatever JSON reason the body carries.
    assert client.get("/api/status/no-such-id").status_code == 404

    unknown = client.post(f"{API}/orchestrators/no_such_orchestrator", json={"x": 1})
    assert unknown.status_code == 400
    assert "no_such_orchestrator" in unknown.json()["ExceptionMessage"] and "Message" in unknown.json()

    # Through the SDK client the same 400 becomes an exception in the function -> 500 with the reason.
    failed = client.post("/api/orchestrators/no_such_orchestrator", json={})
    assert failed.status_code == 500
    assert "doesn't exist" in failed.json()["exception"]

    assert client.post(f"{API}/orchestrators/chain", content=b"{not json").status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/instances/purge?createdTimeFrom=2020-01-01T00:00:00Z"),  # a purge sent as POST, not DELETE
        ("POST", "/instances/some-id"),
        ("GET", "/orchestrators/chain"),
        ("DELETE", "/instances/some-id/terminate"),
        ("GET", "/no-such-operation"),
    ],
)
def test_a_method_the_api_has_no_operation_for_is_404_as_in_the_extension(
    client: httpx.Client, method: str, path: str
) -> None:
    """HttpApiHandler answers 404 to any GET, POST or DELETE it has no operation for, where another method of the
    same path has one (Agent Framework's workflow sample demo purges with `POST instances/purge`); not 405."""
    response = client.request(method, API + path)
    assert response.status_code == 404, response.text
    assert f"has no {method} {API}{path.split('?')[0]}" in response.json()["error"]


def test_list_restart_and_purge(client: httpx.Client) -> None:
    prefix = f"lp-{uuid.uuid4().hex[:6]}"
    first = start(client, "chain", {"name": "Cy"}, instance_id=f"{prefix}-1")
    wait_until_finished(client, f"{API}/instances/{first}")

    restarted = client.post(f"{API}/instances/{first}/restart")
    assert restarted.status_code == 202
    second = restarted.json()["id"]
    assert second != first
    assert wait_until_finished(client, f"{API}/instances/{second}")["output"] == ["Hello Cy", "Hello Hello Cy"]

    listed = client.get(f"{API}/instances/", params={"instanceIdPrefix": prefix, "runtimeStatus": "Completed"})
    assert listed.status_code == 200
    assert [row["instanceId"] for row in listed.json()] == [first]

    purged = client.delete(f"{API}/instances/{first}")
    assert purged.status_code == 200 and purged.json() == {"instancesDeleted": 1}
    assert client.get(f"{API}/instances/{first}").status_code == 404
    assert client.delete(f"{API}/instances/{first}").status_code == 404


def test_entities_via_orchestration_public_api_and_sdk(client: httpx.Client) -> None:
    key = f"k{uuid.uuid4().hex[:6]}"
    instance_id = start(client, "count_to", key)
    assert wait_until_finished(client, f"{API}/instances/{instance_id}")["output"] == 3

    state = client.get(f"{API}/entities/Counter/{key}")
    assert state.status_code == 200 and state.json() == 3

    # curl style (plain JSON) and SDK style (JSON text inside a JSON string) both deliver the number.
    assert client.post(f"{API}/entities/counter/{key}", params={"op": "add"}, json=5).status_code == 202
    assert client.post(f"{API}/entities/Counter/{key}", params={"op": "add"}, json="2").status_code == 202
    wait_until(
        lambda: client.get(f"/api/counter/{key}").json() == {"exists": True, "state": 10},
        timeout=10,
        what="the counter to reach 10",
    )

    listed = client.get(f"{API}/entities/Counter", params={"fetchState": "true"}).json()
    mine = [row for row in listed if row["entityId"]["key"] == key]
    assert mine and mine[0]["entityId"]["name"] == "counter" and mine[0]["state"] == 10

    assert client.get(f"{API}/entities/Counter/never-used").status_code == 404
    # As HandlePostEntityOperationRequestAsync: an unknown entity is an ArgumentException -> 400 with its text;
    # JSON is parsed only when sent as application/json; a missing ?op= is the operation "".
    unknown = client.post(f"{API}/entities/NoSuchEntity/x", params={"op": "add"})
    assert unknown.status_code == 400
    assert unknown.json()["Message"].startswith("The function 'nosuchentity' doesn't exist")  # EntityId lower-cases
    broken = client.post(
        f"{API}/entities/Counter/{key}",
        params={"op": "add"},
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["Message"].startswith("Could not parse JSON content")
    assert (
        client.post(
            f"{API}/entities/Counter/{key}",
            params={"op": "add"},
            content=b"{nope",
            headers={"content-type": "text/plain"},
        ).status_code
        == 202
    )  # the text is the input
    assert client.post(f"{API}/entities/Counter/{key}").status_code == 202  # operation ""


def test_agent_http_route_keeps_the_session(client: httpx.Client) -> None:
    session = f"s-{uuid.uuid4().hex[:6]}"
    first = client.post("/api/agents/Echo/run", json={"message": "hello", "session_id": session})
    assert first.status_code == 200, first.text
    assert first.json()["response"] == "echo(1): hello"
    second = client.post("/api/agents/Echo/run", json={"message": "again", "session_id": session})
    assert second.json()["response"] == "echo(3): again"  # the entity kept the conversation

    text = client.post("/api/agents/Echo/run", content=b"plain words", headers={"content-type": "text/plain"})
    assert text.status_code == 200 and text.text == "echo(1): plain words"
    assert text.headers["x-ms-session-id"]

    state = client.get(f"{API}/entities/dafx-Echo/{session}").json()
    assert len(state["data"]["conversationHistory"]) == 4
    assert client.get("/api/health").json()["agents"][0]["name"] == "Echo"


def test_agent_inside_an_orchestration(client: httpx.Client) -> None:
    instance_id = start(client, "ask_agent")
    status = wait_until_finished(client, f"{API}/instances/{instance_id}")
    assert status["output"] == ["echo(1): first", "echo(3): second"]


def test_oversized_bodies_are_refused_by_the_durable_api(client: httpx.Client) -> None:
    too_big = b"[" + b"1," * (4 * 1024 * 1024) + b"1]"  # a little over the default 8 MiB limit
    response = client.post(f"{API}/orchestrators/chain", content=too_big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.get(f"{API}/instances/no-such-id").status_code == 404  # still serving
