"""The offline model server, driven over HTTP by the real `openai` clients and by Agent Framework agents."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]
API_VERSION = "2024-12-01-preview"
WRITER = (
    "You refine short pieces of text. When given an initial sentence you enhance it;\n"
    "when given an improved sentence you polish it further."
)
PHYSICIST = "You are an expert in physics. You answer questions from a physics perspective."
CHEMIST = (
    "You are a middle school chemistry teacher. You answer questions so that middle school students can understand."
)
TURN_1 = "Write a concise inspirational sentence about learning."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline_model", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"offline model exited early: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("offline model did not become ready within 20 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def faults(base_url: str) -> Iterator[Callable[..., dict]]:
    """Set fault rules for one test; always switched off afterwards."""

    def set_faults(**rules: object) -> dict:
        response = httpx.post(base_url + "/admin/faults", json=rules, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    yield set_faults
    httpx.post(base_url + "/admin/faults", json={}, timeout=5)


def plain_client(base_url: str, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="offline", **kwargs)


def azure_client(base_url: str, **kwargs: object) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=base_url, api_key="offline", api_version=API_VERSION, **kwargs)


def chat(client: openai.OpenAI, instructions: str, *turns: str, **kwargs: object) -> str:
    messages = [{"role": "system", "content": instructions}] if instructions else []
    for index, text in enumerate(turns):
        messages.append({"role": "user" if index % 2 == 0 else "assistant", "content": text})
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages, **kwargs)
    return completion.choices[0].message.content or ""


def stats(base_url: str) -> dict:
    return httpx.get(base_url + "/stats", timeout=5).json()


# --- wire formats ---------------------------------------------------------------------------------


def test_chat_completion_plain_route_has_usage_and_offline_marker(base_url: str) -> None:
    completion = plain_client(base_url).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": TURN_1}]
    )
    text = completion.choices[0].message.content or ""
    assert text.startswith("[offline model, turn 1]")
    assert "learning" in text.lower()
    assert (
        completion.usage is not None and completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    )
    assert completion.choices[0].finish_reason == "stop"


def test_chat_streaming_matches_non_streaming_on_azure_route(base_url: str) -> None:
    client = azure_client(base_url)
    messages = [{"role": "system", "content": PHYSICIST}, {"role": "user", "content": "What is temperature?"}]
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1, "text should arrive in pieces"
    assert streamed == whole
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_async_azure_client_streams(base_url: str) -> None:
    async def run() -> str:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=base_url, api_key="offline", api_version=API_VERSION
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": TURN_1}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(run()).startswith("[offline model")


@pytest.mark.parametrize("make_client", [plain_client, azure_client], ids=["plain", "azure"])
def test_responses_api_streaming_and_not(base_url: str, make_client) -> None:
    client = make_client(base_url)
    response = client.responses.create(model="gpt-4o-mini", instructions=CHEMIST, input="What is temperature?")
    assert response.output_text.startswith("[offline model, turn 1]")
    assert "chemistry" in response.output_text
    assert response.usage is not None and response.usage.total_tokens > 0
    events = list(
        client.responses.create(model="gpt-4o-mini", instructions=CHEMIST, input="What is temperature?", stream=True)
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == response.output_text
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_previous_response_id_continues_the_conversation(base_url: str) -> None:
    client = plain_client(base_url)
    first = client.responses.create(model="gpt-4o-mini", instructions=WRITER, input=TURN_1)
    second = client.responses.create(
        model="gpt-4o-mini",
        instructions=WRITER,
        previous_response_id=first.id,
        input=f"Improve this further while keeping it under 25 words: {first.output_text}",
    )
    assert second.output_text.startswith("[offline model, turn 2] Refining turn 1:")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o-mini", previous_response_id="resp_unknown", input="hi")


def test_models_list(base_url: str) -> None:
    models = plain_client(base_url).models.list()
    assert "gpt-4o-mini" in [m.id for m in models.data]


# --- replies --------------------------------------------------------------------------------------


def test_same_conversation_same_reply_and_history_changes_it(base_url: str) -> None:
    client = plain_client(base_url)
    first = chat(client, WRITER, TURN_1)
    assert chat(client, WRITER, TURN_1) == first
    with_history = chat(client, WRITER, "Say something.", "Something.", TURN_1)
    assert with_history != first and "turn 2" in with_history


def test_personas_answer_the_same_question_differently(base_url: str) -> None:
    client = azure_client(base_url)
    physicist = chat(client, PHYSICIST, "What is temperature?")
    chemist = chat(client, CHEMIST, "What is temperature?")
    assert physicist != chemist
    assert "physic" in physicist.lower() and "chemistry" not in physicist.lower()
    assert "chemistry" in chemist.lower() and "physic" not in chemist.lower()


def test_refinement_turn_sees_turn_one_and_stays_under_25_words(base_url: str) -> None:
    client = azure_client(base_url)
    turn_1 = chat(client, WRITER, TURN_1)
    request_2 = f"Improve this further while keeping it under 25 words: {turn_1}"
    turn_2 = chat(client, WRITER, TURN_1, turn_1, request_2)
    assert turn_2.startswith("[offline model, turn 2] Refining turn 1:")
    assert len(turn_2.split()) < 25
    core_1 = turn_1.split("] ", 1)[1].rstrip(".")
    assert core_1 in turn_2, "turn 2 should carry the sentence it refines"


# --- structured output ----------------------------------------------------------------------------


class Step(BaseModel):
    title: str
    minutes: int
    optional: bool


class Plan(BaseModel):
    answer: str
    mood: Literal["calm", "bold", "curious"]
    steps: list[Step]
    confidence: float
    note: str | None = None


def test_structured_output_chat_and_responses_is_schema_valid(base_url: str) -> None:
    schema = Plan.model_json_schema()
    client = plain_client(base_url)
    content = (
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": PHYSICIST}, {"role": "user", "content": "Plan a lesson on heat."}],
            response_format={"type": "json_schema", "json_schema": {"name": "Plan", "schema": schema, "strict": True}},
        )
        .choices[0]
        .message.content
    )
    value = json.loads(content or "")
    jsonschema.validate(value, schema)
    assert value["answer"].startswith("[offline model")
    assert value["mood"] in ("calm", "bold", "curious") and len(value["steps"]) >= 1

    nested = {
        "type": "object",
        "additionalProperties": False,
        "required": ["tags", "score", "meta"],
        "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 3},
            "score": {"type": "integer", "minimum": 5, "maximum": 7},
            "meta": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}, "required": ["id"]},
        },
    }
    response = client.responses.create(
        model="gpt-4o-mini",
        input="Tag this.",
        text={"format": {"type": "json_schema", "name": "Tags", "schema": nested, "strict": True}},
    )
    first = json.loads(response.output_text)
    jsonschema.validate(first, nested)
    again = client.responses.create(
        model="gpt-4o-mini",
        input="Tag this.",
        text={"format": {"type": "json_schema", "name": "Tags", "schema": nested, "strict": True}},
    )
    assert json.loads(again.output_text) == first


# --- latency, faults, bad input, stats --------------------------------------------------------------


def test_latency_header_slows_calls_and_concurrent_calls_overlap(base_url: str) -> None:
    def timed(latency_ms: int, stream: bool) -> float:
        client = plain_client(base_url, default_headers={"x-offline-latency-ms": str(latency_ms)})
        started = time.perf_counter()
        chat(client, "", TURN_1) if not stream else list(
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": TURN_1}], stream=True)
        )
        return time.perf_counter() - started

    fast, slow, slow_stream = timed(0, False), timed(400, False), timed(400, True)
    assert slow > 3 * fast and slow >= 0.4
    assert slow_stream >= 0.4

    async def four_at_once() -> float:
        async with openai.AsyncOpenAI(
            base_url=base_url + "/v1", api_key="k", default_headers={"x-offline-latency-ms": "400"}
        ) as client:
            started = time.perf_counter()
            await asyncio.gather(
                *[
                    client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"Question {i}?"}])
                    for i in range(4)
                ]
            )
            return time.perf_counter() - started

    httpx.post(base_url + "/stats/reset", timeout=5)
    elapsed = asyncio.run(four_at_once())
    assert elapsed < 2 * slow, "four concurrent calls should take about as long as one"
    assert stats(base_url)["max_in_flight"] == 4


def test_fail_first_returns_429_with_retry_after_then_client_retries(base_url: str, faults) -> None:
    faults(fail_first=2, fail_status=429, retry_after_seconds=0.05)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(plain_client(base_url, max_retries=0), "", TURN_1)
    assert caught.value.response.headers["Retry-After"] == "0"
    assert caught.value.response.headers["retry-after-ms"] == "50"
    assert caught.value.body["type"] == "rate_limit_error" and "offline model" in caught.value.body["message"]

    before = stats(base_url)["calls"]
    assert chat(plain_client(base_url, max_retries=2), "", TURN_1).startswith("[offline model")
    assert stats(base_url)["calls"] - before == 2, "one more injected failure, then the successful retry"
    status = httpx.get(base_url + "/admin/faults", timeout=5).json()
    assert status["fail_first"] == 2 and status["injected"]["429"] >= 2


def test_fail_every_500_and_timeouts(base_url: str, faults) -> None:
    client = plain_client(base_url, max_retries=0)
    faults(fail_every=2, fail_status=500)
    chat(client, "", "one?")
    with pytest.raises(openai.InternalServerError):
        chat(client, "", "two?")
    faults(timeout_every=1, timeout_seconds=0.3)
    started = time.perf_counter()
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client, "", "three?")
    assert caught.value.status_code == 504 and time.perf_counter() - started >= 0.3
    with pytest.raises(openai.APITimeoutError):
        chat(plain_client(base_url, max_retries=0, timeout=0.1), "", "four?")
    faults()  # off again
    assert chat(client, "", "five?").startswith("[offline model")


def test_fail_rate_is_seeded_and_admin_rejects_bad_settings(base_url: str, faults) -> None:
    def outcomes() -> list[int]:
        faults(fail_rate=0.5, fail_status=500, seed=7)
        return [
            httpx.post(
                base_url + "/v1/chat/completions",
                timeout=5,
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            ).status_code
            for _ in range(10)
        ]

    first = outcomes()
    assert first == outcomes() and {200, 500} == set(first)
    for bad in ({"fail_rate": 2}, {"fail_status": 200}, {"fail_first": "x"}, {"nope": 1}, [1]):
        response = httpx.post(base_url + "/admin/faults", json=bad, timeout=5)
        assert response.status_code == 400 and "message" in response.json()["error"], bad
    assert httpx.post(base_url + "/admin/faults", content=b"{bad", timeout=5).status_code == 400


def test_bad_requests_get_openai_shaped_400s_and_server_stays_up(base_url: str) -> None:
    for path, body in [
        ("/v1/chat/completions", b"{not json"),
        ("/v1/chat/completions", json.dumps({"model": "m"}).encode()),
        ("/v1/chat/completions", json.dumps({"model": "m", "messages": [{"content": "no role"}]}).encode()),
        ("/openai/v1/responses", json.dumps({"model": "m", "input": 5}).encode()),
        ("/v1/responses", json.dumps({"model": "m", "input": "x", "text": {"format": {"type": "xml"}}}).encode()),
    ]:
        response = httpx.post(base_url + path, content=body, timeout=5)
        assert response.status_code == 400, (path, body)
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert (
        httpx.post(
            base_url + "/v1/chat/completions",
            timeout=5,
            headers={"x-offline-latency-ms": "soon"},
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        ).status_code
        == 400
    )
    assert httpx.get(base_url + "/v1/nothing", timeout=5).status_code == 404
    with pytest.raises(openai.BadRequestError):
        plain_client(base_url).chat.completions.create(model="m", messages=[])
    assert chat(plain_client(base_url), "", "still there?").startswith("[offline model")


def test_stats_count_calls_per_route_and_record_a_timeline(base_url: str) -> None:
    assert httpx.post(base_url + "/stats/reset", timeout=5).json()["calls"] == 0
    chat(azure_client(base_url), WRITER, TURN_1)
    chat(plain_client(base_url), WRITER, TURN_1, "Earlier answer.", "Improve it: something better here")
    list(plain_client(base_url).responses.create(model="m", input="hi", stream=True))
    snapshot = stats(base_url)
    assert snapshot["calls"] == 3 and snapshot["completed"] == 3 and snapshot["streamed"] == 1
    assert snapshot["by_route"] == {"azure.chat.completions": 1, "openai.chat.completions": 1, "openai.responses": 1}
    assert snapshot["by_api"] == {"chat.completions": 2, "responses": 1}
    calls = snapshot["recent_calls"]
    assert [c["input_messages"] for c in calls] == [2, 4, 1]
    assert [c["user_turns"] for c in calls] == [1, 2, 1]
    assert all(c["start"] <= c["end"] and c["status"] == 200 for c in calls)
    assert calls[0]["path"] == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert httpx.get(base_url + "/stats?limit=1", timeout=5).json()["recent_calls"][0]["id"] == 3


def test_runtime_latency_admin(base_url: str) -> None:
    try:
        assert httpx.post(base_url + "/admin/latency", json={"latency_ms": 300}, timeout=5).json() == {
            "latency_ms": 300.0
        }
        started = time.perf_counter()
        chat(plain_client(base_url), "", "slow?")
        assert time.perf_counter() - started >= 0.3
        assert httpx.post(base_url + "/admin/latency", json={"latency_ms": -1}, timeout=5).status_code == 400
    finally:
        httpx.post(base_url + "/admin/latency", json={"latency_ms": 0}, timeout=5)


# --- Agent Framework agents -------------------------------------------------------------------------


def test_agent_framework_two_turn_session_on_chat_completions(base_url: str) -> None:
    from agent_framework import Agent
    from agent_framework.openai import OpenAIChatCompletionClient

    async def run() -> tuple[str, str, str]:
        client = OpenAIChatCompletionClient(model="gpt-4o-mini", azure_endpoint=base_url, api_key="offline")
        writer = Agent(client=client, name="WriterAgent", instructions=WRITER)
        # The durable agent entity always streams; a non-SSE reply would be stored as empty text.
        streamed = "".join([update.text async for update in writer.run(TURN_1, stream=True)])
        session = writer.create_session()
        first = await writer.run(TURN_1, session=session)
        second = await writer.run(
            f"Improve this further while keeping it under 25 words: {first.text}", session=session
        )
        return streamed, first.text, second.text

    streamed, first, second = asyncio.run(run())
    assert streamed == first and first.startswith("[offline model, turn 1]")
    assert second.startswith("[offline model, turn 2] Refining turn 1:") and len(second.split()) < 25
    streamed_call, *_, last_call = stats(base_url)["recent_calls"][-3:]
    assert streamed_call["stream"] is True and last_call["stream"] is False
    assert last_call["route"] == "azure.chat.completions" and last_call["input_messages"] == 4


def test_agent_framework_streamed_run_and_session_on_responses(base_url: str) -> None:
    from agent_framework import Agent
    from agent_framework.openai import OpenAIChatClient

    async def run() -> tuple[str, str]:
        client = OpenAIChatClient(model="gpt-4o-mini", azure_endpoint=base_url, api_key="offline")
        physicist = Agent(client=client, name="PhysicistAgent", instructions=PHYSICIST)
        streamed = "".join([update.text async for update in physicist.run("What is temperature?", stream=True)])
        session = physicist.create_session()
        await physicist.run("What is temperature?", session=session)
        follow_up = await physicist.run("And what is heat?", session=session)
        return streamed, follow_up.text

    streamed, follow_up = asyncio.run(run())
    assert streamed.startswith("[offline model, turn 1]") and "physic" in streamed.lower()
    assert follow_up.startswith("[offline model, turn 2] Following turn 1")
    assert stats(base_url)["recent_calls"][-1]["route"] == "azure.responses"


# --- reply composition (pure functions, no server) ------------------------------------------------------


def _replies(instructions: str, *requests: str) -> list[str]:
    """Each request sent after the previous ones and their replies, as an agent session would."""
    from helpers.offline_model.conversation import Conversation, Turn
    from helpers.offline_model.replies import compose_reply

    turns: tuple[Turn, ...] = ()
    replies = []
    for request in requests:
        turns += (Turn("user", request),)
        replies.append(compose_reply(Conversation(instructions, turns)))
        turns += (Turn("assistant", replies[-1]),)
    return replies


def test_make_it_about_rewrites_the_previous_answer_or_says_there_is_none() -> None:
    first, second = _replies(WRITER, "Write a short sentence about rivers.", "Now make it about the sea.")
    assert second.startswith("[offline model, turn 2] Rewriting turn 1: ")
    before, after = first.split("] ", 1)[1], second.split(": ", 1)[1]
    assert "rivers" in before and after == before.replace("rivers", "the sea"), "same sentence, new topic"
    (fresh,) = _replies(PHYSICIST, "Now make it about the sea.")
    assert fresh.startswith("[offline model, turn 1] Nothing earlier to rewrite") and "the sea" in fresh
    assert "physics" in fresh


def test_refining_a_quoted_reply_names_the_turn_it_came_from() -> None:
    quoted = "[offline model, turn 1] Every question you ask about rivers opens a door you can walk through."
    # Another caller's turn sits in between, as when two orchestrations share one session.
    *_, refined = _replies(
        WRITER,
        "Write a sentence about rivers.",
        "Write a sentence about hills.",
        f"Improve this further while keeping it under 25 words: {quoted}",
    )
    assert refined.startswith("[offline model, turn 3] Refining turn 1: Every question you ask about rivers")


def test_word_limits_give_complete_sentences_when_a_short_form_fits() -> None:
    (answer,) = _replies(PHYSICIST, "Why does ice float? Answer in at most 12 words.")
    assert len(answer.split()) <= 12 and answer.endswith(".") and "…" not in answer
    (sentence,) = _replies(WRITER, "Write a sentence about rivers in under 10 words.")
    assert len(sentence.split()) < 10 and sentence.endswith("rivers.")


def test_questions_are_quoted_not_parsed_into_a_subject() -> None:
    (answer,) = _replies(PHYSICIST, "Why does ice float?")
    assert "“Why does ice float?”" in answer and "energy" in answer
    (chat,) = _replies(WRITER, "Tag this.")
    assert "“Tag this.”" in chat and "pieces" not in chat  # no words picked out of the instructions
