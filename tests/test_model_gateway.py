"""The model gateway: forwards requests and answers unchanged (streams chunk by chunk), records the model calls,
passes keys through without keeping them, and speaks the OpenAI error shape for its own failures.

The gateway and an echoing backend run in this process (aiohttp test servers on loopback), so each test can see
both what the backend received and what the client got back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from helpers.model_gateway.server import PROBE_HEADER, create_app

KEY = "sk-test-secret-key-0123456789"
SYSTEM = {"role": "system", "content": "You are an expert in physics."}


def chat_body(*messages: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "stream": stream, "messages": [SYSTEM, *messages]}


class Backend:
    """An upstream that records what it was sent and answers like a chat-completions server."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.status = 200

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if self.status != 200:
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}},
                status=self.status,
            )
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "gpt-4o-mini"}]})
        data = json.loads(body)
        if data.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "x-request-id": "r1"})
            await response.prepare(request)
            for word in ("Energy ", "is ", "conserved."):
                chunk = {"created": 1, "model": "gpt-4o-mini-2024-07-18", "choices": [{"delta": {"content": word}}]}
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await asyncio.sleep(0.01)
            usage = {"created": 1, "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 3}}
            await response.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
            await response.write_eof()
            return response
        return web.json_response(
            {
                "created": 1,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"message": {"content": "Energy is conserved."}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 4},
            },
            headers={"x-request-id": "r1"},
        )


async def with_gateway(test) -> Any:
    backend = Backend()
    upstream_app = web.Application()
    upstream_app.router.add_route("*", "/{path:.*}", backend.handle)
    async with TestServer(upstream_app) as upstream:
        gateway = create_app(str(upstream.make_url("/")).rstrip("/"), "the test backend")
        async with TestClient(TestServer(gateway)) as client:
            return await test(client, backend)


def run(test) -> Any:
    return asyncio.run(with_gateway(test))


async def stats(client: TestClient) -> dict[str, Any]:
    return await (await client.get("/_gateway/stats")).json()


def test_a_plain_call_is_forwarded_unchanged_and_recorded() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        body = json.dumps(chat_body({"role": "user", "content": "Why?"})).encode()
        answer = await client.post(
            "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-12-01-preview",
            data=body,
            headers={"api-key": KEY, "Content-Type": "application/json"},
        )
        assert answer.status == 200 and answer.headers["x-request-id"] == "r1"
        assert (await answer.json())["choices"][0]["message"]["content"] == "Energy is conserved."
        seen = backend.seen[0]
        assert seen["body"] == body and seen["query"] == "api-version=2024-12-01-preview"
        assert seen["path"] == "/openai/deployments/gpt-4o-mini/chat/completions"
        assert seen["headers"]["api-key"] == KEY  # passed through, for the backend to check
        record = (await stats(client))["recent_calls"][0]
        assert record["route"] == "azure.chat.completions" and record["status"] == 200
        assert record["input_messages"] == 2 and record["user_turns"] == 1 and record["persona"] == "physics lens"
        assert (record["prompt_tokens"], record["completion_tokens"]) == (11, 4)
        assert record["response_model"] == "gpt-4o-mini-2024-07-18" and record["end"] >= record["start"]
        assert KEY not in json.dumps(await stats(client))

    run(test)


def test_a_stream_is_relayed_as_it_arrives_and_its_usage_recorded() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        answer = await client.post(
            "/v1/chat/completions", json=chat_body({"role": "user", "content": "Why?"}, stream=True)
        )
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        chunks = [chunk async for chunk in answer.content.iter_any()]
        text = b"".join(chunks).decode()
        assert text.count("data: ") == 5 and text.endswith("data: [DONE]\n\n")
        assert len(chunks) >= 3  # not buffered into one piece
        record = (await stats(client))["recent_calls"][0]
        assert record["stream"] and record["route"] == "openai.chat.completions"
        assert record["reply_preview"] == "Energy is conserved." and record["completion_tokens"] == 3
        assert record["first_byte_ms"] <= record["duration_ms"]

    run(test)


def test_an_agent_is_named_from_its_conversation_including_its_earlier_calls() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        await client.post("/v1/chat/completions", json=chat_body({"role": "user", "content": "one"}))
        await client.post(
            "/v1/chat/completions",
            json=chat_body(
                {"role": "user", "content": "one"},
                {"role": "assistant", "name": "PhysicistAgent", "content": "a"},
                {"role": "user", "content": "two"},
            ),
        )
        records = (await stats(client))["recent_calls"]
        assert [r["agent"] for r in records] == ["PhysicistAgent", "PhysicistAgent"]
        assert [r["input_messages"] for r in records] == [2, 4]

    run(test)


def test_backend_errors_pass_through_with_the_key_scrubbed() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        backend.status = 401
        answer = await client.post(
            "/v1/chat/completions",
            json=chat_body({"role": "user", "content": "x"}),
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert answer.status == 401
        assert KEY not in await answer.text() and "****" in await answer.text()
        record = (await stats(client))["recent_calls"][0]
        assert record["status"] == 401 and "Incorrect API key provided: ****" in record["error"]

    run(test)


def test_the_kits_own_check_is_forwarded_but_not_recorded_nor_its_header_sent_on() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        answer = await client.post(
            "/v1/chat/completions", json=chat_body({"role": "user", "content": "x"}), headers={PROBE_HEADER: "1"}
        )
        assert answer.status == 200 and PROBE_HEADER not in backend.seen[0]["headers"]
        assert (await stats(client))["calls"] == 0

    run(test)


def test_other_requests_are_forwarded_without_a_record() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        answer = await client.get("/v1/models")
        assert answer.status == 200 and (await answer.json())["data"][0]["id"] == "gpt-4o-mini"
        assert (await stats(client))["calls"] == 0

    run(test)


def test_injected_faults_answer_in_front_of_the_backend_and_say_so() -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        refused = await client.post("/_gateway/faults", json={"fail_first": 5, "fail_status": 700})
        assert refused.status == 400 and "fail_status" in (await refused.json())["error"]["message"]
        await client.post("/_gateway/faults", json={"fail_first": 1, "fail_status": 429, "retry_after_seconds": 2})
        first = await client.post("/v1/chat/completions", json=chat_body({"role": "user", "content": "x"}))
        assert first.status == 429 and first.headers["Retry-After"] == "2"
        assert "[model gateway] Injected rate limit" in (await first.json())["error"]["message"]
        second = await client.post("/v1/chat/completions", json=chat_body({"role": "user", "content": "x"}))
        assert second.status == 200 and len(backend.seen) == 1  # the injected one never reached the backend
        snapshot = await stats(client)
        assert [r["status"] for r in snapshot["recent_calls"]] == [429, 200]
        assert snapshot["faults_injected"]["429"] == 1

    run(test)


def test_an_unreachable_backend_is_a_502_in_the_openai_error_shape() -> None:
    async def test() -> None:
        gateway = create_app("http://127.0.0.1:9", "Azure OpenAI at http://127.0.0.1:9")
        async with TestClient(TestServer(gateway)) as client:
            answer = await client.post("/openai/deployments/d/chat/completions", json=chat_body())
            error = (await answer.json())["error"]
            assert answer.status == 502 and error["code"] == "upstream_unreachable"
            assert "could not reach Azure OpenAI at http://127.0.0.1:9" in error["message"]
            record = (await stats(client))["recent_calls"][0]
            assert record["status"] == 502 and "could not reach" in record["error"]

    asyncio.run(test())


@pytest.mark.parametrize(
    "path, api", [("/openai/v1/responses", "azure.responses"), ("/v1/responses", "openai.responses")]
)
def test_responses_api_calls_are_recorded_too(path: str, api: str) -> None:
    async def test(client: TestClient, backend: Backend) -> None:
        await client.post(path, json={"model": "m", "instructions": "You are a chemist.", "input": "Why?"})
        record = (await stats(client))["recent_calls"][0]
        assert record["route"] == api and record["input_messages"] == 1

    run(test)
