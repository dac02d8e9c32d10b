"""Turn a Chat Completions or Responses request body into one neutral `ModelRequest`.

Both APIs carry the same three things the reply depends on — the instructions, the turns of the
conversation and an optional output schema — in different shapes. Normalising them here keeps reply
composition independent of the wire format, so the two APIs answer the same conversation identically.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["chat.completions", "responses"]

INSTRUCTION_ROLES = frozenset({"system", "developer"})
TURN_ROLES = frozenset({"user", "assistant", "tool", "function"})


class BadRequest(Exception):
    """The request body is not something an OpenAI-compatible server would accept (HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


@dataclass(frozen=True)
class Conversation:
    """Everything the reply may depend on; `fingerprint` is what makes replies deterministic."""

    instructions: str
    turns: tuple[Turn, ...]

    @property
    def user_turns(self) -> int:
        return sum(1 for turn in self.turns if turn.role == "user")

    @property
    def last_user_text(self) -> str:
        for turn in reversed(self.turns):
            if turn.role == "user":
                return turn.text
        return ""

    def assistant_texts(self) -> list[str]:
        return [turn.text for turn in self.turns if turn.role == "assistant"]

    def fingerprint(self, extra: Any = None) -> str:
        canonical = json.dumps(
            {"instructions": self.instructions, "turns": [[t.role, t.text] for t in self.turns], "extra": extra},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def extended(self, reply: str) -> Conversation:
        """The conversation after the model answered — what `previous_response_id` refers to."""
        return Conversation(self.instructions, self.turns + (Turn("assistant", reply),))


@dataclass(frozen=True)
class OutputFormat:
    """What shape the answer must take: plain text, any JSON object, or an object valid against a schema."""

    kind: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict[str, Any] | None = None
    name: str | None = None


@dataclass(frozen=True)
class ModelRequest:
    api: Api
    model: str
    stream: bool
    include_usage: bool
    conversation: Conversation
    input_messages: int
    output_format: OutputFormat = field(default_factory=OutputFormat)
    previous_response_id: str | None = None


def content_text(content: Any) -> str:
    """Text of a message `content`: a string, or a list of parts (`text`, `input_text`, `output_text`...)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
        return "\n".join(texts)
    raise BadRequest("Message content must be a string or a list of content parts.", "content")


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _model_name(body: dict[str, Any], fallback: str | None) -> str:
    model = body.get("model", fallback)
    if model is None:
        raise BadRequest("Missing required parameter: 'model'.", "model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' must be a non-empty string.", "model")
    return model


def _stream_flag(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean.", "stream")
    return stream


def _schema_format(fmt: Any, param: str) -> OutputFormat:
    """Read `{type: json_schema, schema|json_schema: {...}}`, `{type: json_object}` or `{type: text}`."""
    if fmt is None:
        return OutputFormat()
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise BadRequest(f"'{param}' must be an object with a 'type'.", param)
    kind = fmt["type"]
    if kind == "text":
        return OutputFormat()
    if kind == "json_object":
        return OutputFormat(kind="json_object")
    if kind == "json_schema":
        # Chat Completions nests the schema under `json_schema`; Responses puts it on the format itself.
        holder = fmt.get("json_schema", fmt)
        schema = holder.get("schema") if isinstance(holder, dict) else None
        if not isinstance(schema, dict):
            raise BadRequest(f"'{param}' of type json_schema needs a JSON Schema object under 'schema'.", param)
        return OutputFormat(kind="json_schema", schema=schema, name=holder.get("name"))
    raise BadRequest(f"Unsupported {param} type {kind!r}; use text, json_object or json_schema.", param)


def parse_chat_request(body: Any, deployment: str | None = None) -> ModelRequest:
    """Chat Completions: `messages` with system/developer/user/assistant/tool roles."""
    body = _require_object(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array.", "messages")
    instructions: list[str] = []
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{index}] must be an object with a string 'role'.", f"messages[{index}]")
        role = message["role"]
        text = content_text(message.get("content"))
        if role in INSTRUCTION_ROLES:
            instructions.append(text)
        elif role in TURN_ROLES:
            turns.append(Turn("tool" if role == "function" else role, text))
        else:
            raise BadRequest(f"messages[{index}].role {role!r} is not a known role.", f"messages[{index}].role")
    stream_options = body.get("stream_options") or {}
    return ModelRequest(
        api="chat.completions",
        model=_model_name(body, deployment),
        stream=_stream_flag(body),
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        conversation=Conversation("\n".join(instructions), tuple(turns)),
        input_messages=len(messages),
        output_format=_schema_format(body.get("response_format"), "response_format"),
    )


def _response_item_turn(item: Any, index: int) -> tuple[str | None, Turn | None]:
    """One Responses `input` item → (instruction text, turn); items without text (reasoning...) give neither."""
    if not isinstance(item, dict):
        raise BadRequest(f"input[{index}] must be an object.", f"input[{index}]")
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if not isinstance(role, str):
            raise BadRequest(f"input[{index}] is a message without a string 'role'.", f"input[{index}].role")
        text = content_text(item.get("content"))
        if role in INSTRUCTION_ROLES:
            return text, None
        if role in TURN_ROLES:
            return None, Turn(role, text)
        raise BadRequest(f"input[{index}].role {role!r} is not a known role.", f"input[{index}].role")
    if kind == "function_call_output":
        output = item.get("output")
        return None, Turn("tool", output if isinstance(output, str) else json.dumps(output))
    return None, None


def parse_responses_request(body: Any, history: Callable[[str], Conversation | None] | None = None) -> ModelRequest:
    """Responses API: `input` (string or items), `instructions`, optional `previous_response_id`.

    With `previous_response_id` the earlier conversation is looked up through `history`, as the real
    service keeps it server-side (a non-durable Agent session on the Responses API relies on this).
    """
    body = _require_object(body)
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        items: list[Any] = [{"type": "message", "role": "user", "content": raw_input}]
    elif isinstance(raw_input, list):
        items = raw_input
    else:
        raise BadRequest("'input' must be a string or an array of input items.", "input")
    instructions = body.get("instructions") or ""
    if not isinstance(instructions, str):
        raise BadRequest("'instructions' must be a string.", "instructions")
    extra_instructions: list[str] = []
    turns: list[Turn] = []
    previous_id = body.get("previous_response_id")
    if previous_id is not None:
        earlier = history(previous_id) if (history and isinstance(previous_id, str)) else None
        if earlier is None:
            raise BadRequest(f"Previous response with id '{previous_id}' not found.", "previous_response_id")
        turns.extend(earlier.turns)
    for index, item in enumerate(items):
        instruction, turn = _response_item_turn(item, index)
        if instruction is not None:
            extra_instructions.append(instruction)
        if turn is not None:
            turns.append(turn)
    text_config = body.get("text") or {}
    if not isinstance(text_config, dict):
        raise BadRequest("'text' must be an object.", "text")
    return ModelRequest(
        api="responses",
        model=_model_name(body, None),
        stream=_stream_flag(body),
        include_usage=True,
        conversation=Conversation("\n".join([instructions, *extra_instructions]).strip(), tuple(turns)),
        input_messages=len(items),
        output_format=_schema_format(text_config.get("format"), "text.format"),
        previous_response_id=previous_id,
    )
