"""Durable entities, function-based and class-based: client signals and reads (through the SDK client in the
app's routes and through the public entity API), orchestration calls and signals, one-at-a-time execution."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, unique, wait_until

pytestmark = pytest.mark.timeout(60)


def read_via_app(api: DurableApi, name: str, key: str) -> dict[str, Any]:
    response = api.http.get(api.app_url(f"entities/{name}/{key}"))
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_state(api: DurableApi, name: str, key: str, expected: Any, timeout: float = 10.0) -> Any:
    def reached() -> list[Any] | None:
        seen = read_via_app(api, name, key)
        return [seen["state"]] if seen["exists"] and seen["state"] == expected else None

    return wait_until(reached, timeout=timeout, what=f"entity {name}/{key} to hold {expected!r}", interval=0.05)[0]


def test_signal_then_read_through_sdk_client(api: DurableApi) -> None:
    key = unique("c")
    for amount in (5, 2, 3):
        response = api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=amount)
        assert response.status_code == 202, response.text
    assert wait_for_state(api, "Counter", key, 10) == 10


def test_unknown_entity_does_not_exist(api: DurableApi) -> None:
    assert read_via_app(api, "Counter", unique("never")) == {"exists": False, "state": None}
    assert api.http.get(f"{DURABLE_WEBHOOKS}/entities/Counter/{unique('never')}").status_code == 404


def test_twenty_concurrent_signals_are_applied_one_at_a_time(api: DurableApi) -> None:
    """`slow_add` reads, pauses, then writes: any interleaving of operations would lose updates."""
    key = unique("race")

    def signal(_: int) -> int:
        with httpx.Client(base_url=api.base_url, timeout=15) as http:
            return http.post(api.app_url(f"entities/Counter/{key}/slow_add"), json=1).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(signal, range(20)))
    assert codes == [202] * 20
    assert wait_for_state(api, "Counter", key, 20) == 20
    time.sleep(0.2)
    assert read_via_app(api, "Counter", key)["state"] == 20


def test_public_entity_api_signal_and_get(api: DurableApi) -> None:
    key = unique("pub")
    response = api.http.post(f"{DURABLE_WEBHOOKS}/entities/Counter/{key}", params={"op": "add"}, json=7)
    assert response.status_code == 202, response.text
    wait_for_state(api, "Counter", key, 7)
    response = api.http.get(f"{DURABLE_WEBHOOKS}/entities/Counter/{key}")
    assert response.status_code == 200
    assert response.json() == 7


def test_entity_names_are_case_insensitive(api: DurableApi) -> None:
    key = unique("case")
    api.http.post(api.app_url(f"entities/counter/{key}/add"), json=4)
    assert wait_for_state(api, "COUNTER", key, 4) == 4


def test_list_entities_with_state(api: DurableApi) -> None:
    key = unique("listed")
    api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=11)
    wait_for_state(api, "Counter", key, 11)
    response = api.http.get(f"{DURABLE_WEBHOOKS}/entities/Counter", params={"fetchState": "true"})
    assert response.status_code == 200, response.text
    listed = {item["entityId"]["key"]: item for item in response.json()}
    assert key in listed, listed.keys()
    assert listed[key]["entityId"]["name"].lower() == "counter"
    assert listed[key]["state"] == 11


def test_class_based_entity(api: DurableApi) -> None:
    key = unique("cart")
    api.http.post(api.app_url(f"entities/Cart/{key}/add_item"), json={"sku": "tea", "qty": 2})
    api.http.post(api.app_url(f"entities/Cart/{key}/add_item"), json={"sku": "jam", "qty": 1})
    api.http.post(api.app_url(f"entities/Cart/{key}/add_item"), json={"sku": "tea", "qty": 3})
    api.http.post(api.app_url(f"entities/Cart/{key}/remove_item"), json="jam")
    assert wait_for_state(api, "Cart", key, {"items": {"tea": 5}}) == {"items": {"tea": 5}}


def test_orchestration_calls_and_signals_entities(api: DurableApi) -> None:
    key = unique("orch")
    final = api.run("counter_client", key)
    assert final["runtimeStatus"] == "Completed", final
    # The signal (add 5) was sent before the call (add 1) by the same orchestration: delivered in order.
    assert final["output"] == {"after_add": 6, "value": 6, "cart_count": 2}
    assert read_via_app(api, "Counter", key)["state"] == 6
    history = api.status(final["instanceId"], showHistory="true").json()["historyEvents"]
    assert "EventSent" in [event["EventType"] for event in history]


def test_entity_operation_error_fails_caller_and_keeps_entity(api: DurableApi) -> None:
    key = unique("boom")
    api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=3)
    wait_for_state(api, "Counter", key, 3)
    final = api.run("entity_error", key)
    assert final["runtimeStatus"] == "Failed", final
    assert "counter cannot explode twice" in str(final["output"])
    api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=1)
    assert wait_for_state(api, "Counter", key, 4) == 4


def test_entity_delete_operation(api: DurableApi) -> None:
    key = unique("gone")
    api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=1)
    wait_for_state(api, "Counter", key, 1)
    api.http.post(api.app_url(f"entities/Counter/{key}/delete"))
    wait_until(
        lambda: not read_via_app(api, "Counter", key)["exists"],
        timeout=10,
        what="the entity to be gone after destruct_on_exit",
        interval=0.05,
    )


def test_signal_with_falsy_input(api: DurableApi) -> None:
    """The SDK client sends no body for falsy inputs (0, "", {}); `reset` takes none."""
    key = unique("zero")
    api.http.post(api.app_url(f"entities/Counter/{key}/add"), json=9)
    wait_for_state(api, "Counter", key, 9)
    assert api.http.post(api.app_url(f"entities/Counter/{key}/reset")).status_code == 202
    assert wait_for_state(api, "Counter", key, 0) == 0
