"""The Starlette app: OpenAI / Azure OpenAI routes, statistics and the admin API.

Model routes (any `api-version` query, any `api-key` or `Authorization: Bearer` value — keys are never
read or logged):
    POST /openai/deployments/{deployment}/chat/completions   Azure OpenAI, Chat Completions
    POST /openai/v1/chat/completions                          Azure OpenAI v1, Chat Completions
    POST /openai/v1/responses, /openai/responses              Azure OpenAI, Responses
    POST /v1/chat/completions, /chat/completions              OpenAI-style base URL, Chat Completions
    POST /v1/responses, /responses                            OpenAI-style base URL, Responses
    GET  /v1/models, /openai/models, /openai/v1/models        model list
Service routes:
    GET  /            what this server is (also a readiness probe)
    GET  /stats       counters + recent calls timeline (`?limit=N` recent calls)   POST /stats/reset
    GET  /admin/faults, POST /admin/faults   fault injection rules (POST replaces them; `{}` turns them off)
    GET  /admin/latency, POST /admin/latency `{"latency_ms": N}`

Latency: a non-streamed reply waits the whole latency before answering. A streamed reply waits half
of it before the first event (time to first token) and spreads the other half across the text deltas.
Header `x-offline-latency-ms` overrides the latency for one request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..model_traffic.call_stats import CallRecord, CallStats
from ..model_traffic.faults import Fault, FaultConfig, FaultConfigError, FaultInjector, fault_answer
from ..model_traffic.openai_errors import error_body
from ..model_traffic.persona import persona_from_instructions
from . import payloads
from .conversation import BadRequest, Conversation, ModelRequest, parse_chat_request, parse_responses_request
from .remote import RemoteRules
from .replies import compose_reply
from .structured import SchemaError, instance_for_schema

LATENCY_HEADER = "x-offline-latency-ms"
RESPONSES_KEPT = 1000
ADVERTISED_MODELS = ["gpt-4o-mini", "gpt-4o", "offline-model"]


@dataclass
class ServerState:
    latency_ms: float = 0.0
    faults: FaultInjector = field(default_factory=FaultInjector)
    remote: RemoteRules = field(default_factory=RemoteRules)
    stats: CallStats = field(default_factory=CallStats)
    # Conversations by response id, for `previous_response_id` (bounded, oldest dropped first).
    responses: OrderedDict[str, Conversation] = field(default_factory=OrderedDict)

    def remember(self, response_id: str, conversation: Conversation) -> None:
        self.responses[response_id] = conversation
        while len(self.responses) > RESPONSES_KEPT:
            self.responses.popitem(last=False)


# Largest request body accepted. Agent conversations are resent whole on every turn, so this is generous; it only
# stops a runaway client from making the server buffer an unbounded body in memory.
MAX_BODY_BYTES = 8 * 2**20


class BodyTooLarge(BadRequest):
    """The request body is larger than MAX_BODY_BYTES (HTTP 413)."""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read the body, refusing it as soon as it passes `limit` (by Content-Length, or while streaming)."""
    too_large = BodyTooLarge(f"The request body is larger than the offline model accepts ({limit} bytes).")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(message, kind, code, param), status_code=status, headers=headers)


def _latency_seconds(request: Request, state: ServerState) -> float:
    raw = request.headers.get(LATENCY_HEADER)
    if raw is None:
        return state.latency_ms / 1000
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Header {LATENCY_HEADER} must be a number of milliseconds.", LATENCY_HEADER) from None
    if not 0 <= value <= 600_000:
        raise BadRequest(f"Header {LATENCY_HEADER} must be between 0 and 600000.", LATENCY_HEADER)
    return value / 1000


def _reply_text(model_request: ModelRequest) -> str:
    """The scripted reply, or for structured output a JSON document that carries it."""
    reply = compose_reply(model_request.conversation)
    fmt = model_request.output_format
    if fmt.kind == "json_schema" and fmt.schema is not None:
        seed = model_request.conversation.fingerprint(fmt.schema)
        return json.dumps(instance_for_schema(fmt.schema, reply, seed), ensure_ascii=False)
    if fmt.kind == "json_object":
        return json.dumps({"answer": reply, "source": "offline model"}, ensure_ascii=False)
    return reply


async def _fault_response(fault: Fault, state: ServerState, call_number: int) -> JSONResponse:
    answer = fault_answer(fault, state.faults.config, call_number, source="offline model")
    if answer.stall_seconds:
        await asyncio.sleep(answer.stall_seconds)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def _streaming_body(
    events: list[str], latency: float, state: ServerState, record: CallRecord, reply: str
) -> AsyncIterator[str]:
    """Yield SSE events: the first after half the latency, the rest spread evenly over the other half.

    Each event is due at a fixed moment measured from the call's start, so the sleeps' own overshoot does not
    add up over many deltas: a streamed call lasts its latency, not latency plus a millisecond per event.
    """

    async def body() -> AsyncIterator[str]:
        status = 499  # the client went away before the stream finished
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            spread = max(len(events) - 1, 1)
            for index, event in enumerate(events):
                due = began + latency / 2 + (latency / 2) * (index / spread if len(events) > 1 else 1)
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                yield event
            status = 200
        finally:
            state.stats.finish(record, status, reply=reply)

    return body()


async def _model_call(request: Request, route: str, api: str) -> Response:
    state: ServerState = request.app.state.offline
    record = state.stats.start(route, api, request.url.path)
    azure = route.startswith("azure.")
    refused = state.remote.refuse_key(request, azure)
    if refused is not None:
        state.stats.finish(record, refused.status_code, fault="bad_key")
        return refused
    try:
        try:
            body = json.loads(await read_body(request))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
            raise BadRequest(f"We could not parse the JSON body of your request ({exc}).") from None
        if api == "chat.completions":
            model_request = parse_chat_request(body, request.path_params.get("deployment"))
        else:
            model_request = parse_responses_request(body, state.responses.get)
        latency = _latency_seconds(request, state)
    except BadRequest as exc:
        status = 413 if isinstance(exc, BodyTooLarge) else 400
        state.stats.finish(record, status, fault="bad_request")
        return error(status, exc.message, param=exc.param)

    refused = state.remote.refuse_model(request.path_params.get("deployment") or model_request.model, azure)
    if refused is not None:
        state.stats.finish(record, refused.status_code, fault="unknown_model")
        return refused
    conversation = model_request.conversation
    record.model, record.stream = model_request.model, model_request.stream
    record.structured = model_request.output_format.kind != "text"
    record.input_messages, record.user_turns = model_request.input_messages, conversation.user_turns
    record.persona = persona_from_instructions(conversation.instructions).label

    fault = state.faults.decide()
    if fault is not None:
        response = await _fault_response(fault, state, record.id)
        state.stats.finish(record, response.status_code, fault=fault.rule)
        return response
    try:
        reply = _reply_text(model_request)
    except SchemaError as exc:
        state.stats.finish(record, 400, fault="bad_request")
        return error(400, f"Cannot produce output for this JSON schema: {exc}", param="response_format")

    created = int(time.time())
    prefix = "chatcmpl" if api == "chat.completions" else "resp"
    call_id = f"{prefix}-offline-{conversation.fingerprint()[:12]}-{record.id}"
    if api == "responses":
        call_id = call_id.replace("-", "_")
        state.remember(call_id, conversation.extended(reply))

    if model_request.stream:
        events: Iterator[str] = (payloads.chat_chunks if api == "chat.completions" else payloads.response_events)(
            call_id, created, model_request, reply
        )
        return StreamingResponse(
            _streaming_body(list(events), latency, state, record, reply),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "x-offline-model": "scripted"},
        )
    await asyncio.sleep(latency)
    builder = payloads.chat_completion if api == "chat.completions" else payloads.response
    state.stats.finish(record, 200, reply=reply)
    return Response(
        payloads.dump(builder(call_id, created, model_request, reply)),
        media_type="application/json",
        headers={"x-offline-model": "scripted"},
    )


def _model_route(path: str, route: str, api: str) -> Route:
    async def endpoint(request: Request) -> Response:
        return await _model_call(request, route, api)

    return Route(path, endpoint, methods=["POST"], name=route + ":" + path)


async def about(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "server": "offline model",
            "kind": "deterministic scripted responder — not an LLM; replies are composed from templates",
            "stats": "/stats",
            "admin": ["/admin/faults", "/admin/latency"],
        }
    )


async def models(request: Request) -> JSONResponse:
    return JSONResponse(payloads.model_list(ADVERTISED_MODELS, created=1767225600))


async def stats(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.offline
    try:
        limit = int(request.query_params.get("limit", "500"))
    except ValueError:
        return error(400, "'limit' must be an integer.", param="limit")
    return JSONResponse(state.stats.snapshot(dict(state.faults.injected), limit))


async def reset_stats(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.offline
    state.stats.reset()
    state.faults.injected.clear()
    return JSONResponse({"reset": True, "calls": 0})


async def _json_body(request: Request) -> Any:
    raw = await read_body(request)
    try:
        return json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BadRequest(f"Body must be JSON ({exc}).") from None


async def admin_faults(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.offline
    if request.method == "POST":
        try:
            state.faults.configure(FaultConfig.from_json(await _json_body(request)))
        except (BadRequest, FaultConfigError) as exc:
            return error(400, str(exc))
    return JSONResponse({**state.faults.describe(), "injected": dict(state.faults.injected)})


async def admin_latency(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.offline
    if request.method == "POST":
        try:
            data = await _json_body(request)
        except BadRequest as exc:
            return error(400, exc.message)
        value = data.get("latency_ms") if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 600_000:
            return error(400, 'Send {"latency_ms": <number between 0 and 600000>}.', param="latency_ms")
        state.latency_ms = float(value)
    return JSONResponse({"latency_ms": state.latency_ms})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown routes and wrong methods answer in the OpenAI error shape too."""
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", code=str(exc.status_code))


def create_app(
    latency_ms: float = 0.0, faults: FaultConfig | None = None, remote: RemoteRules | None = None
) -> Starlette:
    chat, responses = "chat.completions", "responses"
    routes = [
        _model_route("/openai/deployments/{deployment}/chat/completions", "azure.chat.completions", chat),
        _model_route("/openai/v1/chat/completions", "azure.chat.completions", chat),
        _model_route("/openai/v1/responses", "azure.responses", responses),
        _model_route("/openai/responses", "azure.responses", responses),
        _model_route("/v1/chat/completions", "openai.chat.completions", chat),
        _model_route("/chat/completions", "openai.chat.completions", chat),
        _model_route("/v1/responses", "openai.responses", responses),
        _model_route("/responses", "openai.responses", responses),
        Route("/v1/models", models),
        Route("/openai/models", models),
        Route("/openai/v1/models", models),
        Route("/", about),
        Route("/stats", stats),
        Route("/stats/reset", reset_stats, methods=["POST"]),
        Route("/admin/faults", admin_faults, methods=["GET", "POST"]),
        Route("/admin/latency", admin_latency, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.offline = ServerState(latency_ms=latency_ms, faults=FaultInjector(faults), remote=remote or RemoteRules())
    return app
