"""Durable HTTP calls, rewind and duplicate starts, answered the way the Durable extension answers them.

The app (apps/durable_surface) serves its own call_http targets; everything is driven over real HTTP, through
the app's SDK client and through the public Durable HTTP API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, HostLauncher, unique, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def host(start_module_host: HostLauncher) -> Any:
    return start_module_host("durable_surface")


@pytest.fixture(scope="module")
def api(host: Any) -> Iterator[DurableApi]:
    client = DurableApi(host.url)
    yield client
    client.close()


def start(api: DurableApi, name: str, payload=None, instance_id: str | None = None) -> dict:
    route = f"start/{name}" + (f"/{instance_id}" if instance_id else "")
    response = api.http.post(api.app_url(route), json=payload)
    assert response.status_code == 202, response.text
    return response.json()


def run(api: DurableApi, name: str, payload=None) -> dict:
    return api.wait_for(start(api, name, payload)["id"])


# ------------------------------------------------------------------------------------------ call_http
def test_call_http_returns_the_durable_http_response(api: DurableApi) -> None:
    final = run(api, "http_get", f"{api.base_url}/api/target/hello")
    assert final["runtimeStatus"] == "Completed", final
    response = final["output"]
    assert set(response) == {"statusCode", "headers", "content"}
    assert response["statusCode"] == 200 and response["content"] == "hi there"
    headers = {name.lower(): value for name, value in response["headers"].items()}
    assert headers["x-target"] == "hello"
    # .NET keeps content headers apart; the extension's DurableHttpResponse carries only the others.
    assert not {name.lower() for name in response["headers"]} & {"content-type", "content-length"}
    history = api.status(final["instanceId"], showHistory="true").json()["historyEvents"]
    assert [e.get("FunctionName") for e in history if e["EventType"] == "TaskCompleted"] == ["BuiltIn::HttpActivity"]


def test_call_http_post_sends_method_headers_and_content(api: DurableApi) -> None:
    final = run(api, "http_post", f"{api.base_url}/api/target/echo")
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"]["statusCode"] == 201
    echoed = json.loads(final["output"]["content"])
    assert echoed == {
        "method": "POST",
        "body": '{"order": 7}',
        "headers": {"content-type": "application/json", "x-custom": "42", "authorization": None},
    }


def test_call_http_hands_a_202_back_without_polling(api: DurableApi) -> None:
    # The Python SDK does not ask the extension to poll (no asynchronousPatternEnabled), so on Azure too the
    # orchestrator gets the 202 and its Location.
    final = run(api, "http_get", f"{api.base_url}/api/target/accepted")
    assert final["runtimeStatus"] == "Completed", final
    response = final["output"]
    assert response["statusCode"] == 202
    headers = {name.lower(): value for name, value in response["headers"].items()}
    assert headers["location"] == f"{api.base_url}/api/target/hello" and headers["retry-after"] == "1"
    assert json.loads(response["content"]) == {"status": "working"}


def test_an_unreachable_target_fails_the_task_and_the_orchestrator_can_catch_it(api: DurableApi) -> None:
    final = run(api, "http_guarded", {"uri": "http://127.0.0.1:9/nothing-listens-here"})
    assert final["runtimeStatus"] == "Completed", final
    assert "127.0.0.1:9" in final["output"]["caught"]


def test_a_token_source_without_an_identity_fails_with_the_reason(api: DurableApi) -> None:
    final = api.wait_for(
        start(
            api,
            "http_guarded",
            {"uri": f"{api.base_url}/api/target/hello", "token": "https://management.core.windows.net"},
        )["id"],
        timeout=40,
    )
    assert final["runtimeStatus"] == "Completed", final
    assert "could not get a token for 'https://management.core.windows.net'" in final["output"]["caught"]
    assert "managed identity" in final["output"]["caught"]


def test_a_relative_uri_fails_the_task_with_the_reason(api: DurableApi) -> None:
    final = run(api, "http_guarded", {"uri": "/api/target/hello"})
    assert "Invalid URI for call_http" in final["output"]["caught"], final


# ------------------------------------------------------------------------------------------ rewind
def fix_and_rewind(api: DurableApi, failed: dict, key: str, *, through_sdk: bool = False) -> dict:
    """Let the failing activity of `key` succeed from now on, rewind the Failed instance (through the Durable HTTP
    API, or the app's route that calls the SDK client's `rewind`) and return its final status, Completed."""
    assert api.http.post(api.app_url(f"fix/{key}")).status_code == 204
    instance_id = failed["instanceId"]
    if through_sdk:
        response = api.http.post(api.app_url(f"rewind/{instance_id}"))
    else:
        response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/rewind", params={"reason": "fixed"})
    assert response.status_code == 202, response.text
    final = api.wait_for(instance_id)
    assert final["runtimeStatus"] == "Completed", final
    return final


def failed_run(api: DurableApi, orchestrator: str, prefix: str) -> tuple[str, dict]:
    """Run `orchestrator` on a fresh key until it fails on the activity that is not fixed yet: the key, the status."""
    key = unique(prefix)
    failed = run(api, orchestrator, key)
    assert failed["runtimeStatus"] == "Failed" and "not fixed yet" in failed["output"], failed
    return key, failed


def test_rewind_runs_the_failed_work_again_and_keeps_the_rest(api: DurableApi) -> None:
    key, failed = failed_run(api, "flaky_chain", "rw")
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == [f"{key}:first #1", "fixed on attempt 2"]
    assert api.http.get(api.app_url(f"calls/{key}")).json() == {f"{key}:first": 1, f"{key}:flaky": 2}
    events = [e["EventType"] for e in api.status(final["instanceId"], showHistory="true").json()["historyEvents"]]
    assert "TaskFailed" not in events and "ExecutionRewound" in events and events[-1] == "ExecutionCompleted"


def test_rewind_through_the_sdk_client_reaches_failed_sub_orchestrations(api: DurableApi) -> None:
    key, failed = failed_run(api, "flaky_parent", "rwp")
    final = fix_and_rewind(api, failed, key, through_sdk=True)
    assert final["output"] == {"first": f"{key}:parent #1", "child": [f"{key}:first #1", "fixed on attempt 2"]}
    assert api.status(f"{failed['instanceId']}-child").json()["runtimeStatus"] == "Completed"


def test_rewind_of_a_retry_loop_that_gave_up_runs_its_last_attempt_again(api: DurableApi) -> None:
    key, failed = failed_run(api, "flaky_retry", "rwr")
    assert "attempt 2" in failed["output"], failed  # the loop gave up after its second attempt
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == "fixed on attempt 3", final


def test_rewind_keeps_the_failures_a_retry_loop_already_answered(api: DurableApi) -> None:
    """The retry loop succeeded on its second attempt before a later activity failed the run: rewinding runs only
    that activity again -- the loop's first failure stays, or the replay would not match its history."""
    key, failed = failed_run(api, "retried_then_flaky", "rwo")
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == ["ok on attempt 2", "fixed on attempt 2"]
    assert api.http.get(api.app_url(f"calls/{key}")).json() == {f"{key}:once": 2, f"{key}:flaky": 2}


def test_rewind_resumes_a_retry_loop_that_was_still_running_when_another_branch_failed(api: DurableApi) -> None:
    """The loop's first attempt failed and it was waiting to retry when the other branch failed the run: after
    the rewind it goes on where it was, with the attempts it has left (its second fails too, its third succeeds),
    and only the failed branch runs again."""
    key, failed = failed_run(api, "retrying_beside_flaky", "rwl")
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == ["ok on attempt 3", "fixed on attempt 2"]
    assert api.http.get(api.app_url(f"calls/{key}")).json() == {f"{key}:twice": 3, f"{key}:flaky": 2}


def test_rewind_renumbers_the_work_that_came_after_a_dropped_retry_timer(api: DurableApi) -> None:
    """The loop that gave up loses its trailing retry timer in the rewind; the other loop's retry timer and second
    attempt were numbered after it, and move down one so the replay finds them."""
    key, failed = failed_run(api, "loop_gives_up_beside_loop", "rwn")
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == ["fixed on attempt 2", "ok after a slow attempt"]


def test_a_running_child_numbered_after_a_dropped_retry_timer_reports_under_its_new_id(api: DurableApi) -> None:
    key, failed = failed_run(api, "child_after_a_dropped_timer", "rwc")
    assert api.status(f"{failed['instanceId']}-child").json()["runtimeStatus"] == "Running"
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == ["fixed on attempt 2", "slept 1.0 s"]


@pytest.mark.parametrize("rewind_when", ["while the operation runs", "after it answered"])
def test_rewind_keeps_an_entity_call_that_was_running_when_the_run_failed(api: DurableApi, rewind_when: str) -> None:
    """The operation runs once: its answer reaches the rewound instance, whether it comes after the rewind or
    came while the instance was Failed."""
    key, failed = failed_run(api, "entity_beside_flaky", "rwe")
    if rewind_when == "after it answered":
        wait_until(
            lambda: api.http.get(f"{DURABLE_WEBHOOKS}/entities/slow_counter/{key}").text == "1",
            timeout=10,
            what="the operation to finish",
        )
    final = fix_and_rewind(api, failed, key)
    assert final["output"] == [1, "fixed on attempt 2"]
    assert api.http.get(f"{DURABLE_WEBHOOKS}/entities/slow_counter/{key}").text == "1"  # it ran once


def test_rewind_answers_like_the_extension_for_unknown_and_not_failed_instances(api: DurableApi) -> None:
    """HandleRewindInstanceRequestAsync: 404 unknown, 410 Completed/Terminated/Canceled, and a running instance
    meets DurableClient.RewindAsync's InvalidOperationException in the catch-all (500)."""
    missing = api.http.post(f"{DURABLE_WEBHOOKS}/instances/no-such-instance/rewind")
    assert missing.status_code == 404 and "no-such-instance" in missing.json()["error"]
    done = run(api, "http_get", f"{api.base_url}/api/target/hello")
    gone = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{done['instanceId']}/rewind")
    assert gone.status_code == 410, gone.text
    through_sdk = api.http.post(api.app_url(f"rewind/{done['instanceId']}"))  # the SDK's text for a 410
    assert through_sdk.json()["refused"] == "The rewind operation is only supported on failed orchestration instances."

    running = start(api, "waiter", "rewind me")["id"]
    api.wait_for(running, {"Running"}, predicate=lambda s: s.get("customStatus") is not None)
    refused = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{running}/rewind")
    assert refused.status_code == 500 and refused.json() == {
        "Message": "Something went wrong while processing your request",
        "ExceptionMessage": "The rewind operation is only supported on failed orchestration instances.",
        "ExceptionType": "System.InvalidOperationException",
    }
    assert api.status(running).json()["runtimeStatus"] == "Running"
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{running}/terminate")


# ------------------------------------------------------------------------------------------ duplicate starts
def test_starting_a_running_instance_id_is_refused_and_leaves_it_untouched(api: DurableApi) -> None:
    instance_id = unique("dup")
    start(api, "waiter", "first", instance_id)
    api.wait_for(instance_id, {"Running"}, predicate=lambda s: s.get("customStatus") is not None)

    direct = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/waiter/{instance_id}", json="second")
    # HttpApiHandler's catch-all, as a real Python start_new meets it (azure-functions-durable-python#514).
    refusal = {
        "Message": "Something went wrong while processing your request",
        "ExceptionMessage": "An Orchestration instance with the status Running already exists.",
        "ExceptionType": "System.InvalidOperationException",
    }
    assert direct.status_code == 500 and direct.json() == refusal
    through_sdk = api.http.post(api.app_url(f"start/waiter/{instance_id}"), json="third")
    assert through_sdk.status_code == 409, through_sdk.text  # the app's own answer to the SDK's exception
    assert "An Orchestration instance with the status Running already exists." in through_sdk.json()["refused"]
    in_place = api.http.post(
        f"{DURABLE_WEBHOOKS}/instances/{instance_id}/restart", params={"restartWithNewInstanceId": "false"}
    )
    assert in_place.status_code == 500 and in_place.json() == refusal

    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/Go", json="go")
    final = api.wait_for(instance_id)
    assert final["output"]["input"] == "first", "the running instance kept its own input"
    # A finished instance id may be started again: it is replaced, as the default OverridableExistingInstanceStates.
    start(api, "waiter", "again", instance_id)
    assert api.wait_for(instance_id, {"Running"})["input"] == '"again"'
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/terminate")


@pytest.mark.parametrize(
    ("instance_id", "in_url", "reason"),
    [
        ("@counter@one", "@counter@one", "instanceId (Parameter 'Orchestration instance ids must not start with @.')"),
        (
            "tab\there",
            "tab%09here",
            "instanceId (Parameter 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.')",
        ),
        ("x" * 257, "x" * 257, "Instance ID lengths must not exceed 256 characters."),
    ],
)
def test_an_instance_id_the_extension_refuses_is_refused_the_same_way(
    api: DurableApi, instance_id: str, in_url: str, reason: str
) -> None:
    """StartNewAsync's ArgumentException, answered by HttpApiHandler's catch: 400, and nothing is started."""
    direct = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/waiter/{in_url}", json="x")
    assert direct.status_code == 400 and direct.json() == {
        "Message": "One or more of the arguments submitted is incorrect",
        "ExceptionMessage": reason,
        "ExceptionType": "System.ArgumentException",
    }
    if in_url == instance_id:  # the SDK client puts the id into its URL as it is
        through_sdk = api.http.post(api.app_url(f"start/waiter/{instance_id}"), json="x")
        assert through_sdk.json()["refused"] == reason  # the SDK raises the ExceptionMessage of a 400
    assert api.status(in_url).status_code == 404
    longest = "y" * 256  # the limit itself is allowed
    assert api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/waiter/{longest}", json="x").status_code == 202
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{longest}/terminate")


def test_a_sub_orchestration_id_starting_with_at_fails_the_parent(api: DurableApi) -> None:
    final = run(api, "child_named", "@not-allowed")
    assert final["runtimeStatus"] == "Failed"
    assert final["output"] == (
        "Orchestrator function 'child_named' failed: instanceId (Parameter 'Orchestration "
        "instance ids must not start with @')"
    )


def test_start_and_wait_through_the_http_api(api: DurableApi) -> None:
    done = api.http.post(
        f"{DURABLE_WEBHOOKS}/orchestrators/http_get",
        params={"timeout": "10", "pollingInterval": "1"},
        json=f"{api.base_url}/api/target/hello",
    )
    assert done.status_code == 200 and done.json()["content"] == "hi there", done.text
    waiting = api.http.post(
        f"{DURABLE_WEBHOOKS}/orchestrators/waiter", params={"timeout": "0.2", "pollingInterval": "0.1"}
    )
    assert waiting.status_code == 202 and waiting.headers["location"] == waiting.json()["statusQueryGetUri"]
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{waiting.json()['id']}/terminate")


# ------------------------------------------------------------------------------------------ task hubs
def test_a_request_naming_another_task_hub_does_not_reach_this_hubs_instances(api: DurableApi) -> None:
    started = start(api, "waiter", "hub")
    own_hub = started["statusQueryGetUri"].split("taskHub=")[1].split("&")[0]
    assert api.status(started["id"], taskHub=own_hub.upper()).status_code in (200, 202)  # hub names ignore case
    other = api.status(started["id"], taskHub="SomeOtherHub")
    assert other.status_code == 404 and "SomeOtherHub" in other.json()["error"]
    refused = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/waiter", params={"taskHub": "SomeOtherHub"}, json="x")
    assert refused.status_code == 400 and own_hub in refused.json()["error"]
    api.http.post(f"{DURABLE_WEBHOOKS}/instances/{started['id']}/terminate")


# ---------------------------------------------------------------------------------------- suspend and resume
def test_suspending_a_suspended_instance_or_resuming_a_running_one_is_refused_as_by_the_extension(
    api: DurableApi, host: Any
) -> None:
    """DurableClient.SuspendAsync / ResumeAsync refuse an instance in the wrong state with an
    InvalidOperationException, which HttpApiHandler answers with 500, and log why; the SDK client then raises."""
    instance_id = start(api, "waiter", "held")["id"]
    api.wait_for(instance_id, {"Running"})
    instance = f"{DURABLE_WEBHOOKS}/instances/{instance_id}"

    refused = api.http.post(f"{instance}/resume")
    assert refused.status_code == 500, refused.text
    assert refused.json()["ExceptionMessage"] == (
        f"Cannot resume the orchestration instance {instance_id} because instance is in the Running state."
    )
    assert refused.json()["ExceptionType"] == "System.InvalidOperationException"
    by_sdk = api.http.post(api.app_url(f"lifecycle/resume/{instance_id}"))
    assert by_sdk.status_code == 409 and "500" in by_sdk.json()["refused"], by_sdk.text

    assert api.http.post(f"{instance}/suspend").status_code == 202
    api.wait_for(instance_id, {"Suspended"})
    refused = api.http.post(f"{instance}/suspend")
    assert refused.status_code == 500, refused.text
    assert refused.json()["ExceptionMessage"] == (
        f"Cannot suspend the orchestration instance {instance_id} because instance is in the Suspended state."
    )
    by_sdk = api.http.post(api.app_url(f"lifecycle/suspend/{instance_id}"))
    assert by_sdk.status_code == 409 and "500" in by_sdk.json()["refused"], by_sdk.text

    assert api.http.post(api.app_url(f"lifecycle/resume/{instance_id}")).status_code == 202  # the right state
    assert api.status(instance_id).json()["runtimeStatus"] == "Running"
    api.http.post(f"{instance}/raiseEvent/Go", json="go")
    assert api.wait_for(instance_id)["runtimeStatus"] == "Completed"
    assert api.host_is_running()  # the status read writes out the log lines queued so far
    log = host.log_text()
    assert "Cannot resume orchestration instance in the Running state." in log
    assert "Cannot suspend orchestration instance in the Suspended state." in log
