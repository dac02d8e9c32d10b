"""The app's HTTP handlers and the orchestrators' answer check, called directly (no host, no model).

The durable client is replaced by a small recording double whose answers are the SDK's own status objects, so
the handlers see exactly what they would see from a real host for "started", "unknown id" and "finished".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.functions as func
import pytest
from agent_framework import AgentResponse, Content, Message
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from helpers.durable_vocabulary import agent_entity_name
from tests.app.conftest import ImportedApp

BASE = "http://127.0.0.1:7071"


class RecordingClient:
    """Stands in for `DurableOrchestrationClient`: records starts, answers status queries from a dict."""

    def __init__(self, statuses: dict[str, dict[str, Any]] | None = None) -> None:
        self.started: list[dict[str, Any]] = []
        self.statuses = statuses or {}

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        self.started.append({"name": orchestration_function_name, "input": client_input})
        return f"instance-{len(self.started)}"

    async def get_status(self, instance_id: str, *args: Any, **kwargs: Any) -> DurableOrchestrationStatus:
        # An unknown id: the SDK parses the empty 404 body into an empty, falsy status object.
        return DurableOrchestrationStatus.from_json(self.statuses.get(instance_id, ""))


def call(app: ImportedApp, function: str, request: func.HttpRequest, client: RecordingClient) -> func.HttpResponse:
    return asyncio.run(app.user_function(function)(req=request, client=client))


def post_prompt(body: bytes) -> func.HttpRequest:
    return func.HttpRequest("POST", f"{BASE}/api/multiagent/run", headers={"Content-Type": "text/plain"}, body=body)


def get_status(route: str, instance_id: str) -> func.HttpRequest:
    return func.HttpRequest(
        "GET", f"{BASE}/api/{route}/status/{instance_id}", body=b"", route_params={"instanceId": instance_id}
    )


def body_of(response: func.HttpResponse) -> dict[str, Any]:
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def test_every_seed_route_is_registered(imported_app: ImportedApp) -> None:
    routes = {
        f.get_trigger().route: [str(m) for m in (f.get_trigger().methods or [])]
        for f in imported_app.functions.values()
        if f.get_trigger().type == "httpTrigger"
    }
    assert routes["singleagent/run"] == ["POST"]
    assert routes["singleagent/status/{instanceId}"] == ["GET"]
    assert routes["multiagent/run"] == ["POST"]
    assert routes["multiagent/status/{instanceId}"] == ["GET"]
    for agent in ("WriterAgent", "PhysicistAgent", "ChemistAgent"):
        assert f"agents/{agent}/run" in routes
        assert agent_entity_name(agent) in imported_app.functions


def test_single_agent_start_payload(imported_app: ImportedApp) -> None:
    client = RecordingClient()
    request = func.HttpRequest("POST", f"{BASE}/api/singleagent/run", body=b"")
    response = call(imported_app, "start_single_agent_orchestration", request, client)
    assert response.status_code == 202
    assert body_of(response) == {
        "message": "Single-agent orchestration started.",
        "instanceId": "instance-1",
        "statusQueryGetUri": f"{BASE}/api/singleagent/status/instance-1",
    }
    assert client.started == [{"name": "single_agent_orchestration", "input": None}]


def test_multi_agent_start_payload_strips_the_prompt(imported_app: ImportedApp) -> None:
    client = RecordingClient()
    response = call(
        imported_app, "start_multi_agent_concurrent_orchestration", post_prompt(b"  What is temperature?\n"), client
    )
    assert response.status_code == 202
    assert body_of(response) == {
        "message": "Multi-agent concurrent orchestration started.",
        "prompt": "What is temperature?",
        "instanceId": "instance-1",
        "statusQueryGetUri": f"{BASE}/api/multiagent/status/instance-1",
    }
    assert response.headers["Location"] == f"{BASE}/api/multiagent/status/instance-1"
    assert client.started == [{"name": "multi_agent_concurrent_orchestration", "input": "What is temperature?"}]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "Prompt is required"),
        (b"   \n\t ", 400, "Prompt is required"),
        (b"\xff\xfe not utf-8", 400, "UTF-8"),
        (b"x" * 4001, 413, "4001 characters, the limit is 4000"),
    ],
)
def test_bad_prompts_are_refused_without_starting_anything(
    imported_app: ImportedApp, body: bytes, status: int, reason: str
) -> None:
    client = RecordingClient()
    response = call(imported_app, "start_multi_agent_concurrent_orchestration", post_prompt(body), client)
    assert response.status_code == status
    assert reason in body_of(response)["error"]
    assert client.started == []


def test_prompt_at_the_limit_is_accepted(imported_app: ImportedApp) -> None:
    client = RecordingClient()
    response = call(imported_app, "start_multi_agent_concurrent_orchestration", post_prompt(b"y" * 4000), client)
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("function", "route"),
    [("get_single_agent_orchestration_status", "singleagent"), ("get_multi_agent_orchestration_status", "multiagent")],
)
def test_unknown_instance_is_404(imported_app: ImportedApp, function: str, route: str) -> None:
    response = call(imported_app, function, get_status(route, "no-such-id"), RecordingClient())
    assert response.status_code == 404
    assert "no-such-id" in body_of(response)["error"]


def test_status_of_the_other_orchestration_is_404(imported_app: ImportedApp) -> None:
    client = RecordingClient(
        {
            "m1": {
                "name": "multi_agent_concurrent_orchestration",
                "instanceId": "m1",
                "runtimeStatus": "Completed",
                "output": {"physicist": "p", "chemist": "c"},
                "createdTime": "2026-01-01T00:00:00Z",
            }
        }
    )
    response = call(imported_app, "get_single_agent_orchestration_status", get_status("singleagent", "m1"), client)
    assert response.status_code == 404
    response = call(imported_app, "get_multi_agent_orchestration_status", get_status("multiagent", "m1"), client)
    assert response.status_code == 200


def test_status_payload_keys(imported_app: ImportedApp) -> None:
    client = RecordingClient(
        {
            "s1": {
                "name": "single_agent_orchestration",
                "instanceId": "s1",
                "runtimeStatus": "Completed",
                "input": None,
                "output": "A sentence.",
                "createdTime": "2026-01-01T00:00:00Z",
                "lastUpdatedTime": "2026-01-01T00:00:02Z",
            }
        }
    )
    response = call(imported_app, "get_single_agent_orchestration_status", get_status("singleagent", "s1"), client)
    assert response.status_code == 200
    payload = body_of(response)
    assert payload["instanceId"] == "s1"
    assert payload["runtimeStatus"] == "Completed"
    assert payload["output"] == "A sentence."
    assert "input" not in payload


def test_answer_text_passes_real_answers_through(imported_app: ImportedApp) -> None:
    response = AgentResponse(messages=[Message(role="assistant", contents=[Content.from_text("Hello")])])
    assert imported_app.module.answer_text(response, "WriterAgent") == "Hello"


def test_answer_text_quotes_the_model_error(imported_app: ImportedApp) -> None:
    """What the agent entity hands back after a failed model call, round-tripped as the orchestrator sees it."""
    failed = AgentResponse(
        messages=[
            Message(
                role="assistant",
                contents=[
                    Content.from_error(message="Error code: 503 - model overloaded", error_code="InternalServerError")
                ],
            )
        ]
    )
    as_seen_by_orchestrator = AgentResponse.from_dict(failed.to_dict())
    with pytest.raises(imported_app.module.AgentCallFailed) as error:
        imported_app.module.answer_text(as_seen_by_orchestrator, "WriterAgent")
    assert str(error.value).startswith("WriterAgent returned no text: the model call failed: Error code: 503")


def test_answer_text_refuses_an_empty_reply(imported_app: ImportedApp) -> None:
    empty = AgentResponse(messages=[Message(role="assistant", contents=[Content.from_text("  ")])])
    with pytest.raises(imported_app.module.AgentCallFailed, match="ChemistAgent returned no text"):
        imported_app.module.answer_text(empty, "ChemistAgent")


def test_answer_text_unwraps_the_chat_client_exception(imported_app: ImportedApp) -> None:
    """The entity stores `str(exc)`; for the chat client's exception that is a tuple repr - keep the human part."""
    from agent_framework.exceptions import ChatClientException

    exc = ChatClientException(
        "<class 'agent_framework_openai.OpenAIChatCompletionClient'> service failed to complete the prompt: "
        "Error code: 400 - content filtered",
        ValueError("Error code: 400 - content filtered"),
    )
    failed = AgentResponse(
        messages=[
            Message(role="assistant", contents=[Content.from_error(message=str(exc), error_code=type(exc).__name__)])
        ]
    )
    with pytest.raises(imported_app.module.AgentCallFailed) as error:
        imported_app.module.answer_text(AgentResponse.from_dict(failed.to_dict()), "PhysicistAgent")
    assert str(error.value) == (
        "PhysicistAgent returned no text: the model call failed: Error code: 400 - content filtered "
        "(see the agent entity's conversation for the error)"
    )
