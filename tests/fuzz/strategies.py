"""What the fuzzer sends: Hypothesis strategies for requests the schema does not describe.

Schemathesis draws requests from the host's OpenAPI description (harness.py); these cover the rest: any method
on any path of the host (odd characters, percent-encoded or not), query strings of any text, bodies of any JSON
or bytes -- empty, deeply nested, or past the 8 MiB limit -- and the model gateway's routes, which forward to the
offline model (chat-completion-shaped JSON with wrong types in every field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from hypothesis import strategies as st

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
ODD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# Ids and names that have broken hosts before: entity-id syntax, separators, dots, escapes, control characters,
# non-ASCII, the 256-character limit and past it.
ODD_IDS = [
    "@counter@key",
    "@",
    "a/b",
    "a\\b",
    "a#b",
    "a?b",
    ".",
    "..",
    "%",
    "%2F",
    "%00",
    "\x00",
    "\t",
    " ",
    "ü-ñ-漢字-😀",
    "\u202e",
    "x" * 256,
    "x" * 257,
    "x" * 5000,
    "null",
    "true",
    "0",
    "-1",
    "'; DROP TABLE instances; --",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ODD_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ODD_TEXT, children, max_size=4),
    max_leaves=12,
)
MAX_BODY = 8 * 1024 * 1024
# Rare but essential bodies: exactly at and just past the limit, nesting that Python's json cannot parse,
# JSON in encodings json.loads detects (UTF-16 and UTF-32), non-finite numbers Python's json accepts.
SPECIAL_BODIES = [
    b"",
    b" ",
    b"null",
    b"{" * 1,
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
    '{"x": "\u00fc"}'.encode("utf-16"),
    '"text"'.encode("utf-32"),
    b"NaN",
    b"Infinity",
    b"[1e400]",
    b'"\\ud800"',
    b"\xff\xfe\x00",
    b"x" * (MAX_BODY + 1),
]
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    JSON_VALUES.map(lambda value: json.dumps(json.dumps(value)).encode()),  # the SDK's JSON-in-a-string
    st.sampled_from(SPECIAL_BODIES),
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "text/plain", "application/octet-stream", "x/y;;"]
)


@dataclass
class RawRequest:
    method: str
    path: str  # already percent-encoded where needed: sent as it is
    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        body = self.body if len(self.body) <= 120 else self.body[:120] + b"...(%d bytes)" % len(self.body)
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''} {body!r} {self.headers}"


def encoded(text: str, raw: bool) -> str:
    """A path segment: percent-encoded (what clients send), or with only what HTTP cannot carry encoded."""
    return quote(text, safe="" if not raw else "!$&'()*+,;=:@-._~")


def any_of(items: list[str]) -> st.SearchStrategy[str]:
    """One of `items`, a list that grows during the run (ids of instances the requests started): Hypothesis needs
    each draw to look the same from run to run, which `sampled_from` of a changing list does not."""
    return st.integers(0, 2**16).map(lambda index: items[index % len(items)])


@st.composite
def path_segments(draw: st.DrawFn, ids: st.SearchStrategy[str]) -> str:
    segments = draw(st.lists(ODD_TEXT | ids, min_size=0, max_size=4))
    raw = draw(st.booleans())
    return "/".join(encoded(segment, raw) for segment in segments)


# Query parameters the host reads, and values that have broken parsers before: not-a-number, infinities, past
# 64-bit, negative, empty, control characters, times that are not times.
QUERY_KEYS = [
    "timeout",
    "pollingInterval",
    "top",
    "showHistory",
    "showHistoryOutput",
    "showInput",
    "returnInternalServerErrorOnFailure",
    "restartWithNewInstanceId",
    "createdTimeFrom",
    "createdTimeTo",
    "runtimeStatus",
    "instanceIdPrefix",
    "reason",
    "op",
    "version",
    "fetchState",
    "taskHub",
    "limit",
]
SPECIAL_VALUES = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "-1",
    "-0",
    "0",
    "1",
    "0.5",
    "99999999999999999999999",
    "2147483648",
    "9" * 5000,  # past the digits int() converts
    "",
    " ",
    "true",
    "TRUE",
    "yes",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00",
    "2026-13-45T25:61:00",
    "\x00",
    "Running,Completed,Nope",
    ",,,",
    "default",
    "other-hub",
]
QUERY_VALUES = st.sampled_from(SPECIAL_VALUES) | ODD_TEXT
QUERIES = st.one_of(
    st.just(""),
    st.lists(st.tuples(st.sampled_from(QUERY_KEYS) | ODD_TEXT, QUERY_VALUES), max_size=4).map(
        lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    ),
    st.sampled_from(["%ff=%fe", "a=" + "x" * 5000, "&&&", "=", "timeout=1&timeout=nan"]),
)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # an OpenAPI path, e.g. /runtime/webhooks/durabletask/instances/{instanceId}


def routes_of(document: dict) -> list[Route]:
    return [
        Route(method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    ]


ODD_SEGMENTS = ODD_TEXT | st.sampled_from(ODD_IDS)


def filled(draw: st.DrawFn, template: str, names: st.SearchStrategy[str], ids: st.SearchStrategy[str]) -> str:
    """The route's path with every parameter drawn: real names and instance ids often, odd text otherwise."""
    raw = draw(st.integers(0, 4)) == 0

    def value(match: re.Match[str]) -> str:
        parameter = match.group(1).lower()
        if parameter == "name":
            text = draw(names | ODD_SEGMENTS)
        elif parameter in ("instanceid", "key"):
            text = draw(ids | ODD_TEXT)
        else:
            text = draw(ODD_SEGMENTS)
        return encoded(text, raw) or "x"

    return re.sub(r"\{([^}]+)\}", value, template)


ANY_METHOD = st.sampled_from(METHODS) | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)
PREFIXES = [
    "/runtime/webhooks/durabletask/instances/",
    "/runtime/webhooks/durabletask/orchestrators/",
    "/runtime/webhooks/durabletask/entities/",
    "/runtime/webhooks/durabletask/",
    "/admin/",
    "/api/",
    "/",
]


@st.composite
def host_requests(
    draw: st.DrawFn, routes: st.SearchStrategy[Route], names: st.SearchStrategy[str], ids: st.SearchStrategy[str]
) -> RawRequest:
    """Any method on any path of the host: mostly its documented routes, filled with real and odd values.
    The arguments are strategies built once per run: Hypothesis spends most of a draw building new ones."""
    if draw(st.integers(0, 4)) > 0:
        route = draw(routes)
        method = route.method if draw(st.integers(0, 4)) > 0 else draw(ANY_METHOD)
        path = filled(draw, route.template, names, ids)
    else:
        method = draw(ANY_METHOD)
        path = draw(st.sampled_from(PREFIXES)) + draw(path_segments(ids))
    headers = {}
    if (content_type := draw(CONTENT_TYPES)) is not None:
        headers["content-type"] = content_type
    return RawRequest(method, path, draw(QUERIES), draw(BODIES), headers)


def chat_bodies() -> st.SearchStrategy[bytes]:
    """Chat Completions and Responses requests with every field possibly of the wrong type."""
    role = st.sampled_from(["system", "user", "assistant", "tool", "developer"]) | ODD_TEXT
    content = st.one_of(ODD_TEXT, JSON_VALUES, st.lists(st.fixed_dictionaries({"type": ODD_TEXT, "text": ODD_TEXT})))
    message = st.fixed_dictionaries({"role": role, "content": content}, optional={"name": ODD_TEXT})
    body = st.fixed_dictionaries(
        {},
        optional={
            "model": ODD_TEXT | JSON_VALUES,
            "messages": st.lists(message, max_size=4) | JSON_VALUES,
            "input": ODD_TEXT | st.lists(message, max_size=3) | JSON_VALUES,
            "instructions": ODD_TEXT | JSON_VALUES,
            "stream": st.booleans() | JSON_VALUES,
            "response_format": st.one_of(
                JSON_VALUES,
                st.fixed_dictionaries({"type": st.sampled_from(["json_object", "text", "json_schema"])}),
                st.fixed_dictionaries(
                    {
                        "type": st.just("json_schema"),
                        "json_schema": st.fixed_dictionaries({"name": ODD_TEXT, "schema": JSON_VALUES}),
                    }
                ),
            ),
            "previous_response_id": ODD_TEXT | JSON_VALUES,
            "tools": JSON_VALUES,
            "max_tokens": JSON_VALUES,
        },
    )
    return body.map(lambda value: json.dumps(value).encode())


CHAT_BODIES = chat_bodies()
GATEWAY_SEGMENTS = path_segments(st.nothing()).map(lambda p: "/" + p)
GATEWAY_PATHS = [
    "/_gateway",
    "/_gateway/stats",
    "/_gateway/stats/reset",
    "/_gateway/faults",
    "/v1/chat/completions",
    "/chat/completions",
    "/openai/deployments/gpt-4o-mini/chat/completions",
    "/openai/v1/chat/completions",
    "/v1/responses",
    "/openai/v1/responses",
    "/responses",
    "/v1/models",
    "/openai/models",
    "/",
    "/stats",
    "/stats/reset",
    "/admin/faults",
    "/admin/latency",
]
KNOB_PATHS = ("/_gateway/faults", "/admin/faults", "/admin/latency")


@st.composite
def gateway_requests(draw: st.DrawFn) -> RawRequest:
    """The gateway's own routes and what it forwards to the offline model."""
    method = draw(st.sampled_from(["POST", "POST", "GET", *METHODS]))
    path = draw(
        st.sampled_from(GATEWAY_PATHS)
        | st.builds(lambda a, b: f"/openai/deployments/{a}/{b}", ODD_TEXT.map(quote), ODD_TEXT.map(quote))
        | GATEWAY_SEGMENTS
    )
    if path in KNOB_PATHS:
        body = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "fail_rate",
                        "fail_status",
                        "fail_first",
                        "fail_every",
                        "timeout_every",
                        "timeout_seconds",
                        "retry_after_seconds",
                        "seed",
                        "latency_ms",
                    ]
                )
                | ODD_TEXT,
                JSON_VALUES | st.sampled_from([1e308, -1, 0.5, 10**30]),
                max_size=3,
            ).map(lambda value: json.dumps(value).encode())
            | st.sampled_from(
                [b'{"timeout_seconds": Infinity}', b'{"retry_after_seconds": Infinity}', b'{"latency_ms": NaN}']
            )
            | BODIES
        )
    else:
        body = draw(CHAT_BODIES | BODIES)
    headers = {"content-type": draw(st.sampled_from(["application/json", "text/plain", "application/json"]))}
    if draw(st.booleans()):
        headers["api-key"] = draw(st.text("abcdef0123456789", max_size=40))
    if draw(st.integers(0, 9)) == 0:
        headers["x-offline-latency-ms"] = draw(
            st.sampled_from(["0", "5", "-1", "nan", "inf", "1e309", "abc", "600001"])
        )
    query = draw(st.sampled_from(["", "api-version=2024-10-21", "limit=abc", "limit=-1", "limit=99999999999999999999"]))
    return RawRequest(method, path, query, body, headers)
