"""The gateway's aiohttp app: forward every request to the backend, record the model calls among them.

Why aiohttp here (the host and the offline model use Starlette/uvicorn): the gateway sits on the path of
every model call, and aiohttp's server and client share one event loop and C-accelerated HTTP parsers,
which keeps the extra loopback hop within the 2 ms per call `make bench` checks.

Forwarding: `POST {gateway}/<path>?<query>` goes to `{upstream}/<path>?<query>` with the same method, body and
headers (the key or Entra ID bearer token included), minus hop-by-hop headers. The answer comes back with
its status and headers; streamed answers (SSE) are relayed chunk by chunk as they arrive, so time to first
token is the backend's. Bodies are decoded on the way through (`Content-Encoding` is dropped), so the
gateway can read them; nothing else changes.

Recording: requests to `.../chat/completions` and `.../responses` are model calls. Each gets a `CallRecord`
(model_traffic's record type, which the offline model keeps too, so both answer `/stats` in one shape): start, first byte, end, status,
messages sent, user turns, agent, persona, tokens, the model that answered, and the error message of a
failed call with any key or token it quoted replaced by `****`. Keys are read only to be removed from those
messages; they are never stored or logged.

Service routes, under `/_gateway` so they cannot shadow a backend path:
    GET  /_gateway              what this is and where it forwards (readiness probe)
    GET  /_gateway/stats        counters + recent calls (`?limit=N`), the offline model's `/stats` shape
    POST /_gateway/stats/reset
    GET  /_gateway/faults, POST /_gateway/faults   inject failures in front of any backend (see
                                                   `helpers.model_traffic.faults` for the settings)

Failures of the gateway's own hop answer in the OpenAI error shape, so the app's client reports them like
any backend error: 502 `upstream_unreachable` (DNS, refused, TLS) and 504 `upstream_timeout`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from ..model_traffic.call_stats import CallRecord, CallStats
from ..model_traffic.faults import FaultConfig, FaultConfigError, FaultInjector, fault_answer
from ..model_traffic.persona import persona_from_instructions
from .observe import AnswerReader, api_of, error_message, route_of, summarise_request

SOURCE = "model gateway"
# The kit's own check that a backend answers (notebook 00, `lab.start(model="env")`) is forwarded but not
# recorded: it is not one of the app's calls, and lessons count those. The header is not forwarded.
PROBE_HEADER = "x-kit-probe"
# Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those httpx recomputes.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Answer headers that no longer hold once the body is decoded on the way through.
DROPPED_ANSWER_HEADERS = HOP_BY_HOP | {"content-encoding"}
# Where clients put keys and tokens. Their values are only used to scrub error messages, never kept.
SECRET_HEADERS = ("api-key", "authorization", "x-api-key", "ocp-apim-subscription-key")
# Largest request accepted: agents resend whole conversations, so generous (as the offline model's limit).
MAX_BODY_BYTES = 8 * 2**20
# The app's client gives up after 120 s; the gateway waits longer so the client, not the gateway, decides.
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15.0, sock_read=600.0)


def gateway_error(status: int, message: str, code: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "gateway_error", "param": None, "code": code}}, status=status
    )


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
    client: aiohttp.ClientSession | None = None
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


STATE = web.AppKey("gateway", GatewayState)


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


def _first_byte(record: CallRecord | None) -> None:
    if record is not None and record.first_byte_ms is None:
        record.first_byte_ms = round((time.time() - record.start) * 1000, 1)


def _finish(
    state: GatewayState,
    record: CallRecord,
    status: int,
    reader: AnswerReader | None,
    secrets: list[str],
    error_body: bytes | None = None,
    error: str | None = None,
) -> None:
    reply = None
    if reader is not None:
        reader.close()
        answer = reader.summary
        record.response_model = answer.model
        record.prompt_tokens, record.completion_tokens = answer.prompt_tokens, answer.completion_tokens
        reply = answer.text if status < 400 else None
    if error is None and error_body is not None and status >= 400:
        error = error_message(error_body)
    state.stats.finish(record, status, reply=reply, error=scrub(error, secrets) if error else None)


async def forward(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    assert state.client is not None
    path = request.path
    api = api_of(path) if request.method == "POST" else None
    body = await request.read()
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
            return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    url = state.upstream + path + (f"?{request.query_string}" if request.query_string else "")
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != PROBE_HEADER]
    try:
        upstream = await state.client.request(request.method, url, headers=headers, data=body, allow_redirects=False)
    except TimeoutError as exc:
        message = f"The {SOURCE} timed out talking to {state.label} ({host_of(state.upstream)}): {exc!r}."
        if record is not None:
            state.stats.finish(record, 504, error=message)
        return gateway_error(504, message, "upstream_timeout")
    except aiohttp.ClientError as exc:
        message = f"The {SOURCE} could not reach {state.label} ({host_of(state.upstream)}): {exc}."
        if record is not None:
            state.stats.finish(record, 502, error=scrub(message, secrets))
        return gateway_error(502, message, "upstream_unreachable")

    answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_ANSWER_HEADERS}
    streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
    reader = AnswerReader(api, streamed) if api is not None and record is not None and upstream.status < 400 else None
    if streamed and upstream.status < 400:
        return await _relay(request, state, upstream, answer_headers, record, reader, secrets)
    try:
        content = await upstream.read()
    finally:
        upstream.release()
    if record is not None:
        _first_byte(record)
        if reader is not None:
            reader.feed(content)
        _finish(state, record, upstream.status, reader, secrets, error_body=content)
    if upstream.status >= 400 and secrets:
        content = scrub(content.decode("utf-8", errors="replace"), secrets).encode("utf-8")
    return web.Response(body=content, status=upstream.status, headers=answer_headers)


async def _relay(
    request: web.Request,
    state: GatewayState,
    upstream: aiohttp.ClientResponse,
    headers: dict[str, str],
    record: CallRecord | None,
    reader: AnswerReader | None,
    secrets: list[str],
) -> web.StreamResponse:
    """Pass a streamed (SSE) answer on chunk by chunk, as it arrives."""
    response = web.StreamResponse(status=upstream.status, headers=headers)
    status = 499  # the client went away before the stream ended
    error = None
    try:
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            _first_byte(record)
            if reader is not None:
                reader.feed(chunk)
            await response.write(chunk)
        await response.write_eof()
        status = upstream.status
    except (TimeoutError, aiohttp.ClientPayloadError) as exc:
        status, error = 502, f"The stream from {state.label} broke: {exc!r}"
        raise
    finally:
        upstream.release()
        if record is not None:
            _finish(state, record, status, reader, secrets, error=error)
    return response


async def about(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        {
            "server": SOURCE,
            "forwards_to": state.label,
            "upstream": host_of(state.upstream),
            "records": "/_gateway/stats",
            "faults": "/_gateway/faults",
        }
    )


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        limit = int(request.query.get("limit", "500"))
    except ValueError:
        return gateway_error(400, "'limit' must be an integer.", "bad_request")
    snapshot = state.stats.snapshot(dict(state.faults.injected), limit, server=f"{SOURCE} in front of {state.label}")
    return web.json_response(snapshot)


async def reset_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.reset()
    state.faults.injected.clear()
    return web.json_response({"reset": True, "calls": 0})


async def faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.method == "POST":
        raw = await request.read()
        try:
            state.faults.configure(FaultConfig.from_json(json.loads(raw) if raw.strip() else {}))
        except (ValueError, RecursionError, FaultConfigError) as exc:
            return gateway_error(400, f"Fault settings: {exc}", "bad_request")
    return web.json_response({**state.faults.describe(), "injected": dict(state.faults.injected)})


def create_app(upstream: str, label: str = "the model backend") -> web.Application:
    state = GatewayState(upstream=upstream.rstrip("/"), label=label)
    loopback = urlsplit(upstream).hostname in ("127.0.0.1", "localhost", "::1")

    async def upstream_client(app: web.Application) -> AsyncIterator[None]:
        # A corporate proxy (HTTPS_PROXY) and its CA bundle (SSL_CERT_FILE) apply to a remote backend, never to
        # a backend on this machine. No redirects: the client sees what the backend answered.
        async with aiohttp.ClientSession(
            timeout=UPSTREAM_TIMEOUT,
            trust_env=not loopback,
            auto_decompress=True,
            connector=aiohttp.TCPConnector(limit=0),
        ) as client:
            state.client = client
            yield

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE] = state
    app.cleanup_ctx.append(upstream_client)
    app.router.add_get("/_gateway", about)
    app.router.add_get("/_gateway/stats", stats)
    app.router.add_post("/_gateway/stats/reset", reset_stats)
    app.router.add_route("GET", "/_gateway/faults", faults)
    app.router.add_route("POST", "/_gateway/faults", faults)
    app.router.add_route("*", "/{path:.*}", forward)
    return app
