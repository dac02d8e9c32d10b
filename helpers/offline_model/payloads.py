"""Wire payloads built from the `openai` package's own types, so clients parse exactly what they expect.

Chat Completions: `ChatCompletion` (non-streaming) and `ChatCompletionChunk`s ending in `data: [DONE]`.
Responses: `Response` (non-streaming) and the event sequence created → in_progress → output_item.added →
content_part.added → output_text.delta… → output_text.done → content_part.done → output_item.done →
completed. Text only reaches agent-framework through `output_text.delta` events, so they are always sent.
Usage is a whitespace word count — deterministic, and good enough to show tokens growing with history.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from openai.types import CompletionUsage, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from .conversation import ModelRequest

SYSTEM_FINGERPRINT = "offline-model-scripted"
OWNER = "offline-model (scripted responder, not an LLM)"


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def count_usage(request: ModelRequest, reply: str) -> Usage:
    conversation = request.conversation
    words = len(conversation.instructions.split()) + sum(len(t.text.split()) for t in conversation.turns)
    return Usage(input_tokens=words, output_tokens=len(reply.split()))


def text_pieces(text: str, words_per_piece: int = 3) -> list[str]:
    """Split a reply into streaming deltas of a few words; concatenated they give the text back exactly."""
    tokens = re.findall(r"\s*\S+", text) or [text]
    return ["".join(tokens[i : i + words_per_piece]) for i in range(0, len(tokens), words_per_piece)]


def dump(model: object) -> str:
    return model.model_dump_json(exclude_none=True)  # type: ignore[attr-defined]


def sse(data: str, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


# --- Chat Completions -------------------------------------------------------------------------


def chat_completion(call_id: str, created: int, request: ModelRequest, reply: str) -> ChatCompletion:
    usage = count_usage(request, reply)
    return ChatCompletion(
        id=call_id,
        object="chat.completion",
        created=created,
        model=request.model,
        system_fingerprint=SYSTEM_FINGERPRINT,
        choices=[Choice(index=0, finish_reason="stop", message=ChatCompletionMessage(role="assistant", content=reply))],
        usage=CompletionUsage(
            prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens, total_tokens=usage.total_tokens
        ),
    )


def chat_chunks(call_id: str, created: int, request: ModelRequest, reply: str) -> Iterator[str]:
    """SSE `data:` lines for a streamed chat completion (usage chunk only when the client asked for it)."""

    def chunk(
        delta: ChoiceDelta | None, finish: Literal["stop"] | None = None, usage: CompletionUsage | None = None
    ) -> str:
        choices = [] if delta is None else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]
        return sse(
            dump(
                ChatCompletionChunk(
                    id=call_id,
                    object="chat.completion.chunk",
                    created=created,
                    model=request.model,
                    system_fingerprint=SYSTEM_FINGERPRINT,
                    choices=choices,
                    usage=usage,
                )
            )
        )

    yield chunk(ChoiceDelta(role="assistant", content=""))
    for piece in text_pieces(reply):
        yield chunk(ChoiceDelta(content=piece))
    yield chunk(ChoiceDelta(), finish="stop")
    if request.include_usage:
        usage = count_usage(request, reply)
        yield chunk(
            None,
            usage=CompletionUsage(
                prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens, total_tokens=usage.total_tokens
            ),
        )
    yield sse("[DONE]")


# --- Responses ----------------------------------------------------------------------------------


def _response_usage(usage: Usage) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=usage.input_tokens,
        input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
        output_tokens=usage.output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        total_tokens=usage.total_tokens,
    )


def _message(message_id: str, reply: str, status: Literal["in_progress", "completed"]) -> ResponseOutputMessage:
    content: list[ResponseOutputText | ResponseOutputRefusal] = (
        [ResponseOutputText(type="output_text", text=reply, annotations=[])] if status == "completed" else []
    )
    return ResponseOutputMessage(id=message_id, type="message", role="assistant", status=status, content=content)


def response(call_id: str, created: int, request: ModelRequest, reply: str, *, done: bool = True) -> Response:
    return Response(
        id=call_id,
        object="response",
        created_at=created,
        model=request.model,
        status="completed" if done else "in_progress",
        instructions=request.conversation.instructions or None,
        previous_response_id=request.previous_response_id,
        output=[_message(f"msg_{call_id}", reply, "completed")] if done else [],
        parallel_tool_calls=True,
        tool_choice="auto",
        tools=[],
        usage=_response_usage(count_usage(request, reply)) if done else None,
    )


def response_events(call_id: str, created: int, request: ModelRequest, reply: str) -> Iterator[str]:
    """SSE `event:`/`data:` pairs for a streamed Response, numbered by `sequence_number`."""
    message_id = f"msg_{call_id}"
    pending = response(call_id, created, request, reply, done=False)
    empty_text = ResponseOutputText(type="output_text", text="", annotations=[])
    full_text = ResponseOutputText(type="output_text", text=reply, annotations=[])
    events: list[object] = [
        ResponseCreatedEvent(type="response.created", sequence_number=0, response=pending),
        ResponseInProgressEvent(type="response.in_progress", sequence_number=0, response=pending),
        ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            sequence_number=0,
            output_index=0,
            item=_message(message_id, reply, "in_progress"),
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added",
            sequence_number=0,
            item_id=message_id,
            output_index=0,
            content_index=0,
            part=empty_text,
        ),
    ]
    events += [
        ResponseTextDeltaEvent(
            type="response.output_text.delta",
            sequence_number=0,
            item_id=message_id,
            output_index=0,
            content_index=0,
            delta=piece,
            logprobs=[],
        )
        for piece in text_pieces(reply)
    ]
    events += [
        ResponseTextDoneEvent(
            type="response.output_text.done",
            sequence_number=0,
            item_id=message_id,
            output_index=0,
            content_index=0,
            text=reply,
            logprobs=[],
        ),
        ResponseContentPartDoneEvent(
            type="response.content_part.done",
            sequence_number=0,
            item_id=message_id,
            output_index=0,
            content_index=0,
            part=full_text,
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            sequence_number=0,
            output_index=0,
            item=_message(message_id, reply, "completed"),
        ),
        ResponseCompletedEvent(
            type="response.completed", sequence_number=0, response=response(call_id, created, request, reply)
        ),
    ]
    for number, event in enumerate(events):
        event.sequence_number = number  # type: ignore[attr-defined]
        yield sse(dump(event), event=event.type)  # type: ignore[attr-defined]


# --- Models -------------------------------------------------------------------------------


def model_list(names: list[str], created: int) -> dict[str, object]:
    return {
        "object": "list",
        "data": [json.loads(dump(Model(id=n, created=created, object="model", owned_by=OWNER))) for n in names],
    }
