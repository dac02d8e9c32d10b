"""Build a deterministic JSON value that satisfies a JSON Schema (structured output).

There is no maintained library that *generates* an instance from a schema without randomness or a
large dependency (hypothesis-jsonschema), so this walks the schema subset that structured output allows
(OpenAI strict mode): `type` (also as a list), `properties`/`required`, `items`, `enum`/`const`,
`anyOf`/`oneOf`/`allOf`, `$ref` into `$defs`/`definitions`, length/item/number bounds and common
`format`s. Text fields carry the scripted reply, so structured answers are still marked as offline.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from typing import Any

# Property names whose value is "the answer" — they receive the full scripted reply.
ANSWER_FIELDS = frozenset(
    {
        "answer",
        "response",
        "text",
        "content",
        "message",
        "reply",
        "result",
        "summary",
        "output",
        "explanation",
        "sentence",
        "description",
        "body",
    }
)
# Property names of a heading: they receive the reply's first words (so a title reads like one).
TITLE_FIELDS = frozenset({"title", "headline", "subject", "heading"})
TITLE_WORDS = 8
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "offline-model@example.com",
    "uri": "https://example.com/offline-model",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}
_MAX_DEPTH = 12


class SchemaError(ValueError):
    """The schema cannot be satisfied by this generator (reported to the caller as HTTP 400)."""


class InstanceBuilder:
    def __init__(self, root: dict[str, Any], reply: str, seed: str) -> None:
        self.root = root
        self.reply = reply
        self.seed = seed
        self._answer_used = False
        self._answer_path: str | None = None  # where the reply goes, once an object names an answer field

    def _index(self, path: str, modulo: int) -> int:
        """A stable pseudo-random index for the value at `path`."""
        digest = hashlib.sha256(f"{self.seed}/{path}".encode()).hexdigest()
        return int(digest[:8], 16) % max(modulo, 1)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        while isinstance(ref, str):
            if not ref.startswith("#/"):
                raise SchemaError(f"Only local $ref values are supported, got {ref!r}.")
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise SchemaError(f"$ref {ref!r} does not resolve inside the schema.")
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            ref = target.get("$ref") if isinstance(target, dict) else None
        return schema

    def build(self, schema: Any, path: str = "$", name: str = "", depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaError("The schema nests too deeply (or recursively) to build an example.")
        if schema is True or schema == {}:
            return self._string({}, path, name)
        if not isinstance(schema, dict):
            raise SchemaError(f"Schema at {path} must be an object.")
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][self._index(path, len(schema["enum"]))]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                # Prefer a non-null branch so optional fields still show a value.
                branch = next((o for o in options if not (isinstance(o, dict) and o.get("type") == "null")), options[0])
                return self.build(branch, path, name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part) if isinstance(part, dict) else {}
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = sorted({*merged.get("required", []), *part.get("required", [])})
                merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            return self.build(merged, path, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        builder = getattr(self, f"_{kind}", None)
        if builder is None:
            raise SchemaError(f"Unsupported type {kind!r} at {path}.")
        return builder(schema, path, name, depth) if kind in ("object", "array") else builder(schema, path, name)

    def _object(self, schema: dict[str, Any], path: str, name: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise SchemaError(f"'properties' at {path} must be an object.")
        if not self._answer_used and self._answer_path is None:
            # An answer-named property takes the reply even when another string property comes first.
            self._answer_path = next((f"{path}.{key}" for key in properties if key.lower() in ANSWER_FIELDS), None)
        value = {key: self.build(sub, f"{path}.{key}", key, depth + 1) for key, sub in properties.items()}
        for key in schema.get("required") or []:  # required but undeclared: any value will do
            value.setdefault(key, self.build({}, f"{path}.{key}", key, depth + 1))
        return value

    def _array(self, schema: dict[str, Any], path: str, name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 2)))
        if low > high:
            raise SchemaError(f"minItems > maxItems at {path}.")
        count = min(max(low, 2), high)
        items = schema.get("items", {})
        return [self.build(items, f"{path}[{i}]", name, depth + 1) for i in range(count)]

    def _string(self, schema: dict[str, Any], path: str, name: str) -> str:
        fmt = schema.get("format")
        if fmt == "uuid":
            value = str(uuid.UUID(hashlib.sha256(f"{self.seed}/{path}".encode()).hexdigest()[:32]))
        elif fmt in _FORMATS:
            value = _FORMATS[fmt]
        elif not self._answer_used and (
            path == self._answer_path
            or (self._answer_path is None and (name.lower() in ANSWER_FIELDS or path.count(".") <= 1))
        ):
            self._answer_used = True
            value = self.reply
        elif name.lower() in TITLE_FIELDS:
            words = self.reply.split()
            value = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
        else:
            label = name.replace("_", " ") or "value"
            value = f"offline {label} {self._index(path, 100)}"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if high is not None:
            value = value[: int(high)]
        if len(value) < low:
            value = value + "." * (low - len(value))
        return value

    def _integer(self, schema: dict[str, Any], path: str, name: str) -> int:
        if "minimum" in schema:
            low = math.ceil(schema["minimum"])
        elif "exclusiveMinimum" in schema:
            low = math.floor(schema["exclusiveMinimum"]) + 1
        else:
            low = 0
        if "maximum" in schema:
            high = math.floor(schema["maximum"])
        elif "exclusiveMaximum" in schema:
            high = math.ceil(schema["exclusiveMaximum"]) - 1
        else:
            high = low + 10
        if low > high:
            raise SchemaError(f"Empty integer range at {path}.")
        value = low + self._index(path, high - low + 1)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            value = -(-value // step) * step
            if value > high:
                value -= step
        return value

    def _number(self, schema: dict[str, Any], path: str, name: str) -> float:
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0.0)))
        high = float(schema.get("maximum", schema.get("exclusiveMaximum", low + 10.0)))
        if low > high:
            raise SchemaError(f"Empty number range at {path}.")
        fraction = (self._index(path, 999) + 1) / 1000  # strictly inside (low, high): safe for exclusive bounds
        return round(low + (high - low) * fraction, 3) if high > low else low

    def _boolean(self, schema: dict[str, Any], path: str, name: str) -> bool:
        return self._index(path, 2) == 1

    def _null(self, schema: dict[str, Any], path: str, name: str) -> None:
        return None


def instance_for_schema(schema: dict[str, Any], reply: str, seed: str) -> Any:
    """A JSON value valid against `schema`, derived only from (schema, reply, seed)."""
    return InstanceBuilder(schema, reply, seed).build(schema)
