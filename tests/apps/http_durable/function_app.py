"""A durable app driven through the HTTP API: a chain, a fan-out, an entity, an external event and a
fake Agent Framework agent (deterministic, no model) served by AgentFunctionApp's own routes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from agent_framework import AgentResponse, AgentSession, Message
from agent_framework_azurefunctions import AgentFunctionApp


class EchoAgent:
    """Replies with how many messages it saw and the last one, so tests can see what it was sent."""

    def __init__(self, name: str) -> None:
        self.id = name
        self.name = name
        self.description = "Echoes the conversation length and the last message."

    async def run(self, messages: Any = None, *, stream: bool = False, session: Any = None, **kwargs: Any):
        items = messages if isinstance(messages, list) else [messages]
        texts = [getattr(m, "text", m) for m in items if m is not None]
        reply = f"echo({len(texts)}): {texts[-1] if texts else ''}"
        return AgentResponse(
            messages=[Message(role="assistant", contents=[reply])],
            created_at=datetime.now(UTC).isoformat(),
        )

    def create_session(self, *, session_id: str | None = None, **kwargs: Any) -> AgentSession:
        return AgentSession(session_id=session_id)

    def get_session(self, service_session_id: Any = None, *, session_id: str | None = None, **kwargs: Any):
        return AgentSession(service_session_id=service_session_id, session_id=session_id)


app = AgentFunctionApp(
    agents=[EchoAgent("Echo")],
    http_auth_level=func.AuthLevel.ANONYMOUS,
    poll_interval_seconds=0.1,
    max_poll_retries=100,
)


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        payload = req.get_json()
    except ValueError:
        payload = None
    instance_id = await client.start_new(req.route_params["name"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instanceId"])
    if not status:
        return func.HttpResponse('{"error": "unknown"}', status_code=404, mimetype="application/json")
    body = json.dumps({"runtimeStatus": status.runtime_status.value, "output": status.output})
    return func.HttpResponse(body, mimetype="application/json")


@app.route(route="counter/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_counter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    state = await client.read_entity_state(df.EntityId("Counter", req.route_params["key"]))
    body = json.dumps({"exists": state.entity_exists, "state": state.entity_state})
    return func.HttpResponse(body, mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    name = context.get_input()["name"]
    first = yield context.call_activity("greet", name)
    second = yield context.call_activity("greet", first)
    return [first, second]


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("greet", f"n{i}") for i in range(count)])
    return results


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    decision = yield context.wait_for_external_event("Approve")
    return {"decision": decision}


@app.orchestration_trigger(context_name="context")
def count_to(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input())
    for _ in range(3):
        context.signal_entity(entity, "add", 1)
    total = yield context.call_entity(entity, "get")
    return total


@app.orchestration_trigger(context_name="context")
def ask_agent(context: df.DurableOrchestrationContext):
    agent = app.get_agent(context, "Echo")
    session = agent.create_session()
    first = yield agent.run("first", session=session)
    second = yield agent.run("second", session=session)
    return [first.text, second.text]


@app.activity_trigger(input_name="name")
def greet(name: str) -> str:
    return f"Hello {name}"


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    elif context.operation_name == "reset":
        value = 0
    context.set_state(value)
    context.set_result(value)
