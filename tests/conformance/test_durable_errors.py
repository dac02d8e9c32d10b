"""Failures are reported, not hidden: failing activities and orchestrators, non-determinism, and bad requests
to the Durable HTTP API. After each, the host is still up (`/admin/host/status`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi

pytestmark = pytest.mark.timeout(60)

ROUTE_NAMES = ("route_north", "route_east", "route_south", "route_west")


@pytest.fixture(autouse=True)
def host_survives(api: DurableApi) -> Iterator[None]:
    yield
    assert api.host_is_running(), "the host must stay up after a failure"


def test_failing_activity_fails_orchestration_with_reason(api: DurableApi) -> None:
    final = api.run("failing_activity")
    assert final["runtimeStatus"] == "Failed", final
    assert "activity exploded while handling the gear box" in str(final["output"]), final["output"]


def test_failing_orchestrator_reports_its_exception(api: DurableApi) -> None:
    final = api.run("failing_orchestrator")
    assert final["runtimeStatus"] == "Failed", final
    assert "orchestrator gave up: invariant violated" in str(final["output"]), final["output"]


def test_wait_for_completion_of_failed_instance_is_500(api: DurableApi) -> None:
    response = api.http.post(api.app_url("run/failing_orchestrator"))
    assert response.status_code == 500, response.text
    assert response.json()["runtimeStatus"] == "Failed"


def test_unknown_activity_fails_orchestration(api: DurableApi) -> None:
    final = api.run("missing_activity")
    assert final["runtimeStatus"] == "Failed", final
    assert "no_such_activity" in str(final["output"]), final["output"]


def test_non_deterministic_orchestrator_fails_naming_the_mismatch(api: DurableApi) -> None:
    final = api.run("nondeterministic")
    assert final["runtimeStatus"] == "Failed", final
    message = str(final["output"])
    assert re.search(r"non-?determinis", message, re.IGNORECASE), message
    named = {name for name in ROUTE_NAMES if name in message}
    assert len(named) >= 2, f"message should name the recorded and the replayed activity: {message}"


def test_start_unknown_orchestrator_via_public_api_is_400(api: DurableApi) -> None:
    response = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/no_such_orchestrator", json="x")
    assert 400 <= response.status_code < 500, response.status_code
    assert "no_such_orchestrator" in response.text


def test_start_unknown_orchestrator_via_sdk_client_is_not_a_success(api: DurableApi) -> None:
    """`client.start_new` raises inside the user's function: the host answers 500 and keeps going."""
    response = api.http.post(api.app_url("orchestrators/no_such_orchestrator"))
    assert response.status_code == 500


def test_start_with_malformed_json_is_400(api: DurableApi) -> None:
    response = api.http.post(
        f"{DURABLE_WEBHOOKS}/orchestrators/hello_chain",
        content=b'{"broken": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["Message"] == "Invalid JSON content"  # the extension's JsonReaderException answer
    assert response.json()["ExceptionMessage"]  # and why


def test_signal_entity_with_malformed_json_is_400(api: DurableApi) -> None:
    response = api.http.post(
        f"{DURABLE_WEBHOOKS}/entities/Counter/bad",
        params={"op": "add"},
        content=b"[1, 2",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text


def test_raise_event_with_malformed_json_is_400(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    response = api.http.post(
        f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/First",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/terminate")


def test_unknown_instance_is_404(api: DurableApi) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    assert api.status(missing).status_code == 404
    assert api.http.post(f"{DURABLE_WEBHOOKS}/instances/{missing}/raiseEvent/Go", json=1).status_code == 404
    assert api.http.post(f"{DURABLE_WEBHOOKS}/instances/{missing}/terminate").status_code == 404
    assert api.http.delete(f"{DURABLE_WEBHOOKS}/instances/{missing}").status_code == 404
    assert api.http.get(api.app_url(f"status/{missing}")).status_code == 404


# Azure Functions refuses request bodies over 100 MB; a host may be stricter, never more lenient.
OVERSIZED_BYTES = 101 * 1024 * 1024


def test_oversized_body_is_413(api: DurableApi) -> None:
    huge = b'"' + b"x" * OVERSIZED_BYTES + b'"'
    response = api.http.post(
        f"{DURABLE_WEBHOOKS}/orchestrators/hello_chain", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.status_code


def test_oversized_chunked_body_to_app_route_is_413(api: DurableApi) -> None:
    """No Content-Length: the host must count while reading, not trust a header."""
    chunk = b"x" * (1024 * 1024)

    def chunks():
        for _ in range(OVERSIZED_BYTES // len(chunk) + 1):
            yield chunk

    response = api.http.post(
        api.app_url("orchestrators/hello_chain"), content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.status_code


def test_event_to_finished_instance_is_410(api: DurableApi) -> None:
    final = api.run("hello_chain")
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{final['instanceId']}/raiseEvent/Go", json=1)
    assert response.status_code == 410, response.status_code
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{final['instanceId']}/terminate")
    assert response.status_code == 410, response.status_code


def test_raise_event_without_a_json_content_type_is_400_like_the_extension(api: DurableApi) -> None:
    instance_id = api.start("collect_events")["id"]
    response = api.http.post(
        f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/First",
        content=b'"go"',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json() == {"Message": "Only application/json request content is supported"}
    assert api.status(instance_id).status_code == 202, "the instance keeps waiting for a valid event"
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/terminate")


def test_purge_by_filter_needs_created_time_from(api: DurableApi) -> None:
    finished = api.run("hello_chain")["instanceId"]
    response = api.http.delete(f"{DURABLE_WEBHOOKS}/instances/", params={"runtimeStatus": "Completed"})
    assert response.status_code == 400
    assert response.json() == "Please provide value for 'createdTimeFrom' parameter."
    assert api.status(finished).status_code == 200, "nothing was purged"
