"""The gateway's Starlette app: forward every request to the backend, record the model calls among them.

Forwarding: `POST {gateway}/<path>?<query>` goes to `{upstream}/<path>?<query>` with the same method, body and
headers (the key or Entra ID bearer token included), minus hop-by-hop headers. The answer comes back with
its status and headers; streamed answers (SSE) are relayed chunk by chunk as they arrive, so time to first
token is the backend's. Bodies are decoded on the way through (`Content-Encoding` is dropped), so the
gateway can read them; nothing else changes.

Recording: requests to `.../chat/completions` and `.../responses` are model calls. Each gets a `CallRecord`
(the offline model's record type, so both answer `/stats` in one shape): start, first byte, end, status,
messages sent, user turns, agent, persona, tokens, the model that answered, and the error message of a
failed call with any key or token it quoted replaced by `****`. Keys are read only to be removed from those
messages; they are never stored or logged.

Service routes, under `/_gateway` so they cannot shadow a backend path:
    GET  /_gateway              what this is and where it forwards (readiness probe)
    GET  /_gateway/stats        counters + recent calls (`?limit=N`), the offline model's `/stats` shape
    POST /_gateway/stats/reset
    GET  /_gateway/faults, POST /_gateway/faults   inject failures in front of any backend (see
                                                   `helpers.offline_model.faults` for the settings)

Failures of the gateway's own hop answer in the OpenAI error shape, so the app's client reports them like
any backend error: 502 `upstream_unreachable` (DNS, refused, TLS) and 504 `upstream_timeout`.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..offline_model.faults import FaultConfig, FaultConfigError, FaultInjector, fault_answer
from ..offline_model.persona import persona_from_instructions
from ..offline_model.stats import CallRecord, CallStats
from .observe import AnswerReader, api_of, error_message, route_of, summarise_request

SOURCE = "model gateway"
# The kit's own check that a backend answers (notebook 00, `lab.start(model="env")`) is forwarded but not
# recorded: it is not one of the app's calls, and lessons count those. The header is not forwarded.
PROBE_HEADER = "x-kit-probe"
# Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those httpx recomputes.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
})
# Answer headers that no longer hold once the body is decoded on the way through.
DROPPED_ANSWER_HEADERS = HOP_BY_HOP | {"content-encoding"}
# Where clients put keys and tokens. Their values are only used to scrub error messages, never kept.
SECRET_HEADERS = ("api-key", "authorization", "x-api-key", "ocp-apim-subscription-key")
# The app's client gives up after 120 s; the gateway waits longer so the client, not the gateway, decides.
UPSTREAM_TIMEOUT = httpx.Timeout(connect=15.0, read=600.0, write=60.0, pool=60.0)


def gateway_error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "gateway_error", "param": None, "code": code}},
                        status_code=status)


def secrets_in(headers: Any) -> list[str]:
    """The key and token values a request carries (a Bearer token without its scheme), longest first."""
    values: list[str] = []
    for name in SECRET_HEADERS:
        value = headers.get(name)
        if value:
            values.append(value)
            if " " in value:
                values.append(value.split(" ", 1)[1])
    return sorted((v for v in values if len(v) >= 6), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    return text


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


@dataclass
class GatewayState:
    upstream: str  # base URL requests are forwarded to, without a trailing slash
    label: str  # who the upstream is, for people (no secrets)
    client: httpx.AsyncClient | None = None
    stats: CallStats = field(default_factory=CallStats)
    faults: FaultInjector = field(default_factory=FaultInjector)
    # Agent names learned from conversations that carry them (assistant messages are named after the agent),
    # by a digest of the agent's instructions: an agent's first call has no assistant message yet.
    agents: dict[str, str] = field(default_factory=dict)

    def agent_for(self, digest: str, named: str | None) -> str | None:
        if named:
            self.agents[digest] = named
            for record in self.stats.recent:  # earlier calls of the same agent get its name too
                if record.agent is None and record.instructions_digest == digest:
                    record.agent = named
        return self.agents.get(digest) or named


def _record_call(state: GatewayState, path: str, api: str, body: bytes) -> CallRecord:
    summary = summarise_request(api, body)
    record = state.stats.start(route_of(path, api), api, path)
    record.model, record.stream, record.structured = summary.model, summary.stream, summary.structured
    record.input_messages, record.user_turns = summary.input_messages, summary.user_turns
    record.persona = persona_from_instructions(summary.instructions).label if summary.instructions else None
    if summary.instructions:
        record.instructions_digest = hashlib.sha256(summary.instructions.encode("utf-8")).hexdigest()[:12]
        record.agent = state.agent_for(record.instructions_digest, summary.agent)
    else:
        record.agent = summary.agent
    return record


def _finish(state: GatewayState, record: CallRecord, status: int, reader: AnswerReader | None,
            secrets: list[str], error_body: bytes | None = None, error: str | None = None) -> None:
    if reader is not None:
        reader.close()
        answer = reader.summary
        record.response_model = answer.model
        record.prompt_tokens, record.completion_tokens = answer.prompt_tokens, answer.completion_tokens
        reply = answer.text if status < 400 else None
    else:
        reply = None
    if error is None and error_body is not None and status >= 400:
        error = error_message(error_body)
    state.stats.finish(record, status, reply=reply, error=scrub(error, secrets) if error else None)


async def forward(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    assert state.client is not None
    path = request.url.path
    api = api_of(path) if request.method == "POST" else None
    body = await request.body()
    secrets = secrets_in(request.headers)
    probe = PROBE_HEADER in request.headers
    record = _record_call(state, path, api, body) if api and not probe else None

    if record is not None and state.faults.config.active:
        fault = state.faults.decide()
        if fault is not None:
            answer = fault_answer(fault, state.faults.config, record.id, source=SOURCE)
            if answer.stall_seconds:
                await asyncio.sleep(answer.stall_seconds)
            state.stats.finish(record, answer.status, fault=fault.rule, error=answer.body["error"]["message"])
            return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    url = state.upstream + path + (f"?{request.url.query}" if request.url.query else "")
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != PROBE_HEADER]
    try:
        upstream = await state.client.send(
            state.client.build_request(request.method, url, headers=headers, content=body), stream=True)
    except httpx.TimeoutException as exc:
        message = f"The {SOURCE} timed out talking to {state.label} ({host_of(state.upstream)}): {exc!r}."
        if record is not None:
            state.stats.finish(record, 504, error=message)
        return gateway_error(504, message, "upstream_timeout")
    except httpx.HTTPError as exc:
        message = f"The {SOURCE} could not reach {state.label} ({host_of(state.upstream)}): {exc}."
        if record is not None:
            state.stats.finish(record, 502, error=scrub(message, secrets))
        return gateway_error(502, message, "upstream_unreachable")

    answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_ANSWER_HEADERS}
    streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
    reader = AnswerReader(api, streamed) if record is not None and upstream.status_code < 400 else None

    if streamed and upstream.status_code < 400:
        return StreamingResponse(_relay(state, upstream, record, reader, secrets), status_code=upstream.status_code,
                                 headers=answer_headers)
    try:
        content = await upstream.aread()
    finally:
        await upstream.aclose()
    if record is not None:
        if record.first_byte_ms is None:
            record.first_byte_ms = round((time.time() - record.start) * 1000, 1)
        if reader is not None:
            reader.feed(content)
        _finish(state, record, upstream.status_code, reader, secrets, error_body=content)
    if upstream.status_code >= 400 and secrets:
        content = scrub(content.decode("utf-8", errors="replace"), secrets).encode("utf-8")
    return Response(content, status_code=upstream.status_code, headers=answer_headers)


async def _relay(state: GatewayState, upstream: httpx.Response, record: CallRecord | None,
                 reader: AnswerReader | None, secrets: list[str]) -> AsyncIterator[bytes]:
    status = 499  # the client went away before the stream ended
    try:
        async for chunk in upstream.aiter_bytes():
            if record is not None and record.first_byte_ms is None:
                record.first_byte_ms = round((time.time() - record.start) * 1000, 1)
            if reader is not None:
                reader.feed(chunk)
            yield chunk
        status = upstream.status_code
    except httpx.HTTPError as exc:
        status = 502
        if record is not None:
            _finish(state, record, status, reader, secrets, error=f"The stream from {state.label} broke: {exc!r}")
        raise
    finally:
        await upstream.aclose()
        if record is not None:
            _finish(state, record, status, reader, secrets)


async def about(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    return JSONResponse({
        "server": SOURCE,
        "forwards_to": state.label,
        "upstream": host_of(state.upstream),
        "records": "/_gateway/stats",
        "faults": "/_gateway/faults",
    })


async def stats(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    try:
        limit = int(request.query_params.get("limit", "500"))
    except ValueError:
        return gateway_error(400, "'limit' must be an integer.", "bad_request")
    snapshot = state.stats.snapshot(dict(state.faults.injected), limit, server=f"{SOURCE} in front of {state.label}")
    return JSONResponse(snapshot)


async def reset_stats(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    state.stats.reset()
    state.faults.injected.clear()
    return JSONResponse({"reset": True, "calls": 0})


async def faults(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    if request.method == "POST":
        raw = await request.body()
        try:
            state.faults.configure(FaultConfig.from_json(json.loads(raw) if raw.strip() else {}))
        except (ValueError, FaultConfigError) as exc:
            return gateway_error(400, f"Fault settings: {exc}", "bad_request")
    return JSONResponse({**state.faults.describe(), "injected": dict(state.faults.injected)})


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def create_app(upstream: str, label: str = "the model backend") -> Starlette:
    state = GatewayState(upstream=upstream.rstrip("/"), label=label)
    loopback = urlsplit(upstream).hostname in ("127.0.0.1", "localhost", "::1")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A corporate proxy (HTTPS_PROXY) and its CA bundle (SSL_CERT_FILE) apply to a remote backend, never to
        # a backend on this machine. No redirects: the client sees what the backend answered.
        async with httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, trust_env=not loopback, follow_redirects=False,
                                     limits=httpx.Limits(max_connections=None, max_keepalive_connections=64)) as client:
            state.client = client
            yield

    routes = [
        Route("/_gateway", about),
        Route("/_gateway/stats", stats),
        Route("/_gateway/stats/reset", reset_stats, methods=["POST"]),
        Route("/_gateway/faults", faults, methods=["GET", "POST"]),
        Route("/{path:path}", forward, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.gateway = state
    return app
