"""What a call record says about one model request and its answer, read from the bytes that pass through.

The gateway forwards requests and answers unchanged; these readers only look. They are tolerant on purpose:
a backend (or a newer client) may send shapes the kit has never seen, and a reader that cannot make sense
of a body leaves the record's fields empty instead of failing the call.

Request: how many messages the model was sent (the whole conversation, every time, for agent entities),
how many of them are user turns, the system instructions (to tell agents apart) and the agent's name when
the conversation carries it. Answer: the text (streamed deltas or a whole body), the model that answered,
token usage when the backend reports it, and the error message of a failed call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CHAT_API = "chat.completions"
RESPONSES_API = "responses"
REPLY_PREVIEW_CHARS = 80
ERROR_CHARS = 500


def api_of(path: str) -> str | None:
    """Which model API a request path is (`chat.completions`, `responses`), or None for anything else."""
    trimmed = path.rstrip("/")
    if trimmed.endswith("/chat/completions"):
        return CHAT_API
    if trimmed.endswith("/responses"):
        return RESPONSES_API
    return None


def route_of(path: str, api: str) -> str:
    """`azure.<api>` for Azure OpenAI paths (`/openai/...`), `openai.<api>` for OpenAI-style base URLs."""
    return ("azure." if path.startswith("/openai/") else "openai.") + api


@dataclass
class RequestSummary:
    model: str | None = None
    stream: bool = False
    structured: bool = False
    input_messages: int = 0
    user_turns: int = 0
    instructions: str = ""
    agent: str | None = None


def _text(content: Any) -> str:
    """Text of a message's content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("text"))
    return ""


def summarise_request(api: str, body: bytes) -> RequestSummary:
    """Read what the record needs from a chat-completions or responses request body."""
    summary = RequestSummary()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested past json's depth limit
        return summary
    if not isinstance(data, dict):
        return summary
    summary.model = data.get("model") if isinstance(data.get("model"), str) else None
    summary.stream = data.get("stream") is True
    if api == CHAT_API:
        raw_messages = data.get("messages")
        messages = [m for m in raw_messages if isinstance(m, dict)] if isinstance(raw_messages, list) else []
        summary.input_messages = len(messages)
        summary.user_turns = sum(1 for m in messages if m.get("role") == "user")
        summary.instructions = "\n".join(
            _text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
        )
        names = [m.get("name") for m in messages if m.get("role") == "assistant" and isinstance(m.get("name"), str)]
        summary.agent = names[0] if names else None
        fmt = data.get("response_format")
        summary.structured = isinstance(fmt, dict) and fmt.get("type") in ("json_schema", "json_object")
    else:
        items = data.get("input")
        items = [items] if isinstance(items, str) else [i for i in (items or []) if isinstance(i, dict)]
        summary.input_messages = len(items)
        summary.user_turns = sum(1 for i in items if isinstance(i, str) or i.get("role") == "user")
        instructions = data.get("instructions")
        summary.instructions = instructions if isinstance(instructions, str) else ""
        text_format = (data.get("text") or {}).get("format") if isinstance(data.get("text"), dict) else None
        summary.structured = isinstance(text_format, dict) and text_format.get("type") in ("json_schema", "json_object")
    return summary


@dataclass
class AnswerSummary:
    """What an answer said, filled in while its bytes pass through."""

    text_parts: list[str] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def read_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        if isinstance(prompt, int):
            self.prompt_tokens = prompt
        if isinstance(completion, int):
            self.completion_tokens = completion

    def read_chat(self, data: dict[str, Any]) -> None:
        """A chat completion, or one chunk of a streamed one."""
        if isinstance(data.get("model"), str) and data["model"]:
            self.model = data["model"]
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            part = choice.get("delta") or choice.get("message") or {}
            if isinstance(part, dict) and isinstance(part.get("content"), str):
                self.text_parts.append(part["content"])
        self.read_usage(data.get("usage"))

    def read_response(self, data: dict[str, Any]) -> None:
        """A Responses API body, or one streamed event."""
        kind = data.get("type")
        if kind == "response.output_text.delta" and isinstance(data.get("delta"), str):
            self.text_parts.append(data["delta"])
            return
        nested = data.get("response")
        response: dict[str, Any] = nested if isinstance(nested, dict) else data
        if isinstance(response.get("model"), str) and response["model"]:
            self.model = response["model"]
        self.read_usage(response.get("usage"))
        if kind is None:  # a whole (non-streamed) body carries its text in output[].content[]
            for item in response.get("output") or []:
                for content in (item.get("content") or []) if isinstance(item, dict) else []:
                    if isinstance(content, dict) and content.get("type") == "output_text":
                        self.text_parts.append(str(content.get("text", "")))


class AnswerReader:
    """Feed it the answer's bytes as they pass (streamed SSE or one JSON body); read `summary` after `close()`.

    `feed` only keeps the bytes: the gateway relays each chunk the moment it arrives, and reads the answer once
    the client has it all (`close()` runs after the stream's end was sent), so reading costs the call nothing.
    """

    def __init__(self, api: str, streamed: bool) -> None:
        self.api = api
        self.streamed = streamed
        self.summary = AnswerSummary()
        self._body: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        self._body.append(chunk)

    def close(self) -> None:
        body, self._body = b"".join(self._body), []
        if self.streamed:
            for line in body.split(b"\n"):
                self._read_event_line(line)
        else:
            self._read(body)

    def _read_event_line(self, line: bytes) -> None:
        line = line.strip()
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload and payload != b"[DONE]":
                self._read(payload)

    def _read(self, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested past json's depth limit
            return
        if isinstance(data, dict):
            (self.summary.read_chat if self.api == CHAT_API else self.summary.read_response)(data)


def error_message(body: bytes) -> str:
    """The message of an error answer: OpenAI's `{"error": {"message"}}`, Azure's variants, or the text."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested past json's depth limit
        return body.decode("utf-8", errors="replace").strip()[:ERROR_CHARS]
    if isinstance(data, dict):
        inner = data.get("error", data)
        if isinstance(inner, dict):
            message = inner.get("message") or inner.get("Message")
            code = inner.get("code") or inner.get("type")
            if message:
                return (f"{message} (code: {code})" if code else str(message))[:ERROR_CHARS]
        elif isinstance(inner, str):
            return inner[:ERROR_CHARS]
    return json.dumps(data)[:ERROR_CHARS]
