"""The local managed-identity endpoint answers as App Service's does for azure-identity, and with `--client-id`
stands for an app that has only that user-assigned identity."""

from __future__ import annotations

from starlette.testclient import TestClient

from helpers.identity_endpoint import COGNITIVE_SERVICES, create_app

SECRET = "header-secret"


def ask(client: TestClient, **params: str) -> tuple[int, dict[str, str]]:
    answer = client.get(
        "/msi/token",
        params={"api-version": "2019-08-01", "resource": COGNITIVE_SERVICES, **params},
        headers={"X-IDENTITY-HEADER": SECRET},
    )
    return answer.status_code, answer.json()


def test_a_token_only_for_the_apps_own_identity() -> None:
    client = TestClient(create_app("the-token", SECRET, client_id="app-identity"))
    assert ask(client, client_id="app-identity")[1]["access_token"] == "the-token"
    status, body = ask(client)
    assert status == 400 and "no client id (set AZURE_CLIENT_ID)" in body["error_description"]
    status, body = ask(client, client_id="someone-else")
    assert status == 400 and "'someone-else'" in body["error_description"]
    assert client.get("/issued").json() == {"issued": 1}


def test_without_a_client_id_any_request_with_the_header_gets_the_token() -> None:
    client = TestClient(create_app("the-token", SECRET))
    assert ask(client)[0] == 200 and ask(client, client_id="x")[0] == 200
    wrong = client.get("/msi/token", params={"resource": COGNITIVE_SERVICES}, headers={"X-IDENTITY-HEADER": "no"})
    assert wrong.status_code == 401
