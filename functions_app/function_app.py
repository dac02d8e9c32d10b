"""Durable Functions orchestrations of Agent Framework agents: chaining and concurrency.

This app carries the two samples the tutorial is built on, ported to the current Agent Framework packages:

- **Single-agent chaining** - `WriterAgent` is called twice inside one orchestration, on one shared session, so
  the second call sees the first answer (`/api/singleagent/run`, `/api/singleagent/status/{instanceId}`).
- **Multi-agent concurrency** - `PhysicistAgent` and `ChemistAgent` answer the same prompt at the same time
  with `context.task_all(...)` (`/api/multiagent/run`, `/api/multiagent/status/{instanceId}`).

Components:
- `Agent` from Agent Framework with a Chat Completions client chosen by `model_client.py` (Azure OpenAI, any
  OpenAI-compatible server, or the kit's offline model).
- `AgentFunctionApp` registers every agent as a durable entity (`dafx-<AgentName>`, which keeps the agent's
  conversation) plus its own HTTP endpoint `POST /api/agents/<AgentName>/run` and `GET /api/health`.
- Durable Functions orchestrators call the agents through `app.get_agent(context, name)`.

Changes from the original samples (the APIs moved on):
- `AzureOpenAIChatClient` -> `agent_framework.openai.OpenAIChatCompletionClient` (see `model_client.py`).
- `agent.get_new_thread()` -> `agent.create_session()`; `run(..., thread=...)` -> `run(..., session=...)`.
- `yield from agent.run(...)` -> `yield agent.run(...)`: `run` now returns a durable task.
- An agent whose model call failed returns an empty answer instead of raising; the orchestrators check for that
  and fail with the model's error message (`answer_text`).
"""

import json
import logging
import re
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from agent_framework import Agent, AgentResponse, SupportsAgentRun
from agent_framework.azure import AgentFunctionApp
from model_client import chat_client_from_environment

logger = logging.getLogger(__name__)

# 1. Agent names used by the orchestrations (and in entity names: dafx-WriterAgent, ...).
WRITER_AGENT_NAME = "WriterAgent"
PHYSICIST_AGENT_NAME = "PhysicistAgent"
CHEMIST_AGENT_NAME = "ChemistAgent"

# Prompts longer than this are refused with 413: a tutorial prompt is a sentence or two, and every character is
# stored in the orchestration input, in each agent's conversation and sent to the model.
MAX_PROMPT_CHARS = 4000


# 2. Create the three agents. They share one chat client (one model backend).
def _create_agents() -> list[SupportsAgentRun]:
    chat_client = chat_client_from_environment()

    writer = Agent(
        client=chat_client,
        name=WRITER_AGENT_NAME,
        instructions=(
            "You refine short pieces of text. When given an initial sentence you enhance it;\n"
            "when given an improved sentence you polish it further."
        ),
    )
    physicist = Agent(
        client=chat_client,
        name=PHYSICIST_AGENT_NAME,
        instructions="You are an expert in physics. You answer questions from a physics perspective.",
    )
    chemist = Agent(
        client=chat_client,
        name=CHEMIST_AGENT_NAME,
        instructions="You are an expert in chemistry. You answer questions from a chemistry perspective.",
    )
    return [writer, physicist, chemist]


# 3. Register the agents: each gets a durable entity, an HTTP endpoint, and the app a health check.
app = AgentFunctionApp(agents=_create_agents(), enable_health_check=True)


class AgentCallFailed(Exception):
    """An agent produced no answer, almost always because its model call failed."""


def answer_text(response: AgentResponse, agent_name: str) -> str:
    """Return the agent's answer, or raise so the orchestration ends `Failed` with a readable reason.

    When the model call fails, the agent's entity does not raise: it records an error entry in the conversation
    and hands back a response with no text. Carrying on with `""` would hide the failure, so we raise instead,
    quoting the model's error when the response carries it. Deterministic: it only looks at the task result.
    """
    if response.text.strip():
        return response.text
    errors = [
        _readable_error(content.message)
        for message in response.messages
        for content in message.contents
        if content.type == "error" and content.message
    ]
    if errors:
        reason = f"the model call failed: {'; '.join(errors)}"
    else:
        reason = "the model call failed or sent an empty reply"
    raise AgentCallFailed(
        f"{agent_name} returned no text: {reason} (see the agent entity's conversation for the error)"
    )


def _readable_error(message: str) -> str:
    """Keep the model's own words from a chat client error.

    The entity stores `str(exception)`; for the chat client's exception that is the repr of its arguments,
    e.g. `("<class '...'> service failed to complete the prompt: Error code: 400 - ...", BadRequestError(...))`.
    """
    wrapped = re.match(r"""\(["'](.*?)["'], \w+\(""", message, re.DOTALL)
    text = wrapped.group(1) if wrapped else message
    return re.sub(r"^<class '[^']+'> (service failed to complete the prompt: )?", "", text)


# 4. Chaining: two runs of one agent on one shared session.
@app.orchestration_trigger(context_name="context")
def single_agent_orchestration(context: df.DurableOrchestrationContext):
    """Ask the writer for a sentence, then ask it to improve that sentence in the same conversation."""

    writer = app.get_agent(context, WRITER_AGENT_NAME)
    writer_session = writer.create_session()

    initial = yield writer.run(
        "Write a concise inspirational sentence about learning.",
        session=writer_session,
    )
    initial_text = answer_text(initial, WRITER_AGENT_NAME)

    refined = yield writer.run(
        f"Improve this further while keeping it under 25 words: {initial_text}",
        session=writer_session,
    )
    return answer_text(refined, WRITER_AGENT_NAME)


# 5. Concurrency: two agents, each on its own session, answer the same prompt in parallel.
@app.orchestration_trigger(context_name="context")
def multi_agent_concurrent_orchestration(context: df.DurableOrchestrationContext):
    """Fan out the prompt to the physicist and the chemist and collect both answers.

    `context.task_all` schedules both agent calls before waiting, so they run at the same time. Yielding each
    `run(...)` one after the other would run them sequentially.
    """

    prompt = context.get_input()
    if not prompt or not str(prompt).strip():
        raise ValueError("Prompt is required")

    physicist = app.get_agent(context, PHYSICIST_AGENT_NAME)
    chemist = app.get_agent(context, CHEMIST_AGENT_NAME)

    physicist_session = physicist.create_session()
    chemist_session = chemist.create_session()

    physicist_result, chemist_result = yield context.task_all(
        [
            physicist.run(str(prompt), session=physicist_session),
            chemist.run(str(prompt), session=chemist_session),
        ]
    )

    return {
        "physicist": answer_text(physicist_result, PHYSICIST_AGENT_NAME),
        "chemist": answer_text(chemist_result, CHEMIST_AGENT_NAME),
    }


# 6. HTTP endpoint that starts the chaining orchestration.
@app.route(route="singleagent/run", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_single_agent_orchestration(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
) -> func.HttpResponse:
    """Start the orchestration and return where to poll for its result."""

    instance_id = await client.start_new("single_agent_orchestration")
    logger.info("[HTTP] Started orchestration with instance_id: %s", instance_id)

    status_url = _build_status_url(req.url, instance_id, route="singleagent")
    return _json_response(
        {
            "message": "Single-agent orchestration started.",
            "instanceId": instance_id,
            "statusQueryGetUri": status_url,
        },
        status_code=202,
        headers={"Location": status_url},
    )


# 7. HTTP endpoint that reports the chaining orchestration's status and output.
@app.route(route="singleagent/status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_single_agent_orchestration_status(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
) -> func.HttpResponse:
    return await _status_response(req, client, orchestration="single_agent_orchestration")


# 8. HTTP endpoint that starts the concurrent orchestration with a plain-text prompt.
@app.route(route="multiagent/run", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_multi_agent_concurrent_orchestration(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
) -> func.HttpResponse:
    """Start the orchestration with the request body (text/plain) as the prompt."""

    try:
        prompt = (req.get_body() or b"").decode("utf-8").strip()
    except UnicodeDecodeError:
        return _error_response("The prompt must be UTF-8 text.", status_code=400)
    if not prompt:
        return _error_response("Prompt is required: send it as the text/plain request body.", status_code=400)
    if len(prompt) > MAX_PROMPT_CHARS:
        return _error_response(
            f"Prompt is too long: {len(prompt)} characters, the limit is {MAX_PROMPT_CHARS}.",
            status_code=413,
        )

    instance_id = await client.start_new("multi_agent_concurrent_orchestration", client_input=prompt)
    logger.info("[HTTP] Started orchestration with instance_id: %s", instance_id)

    status_url = _build_status_url(req.url, instance_id, route="multiagent")
    return _json_response(
        {
            "message": "Multi-agent concurrent orchestration started.",
            "prompt": prompt,
            "instanceId": instance_id,
            "statusQueryGetUri": status_url,
        },
        status_code=202,
        headers={"Location": status_url},
    )


# 9. HTTP endpoint that reports the concurrent orchestration's status and output.
@app.route(route="multiagent/status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_multi_agent_orchestration_status(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
) -> func.HttpResponse:
    return await _status_response(req, client, orchestration="multi_agent_concurrent_orchestration")


# 10. Helpers shared by the HTTP endpoints.
async def _status_response(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    *,
    orchestration: str,
) -> func.HttpResponse:
    """Status of one instance of `orchestration`; 404 for unknown ids and for another orchestration's ids."""

    instance_id = req.route_params.get("instanceId")
    if not instance_id:
        return _error_response("Missing instanceId", status_code=400)
    if not addressable_instance_id(instance_id):
        return _error_response(f"Instance not found: {instance_id}", status_code=404)

    status = await client.get_status(instance_id)
    # For an unknown id the client returns an empty (falsy) status object, not None.
    if not status or (status.name and status.name != orchestration):
        return _error_response(f"Instance not found: {instance_id}", status_code=404)

    response_data: dict[str, Any] = {
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.name if status.runtime_status else None,
        "createdTime": status.created_time.isoformat() if status.created_time else None,
        "lastUpdatedTime": status.last_updated_time.isoformat() if status.last_updated_time else None,
    }
    if status.input_ is not None:
        response_data["input"] = status.input_
    if status.output is not None:
        response_data["output"] = status.output
    return _json_response(response_data)


def addressable_instance_id(instance_id: str) -> bool:
    """Whether the durable client can ask about this id. It puts the id into a URL path as it is, so '.', '..', or
    an id holding '/', '?', '#', '\\' or a control character addresses another URL (on Azure too: asking for '.'
    lists every instance, and the client then fails). The Durable extension refuses such ids when an instance
    starts ('.' and '..' aside), so no instance of this app has one: the answer is 404."""
    return instance_id not in (".", "..") and not any(c in "/?#\\" or ord(c) < 32 or ord(c) == 127 for c in instance_id)


def _build_status_url(request_url: str, instance_id: str, *, route: str) -> str:
    """The app's own status route on the origin the request came to (local host or Azure)."""
    base_url, _, _ = request_url.partition("/api/")
    if not base_url:
        base_url = request_url.rstrip("/")
    return f"{base_url}/api/{route}/status/{instance_id}"


def _json_response(
    payload: dict[str, Any], *, status_code: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        body=json.dumps(payload),
        status_code=status_code,
        mimetype="application/json",
        headers=headers,
    )


def _error_response(reason: str, *, status_code: int) -> func.HttpResponse:
    return _json_response({"error": reason}, status_code=status_code)


"""
Expected output (see the README of each sample):

POST /api/singleagent/run -> 202
{"message": "Single-agent orchestration started.", "instanceId": "<id>",
 "statusQueryGetUri": "http://localhost:7071/api/singleagent/status/<id>"}
GET /api/singleagent/status/<id> -> 200
{"instanceId": "<id>", "runtimeStatus": "Completed", "output": "Learning is a journey where curiosity ..."}

POST /api/multiagent/run  (text/plain body "What is temperature?") -> 202
{"message": "Multi-agent concurrent orchestration started.", "prompt": "What is temperature?", "instanceId": "<id>",
 "statusQueryGetUri": "http://localhost:7071/api/multiagent/status/<id>"}
GET /api/multiagent/status/<id> -> 200
{"instanceId": "<id>", "runtimeStatus": "Completed",
 "output": {"physicist": "Temperature measures ...", "chemist": "Temperature reflects ..."}}
"""
