"""The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) and the SDK client calls that use it:
status, history, list and query, raise event, terminate, suspend/resume, purge."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, unique

pytestmark = pytest.mark.timeout(60)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_codes_running_vs_completed(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    running = api.wait_for(instance_id, {"Running"})
    response = api.status(instance_id)
    assert response.status_code == 202, "running instances answer 202"
    assert running["name"] == "collect_events"
    for name in ("First", "Second"):
        api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}", json=name.lower())
    api.wait_for(instance_id)
    assert api.status(instance_id).status_code == 200


def test_status_shape_and_times(api: DurableApi) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    final = api.run("hello_chain")
    for key in (
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    ):
        assert key in final, key
    created = datetime.fromisoformat(final["createdTime"].replace("Z", "+00:00"))
    updated = datetime.fromisoformat(final["lastUpdatedTime"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= created <= updated <= datetime.now(UTC) + timedelta(seconds=1)
    assert "historyEvents" not in final


def test_show_history_lists_events_by_name(api: DurableApi) -> None:
    final = api.run("hello_chain")
    body = api.status(final["instanceId"], showHistory="true", showHistoryOutput="true", showInput="true").json()
    types = [event["EventType"] for event in body["historyEvents"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionCompleted", types
    assert types.count("TaskCompleted") == 3, types


def test_status_through_sdk_client(api: DurableApi) -> None:
    final = api.run("hello_chain")
    response = api.http.get(api.app_url(f"status/{final['instanceId']}"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["runtimeStatus"] == "Completed"
    assert body["output"] == final["output"]
    assert body["name"] == "hello_chain"
    assert body["historyLength"] >= 5  # ExecutionStarted, 3 x TaskCompleted, ExecutionCompleted


def test_raise_event_on_public_route(api: DurableApi) -> None:
    instance_id = api.start("approval_workflow", 30)["id"]
    api.wait_for(instance_id, {"Running"})
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/Approval", json={"ok": 1})
    assert response.status_code == 202, response.text
    assert api.wait_for(instance_id)["runtimeStatus"] == "Completed"


def test_terminate_on_public_route(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    api.wait_for(instance_id, {"Running"})
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/terminate", params={"reason": "enough"})
    assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Terminated"
    assert "enough" in str(final["output"])


def test_terminate_through_sdk_client(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    api.wait_for(instance_id, {"Running"})
    response = api.http.post(api.app_url(f"terminate/{instance_id}"), params={"reason": "by the client"})
    assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Terminated"
    assert "by the client" in str(final["output"])
    # Later events are ignored; the instance stays terminated.
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/First", json=1)
    time.sleep(0.2)
    assert api.status(instance_id).json()["runtimeStatus"] == "Terminated"


def test_suspend_and_resume(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    api.wait_for(instance_id, {"Running"})
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/suspend", params={"reason": "pause"})
    assert response.status_code == 202, response.text
    api.wait_for(instance_id, {"Suspended"})
    for name in ("First", "Second"):
        api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/{name}", json=name)
    time.sleep(0.3)
    assert api.status(instance_id).json()["runtimeStatus"] == "Suspended", "a suspended instance must not progress"
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/resume", params={"reason": "go"})
    assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed", final


def test_list_and_filter_instances(api: DurableApi) -> None:
    prefix = unique("listing")
    since = datetime.now(UTC) - timedelta(seconds=2)
    done = [api.start("hello_chain", instance_id=f"{prefix}-done-{i}")["id"] for i in range(2)]
    waiting = api.start("collect_events", instance_id=f"{prefix}-waiting")["id"]
    for instance_id in done:
        api.wait_for(instance_id)
    api.wait_for(waiting, {"Running"})

    response = api.http.get(f"{DURABLE_WEBHOOKS}/instances", params={"instanceIdPrefix": prefix})
    assert response.status_code == 200, response.text
    assert sorted(item["instanceId"] for item in response.json()) == sorted(done + [waiting])

    response = api.http.get(
        f"{DURABLE_WEBHOOKS}/instances", params={"instanceIdPrefix": prefix, "runtimeStatus": "Running"}
    )
    assert [item["instanceId"] for item in response.json()] == [waiting]

    response = api.http.get(
        f"{DURABLE_WEBHOOKS}/instances", params={"instanceIdPrefix": prefix, "runtimeStatus": "Completed,Running"}
    )
    assert len(response.json()) == 3

    response = api.http.get(f"{DURABLE_WEBHOOKS}/instances", params={"createdTimeFrom": iso(since)})
    listed = {item["instanceId"] for item in response.json()}
    assert set(done + [waiting]) <= listed

    future = datetime.now(UTC) + timedelta(hours=1)
    response = api.http.get(
        f"{DURABLE_WEBHOOKS}/instances", params={"instanceIdPrefix": prefix, "createdTimeFrom": iso(future)}
    )
    assert response.json() == []

    # Through the SDK client (get_status_by with runtime_status + instance_id_prefix).
    response = api.http.get(api.app_url("instances"), params={"prefix": prefix})
    assert response.status_code == 200, response.text
    assert response.json() == sorted(done)
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{waiting}/terminate")


def test_purge_through_public_route(api: DurableApi) -> None:
    final = api.run("hello_chain")
    response = api.http.delete(f"{DURABLE_WEBHOOKS}/instances/{final['instanceId']}")
    assert response.status_code == 200, response.text
    assert response.json()["instancesDeleted"] == 1
    assert api.status(final["instanceId"]).status_code == 404


def test_purge_through_sdk_client(api: DurableApi) -> None:
    final = api.run("hello_chain")
    response = api.http.delete(api.app_url(f"purge/{final['instanceId']}"))
    assert response.status_code == 200, response.text
    assert response.json() == {"instancesDeleted": 1}
    assert api.status(final["instanceId"]).status_code == 404


def test_start_on_public_route(api: DurableApi) -> None:
    response = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/fan_out_fan_in", json={"count": 2, "seconds": 0})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"]
    assert body["statusQueryGetUri"].startswith(api.base_url)
    final = api.wait_for(body["id"])
    assert final["output"]["total"] == 1


def test_terminate_while_activities_run_drops_their_results(api: DurableApi) -> None:
    instance_id = api.start("fan_out_fan_in", {"count": 3, "seconds": 0.3})["id"]
    api.wait_for(instance_id, {"Running"})
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/terminate", params={"reason": "halt"})
    assert response.status_code == 202, response.text
    assert api.wait_for(instance_id)["runtimeStatus"] == "Terminated"
    time.sleep(0.5)  # the activities finish meanwhile; their results must not revive the instance
    final = api.status(instance_id).json()
    assert final["runtimeStatus"] == "Terminated", final
    assert "halt" in str(final["output"])


def test_purge_by_created_time_and_status(api: DurableApi) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    finished = [api.run("hello_chain")["instanceId"] for _ in range(2)]
    waiting = api.start("collect_events")["id"]
    api.wait_for(waiting, {"Running"})
    response = api.http.delete(
        f"{DURABLE_WEBHOOKS}/instances/", params={"createdTimeFrom": iso(since), "runtimeStatus": "Completed"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["instancesDeleted"] >= 2
    for instance_id in finished:
        assert api.status(instance_id).status_code == 404
    assert api.status(waiting).status_code == 202, "running instances are not purged by a Completed filter"
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{waiting}/terminate")
