"""`AzureWebJobs.<function>.Disabled` (true or 1, any case; from local.settings.json Values or the environment)
turns a function off as the Functions host does: a disabled HTTP trigger is not served, a disabled activity or
entity is not run -- an orchestration that calls one fails naming it, with the extension's words -- and a disabled
orchestrator cannot be started. The host's listing marks them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, HostLauncher, app_copy

pytestmark = pytest.mark.timeout(60)

LOCAL_SETTINGS = {"AzureWebJobs.ping.Disabled": "true", "AzureWebJobs.counter.Disabled": "TRUE"}
ENVIRONMENT = {
    "AzureWebJobs.switched_off.Disabled": "1",
    "azurewebjobs.IDLE.disabled": "True",  # setting names are case-insensitive, as in the Functions host
    "AzureWebJobs.hello.Disabled": "false",  # not a value that disables
}


@pytest.fixture(scope="module")
def host(start_module_host: HostLauncher, tmp_path_factory: pytest.TempPathFactory) -> Any:
    app_dir = app_copy("durable_disabled", tmp_path_factory.mktemp("apps"), settings=LOCAL_SETTINGS)
    return start_module_host(app_dir, env=ENVIRONMENT)


@pytest.fixture(scope="module")
def api(host: Any) -> Iterator[DurableApi]:
    client = DurableApi(host.url)
    yield client
    client.close()


def test_a_disabled_http_trigger_is_not_served(api: DurableApi) -> None:
    response = api.http.get(api.app_url("ping"))
    assert response.status_code == 404
    assert response.json()["error"] == api.http.get(api.app_url("no-such-route")).json()["error"].replace(
        "no-such-route", "ping"
    )


def test_enabled_functions_run(api: DurableApi) -> None:
    final = api.wait_for(api.start("greets")["id"])
    assert final["runtimeStatus"] == "Completed" and final["output"] == "Hello Ann", final


def test_an_orchestration_calling_a_disabled_activity_fails_naming_it(api: DurableApi) -> None:
    final = api.wait_for(api.start("calls_switched_off")["id"])
    assert final["runtimeStatus"] == "Failed", final
    assert "The function 'switched_off' doesn't exist, is disabled, or is not an activity function." in final["output"]


def test_an_orchestration_calling_a_disabled_entity_fails_naming_it(api: DurableApi) -> None:
    final = api.wait_for(api.start("counts")["id"])
    assert final["runtimeStatus"] == "Failed", final
    assert "The function 'counter' doesn't exist, is disabled, or is not an entity function." in final["output"]
    signal = api.http.post(f"{DURABLE_WEBHOOKS}/entities/Counter/k", params={"op": "add"})
    assert signal.status_code == 400, signal.text
    assert api.http.get(f"{DURABLE_WEBHOOKS}/entities/Counter/k").status_code == 404  # it never ran


def test_a_disabled_orchestrator_cannot_be_started(api: DurableApi) -> None:
    refused = api.http.post(f"{DURABLE_WEBHOOKS}/orchestrators/idle")
    assert refused.status_code == 400, refused.text
    assert (
        "The function 'idle' doesn't exist, is disabled, or is not an orchestrator function."
        in (refused.json()["ExceptionMessage"])
    )
    by_sdk = api.http.post(api.app_url("orchestrators/idle"))
    assert by_sdk.status_code == 409 and "is disabled" in by_sdk.json()["refused"], by_sdk.text


def test_the_listings_mark_disabled_functions(api: DurableApi, host: Any) -> None:
    rows = {row["name"]: row for row in api.http.get("/admin/functions").json()}
    assert {name for name, row in rows.items() if row.get("disabled")} == {"ping", "switched_off", "counter", "idle"}
    listing = host.log_text()
    for name, trigger in (
        ("ping", "httpTrigger"),
        ("switched_off", "activityTrigger"),
        ("idle", "orchestrationTrigger"),
    ):
        assert f"  {name}: {trigger} (disabled)" in listing, listing
    assert "  greets: orchestrationTrigger\n" in listing
