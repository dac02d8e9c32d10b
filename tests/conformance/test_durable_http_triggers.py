"""HTTP triggers of a `func.FunctionApp` with a registered `df.Blueprint`: routing, requests, responses,
host.json and local.settings.json handling — the app runs unchanged under `func start`."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import DurableApi, app_copy

pytestmark = pytest.mark.timeout(60)

HUB_FROM_ENV = "ShopHubFromEnvironment"


# local.settings.json is git-ignored (real ones hold secrets), so the test writes the app's copy at run time.
LOCAL_SETTINGS = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "SHOP_GREETING": "Howdy",
    "SHOP_HUB_NAME": "HubFromLocalSettings",
}


@pytest.fixture(scope="module")
def host(start_module_host, tmp_path_factory):
    app_dir = app_copy("durable_http", tmp_path_factory.mktemp("apps"), settings=LOCAL_SETTINGS)
    # SHOP_HUB_NAME is also in local.settings.json: a variable already in the environment must win.
    return start_module_host(app_dir, env={"SHOP_HUB_NAME": HUB_FROM_ENV})


@pytest.fixture(scope="module")
def api(host) -> Iterator[DurableApi]:
    client = DurableApi(host.url, route_prefix="shop")
    yield client
    client.close()


def test_admin_status_reports_running(api: DurableApi) -> None:
    response = api.http.get("/admin/host/status")
    assert response.status_code == 200
    assert response.json()["state"] == "Running"


def test_route_prefix_comes_from_host_json(api: DurableApi) -> None:
    assert api.http.get("/shop/hello/Ann").status_code == 200
    assert api.http.get("/api/hello/Ann").status_code == 404


def test_optional_route_parameter_present(api: DurableApi) -> None:
    response = api.http.get("/shop/hello/Ann")
    # SHOP_GREETING only exists in local.settings.json: its Values must reach the app's environment.
    assert response.text == "Howdy, Ann!"
    assert response.headers["content-type"].startswith("text/plain")


def test_optional_route_parameter_absent_falls_back_to_query(api: DurableApi) -> None:
    assert api.http.get("/shop/hello", params={"name": "Bo"}).text == "Howdy, Bo!"
    assert api.http.get("/shop/hello").text == "Howdy, world!"


def test_async_function_sees_method_route_params_query_headers_and_body(api: DurableApi) -> None:
    response = api.http.post(
        "/shop/echo/books/42",
        params={"sort": "asc", "page": "2"},
        headers={"X-Trace-Id": "trace-123"},
        json={"title": "Dune", "tags": ["sf"]},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-echo-method"] == "POST"
    reply = response.json()
    assert reply["method"] == "POST"
    assert reply["route_params"] == {"category": "books", "item_id": "42"}
    assert reply["query"] == {"sort": "asc", "page": "2"}
    assert reply["trace_id"] == "trace-123"  # header lookup is case-insensitive
    assert reply["content_type"].startswith("application/json")
    assert reply["body"] == {"title": "Dune", "tags": ["sf"]}
    assert reply["url_path"] == "shop/echo/books/42"


def test_second_allowed_method(api: DurableApi) -> None:
    response = api.http.put("/shop/echo/toys/7", json=[1, 2])
    assert response.status_code == 200, response.text
    assert response.json()["method"] == "PUT"
    assert response.json()["body"] == [1, 2]


def test_method_not_declared_is_rejected(api: DurableApi) -> None:
    assert api.http.get("/shop/echo/books/42").status_code == 404
    assert api.http.post("/shop/hello/Ann").status_code == 404


def test_int_route_constraint(api: DurableApi) -> None:
    assert api.http.post("/shop/echo/books/not-a-number", json={}).status_code == 404


def test_unknown_route_is_404(api: DurableApi) -> None:
    assert api.http.get("/shop/no/such/route").status_code == 404


def test_user_code_can_answer_400_for_bad_json(api: DurableApi) -> None:
    response = api.http.post("/shop/echo/books/1", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "body is not JSON"}


def test_binary_body_arrives_intact(api: DurableApi) -> None:
    payload = bytes(range(256)) * 4
    response = api.http.post("/shop/raw", content=payload, headers={"content-type": "application/octet-stream"})
    assert response.json() == {"length": 1024, "first": "00", "last": "ff"}


def test_function_name_override_and_any_method(api: DurableApi) -> None:
    for method in ("GET", "POST", "DELETE", "PATCH"):
        response = api.http.request(method, "/shop/teapot")
        assert response.status_code == 418, method
        assert response.headers["x-brew"] == method.lower()
        assert response.text == "short and stout"


def test_unhandled_exception_is_500_and_host_keeps_serving(api: DurableApi) -> None:
    response = api.http.get("/shop/fail")
    assert response.status_code == 500
    assert api.host_is_running()
    assert api.http.get("/shop/hello/again").status_code == 200


def test_blueprint_orchestration_and_check_status_response(api: DurableApi, host) -> None:
    order = {"id": "A-1", "lines": [{"qty": 2, "price": 1.25}, {"qty": 1, "price": 7.5}]}
    response = api.http.post("/shop/orders", json=order)
    assert response.status_code == 202, response.text
    body = response.json()
    expected_keys = {
        "id",
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "rewindPostUri",
        "purgeHistoryDeleteUri",
        "restartPostUri",
        "suspendPostUri",
        "resumePostUri",
    }
    assert expected_keys <= set(body), body
    status_url = body["statusQueryGetUri"]
    assert response.headers["location"] == status_url
    parts = urlsplit(status_url)
    # URLs handed out carry the origin the request came to, and the task hub named in host.json (%VAR%).
    assert f"{parts.scheme}://{parts.netloc}" == host.url.rstrip("/")
    assert parts.path == f"/runtime/webhooks/durabletask/instances/{body['id']}"
    assert parse_qs(parts.query).get("taskHub") == [HUB_FROM_ENV]

    final = api.wait_for(status_url)
    assert final["runtimeStatus"] == "Completed", final
    assert final["name"] == "process_order"
    assert final["instanceId"] == body["id"]
    assert final["output"] == {"order": "A-1", "total": 10.0}


def test_blueprint_starter_rejects_non_json_order(api: DurableApi) -> None:
    response = api.http.post("/shop/orders", content=b"nope", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert api.host_is_running()
