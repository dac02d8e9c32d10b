"""`context.call_http(...)`: one outgoing HTTP request, made the way the Durable extension's built-in HTTP
activity (`BuiltIn::HttpActivity`, TaskHttpActivityShim) makes it, with the answer as a `DurableHttpResponse`.

What the orchestrator gets back is the extension's `DurableHttpResponse` as JSON -- `{"statusCode": int,
"headers": {name: value or [values]}, "content": str}` -- so `yield context.call_http(...)` returns that dict.
Request rules follow the shim: a `Content-Type` header sets the content type (default `text/plain` when there is
content; multipart is refused), every other header is sent as given, and a `token_source` adds
`Authorization: Bearer <token>` from `DefaultAzureCredential` (azure-identity, as the extension's
ManagedIdentityTokenSource does). Response headers are the response's own headers: .NET keeps content headers
(Content-Type, Content-Length, ...) apart, and the extension copies only the others.

One request per call, no polling: an answer `202 Accepted` with a `Location` header comes back to the
orchestrator as it is. The extension would poll only if the request said `asynchronousPatternEnabled`, and the
Python SDK does not send it (azure-functions-durable-python issue #380), so on Azure a Python orchestrator
sees the 202 too and polls itself if it wants to.

Failures fail the task, as on Azure, so an orchestrator can catch them: an unreachable target fails with the
transport error, a request that outlives the client timeout (240 s, the extension's HttpClient timeout) fails
with a timeout message, and a token that cannot be had fails with the reason.

The request runs on the user-code event loop (UserCodeRunner), never on the engine's loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_TIMEOUT_SECONDS = 240.0

# Headers .NET files under HttpContent.Headers; the extension's DurableHttpResponse leaves them out.
_CONTENT_HEADERS = frozenset(
    {
        "allow",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "expires",
        "last-modified",
    }
)
# ManagedIdentityTokenSource turns these two resources into scopes; anything else is passed as given.
_SCOPE_FOR_RESOURCE = {
    "https://management.core.windows.net": "https://management.core.windows.net/.default",
    "https://management.core.windows.net/": "https://management.core.windows.net/.default",
    "https://graph.microsoft.com": "https://graph.microsoft.com/.default",
    "https://graph.microsoft.com/": "https://graph.microsoft.com/.default",
}


class HttpCallFailed(Exception):
    """The durable HTTP task fails: `reason` becomes TaskFailed.Reason, `details` its Details."""

    def __init__(self, reason: str, details: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def request_from_action(action: dict[str, Any]) -> str:
    """The scheduled task's input: the action's `httpRequest`, as the extension serialises activity input."""
    return json.dumps([action.get("httpRequest") or {}])


class HttpCaller:
    """Performs call_http requests; one shared httpx client, created on and used from the user-code loop."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def perform(self, input_json: str | None) -> str:
        """Send the request; return the DurableHttpResponse JSON text or raise HttpCallFailed."""
        request = _parse_request(input_json)
        method = str(request.get("method") or "GET").upper()
        uri = request.get("uri")
        parts = urlsplit(uri) if isinstance(uri, str) else None
        if not isinstance(uri, str) or parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise HttpCallFailed(f"Invalid URI for call_http: {uri!r}; an absolute http(s) URI is required.")
        headers, content_type = _request_headers(request.get("headers"))
        content = request.get("content")
        body: bytes | None = None
        if content is not None:
            body = str(content).encode("utf-8")
            headers.append(("Content-Type", content_type or "text/plain"))
        token_source = request.get("tokenSource")
        if token_source:
            token = await _bearer_token(token_source)
            headers.append(("Authorization", f"Bearer {token}"))
        client = self._client_for_loop()
        try:
            response = await client.request(method, uri, headers=headers, content=body)
        except httpx.TimeoutException as error:
            raise HttpCallFailed(
                f"The request was canceled due to the configured HttpClient.Timeout of {self.timeout:g} seconds "
                f"elapsing. ({method} {uri})",
                f"{type(error).__name__}: {error}",
            ) from None
        except httpx.HTTPError as error:
            target = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
            raise HttpCallFailed(
                f"{error or type(error).__name__} ({target})", f"HttpRequestException: {type(error).__name__}: {error}"
            ) from None
        return json.dumps(
            {"statusCode": response.status_code, "headers": _response_headers(response), "content": response.text}
        )

    def _client_for_loop(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _parse_request(input_json: str | None) -> dict[str, Any]:
    try:
        value = json.loads(input_json or "null")
    except ValueError:
        value = None
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    if isinstance(value, dict):
        return value
    raise HttpCallFailed(f"call_http received a request it cannot read: {input_json!r}")


def _request_headers(raw: Any) -> tuple[list[tuple[str, str]], str | None]:
    headers: list[tuple[str, str]] = []
    content_type = None
    for name, value in (raw or {}).items():
        values = value if isinstance(value, list) else [value]
        if str(name).lower() == "content-type":
            for item in values:
                if "multipart" in str(item):
                    raise HttpCallFailed("Multipart content is not supported with CallHttpAsync.")
                content_type = str(item)
            continue
        headers.extend((str(name), str(item)) for item in values)
    return headers, content_type


def _response_headers(response: httpx.Response) -> dict[str, Any]:
    grouped: dict[str, list[str]] = {}
    for raw_name, raw_value in response.headers.raw:  # names as they came on the wire
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in _CONTENT_HEADERS:
            continue
        key = next((k for k in grouped if k.lower() == name.lower()), name)
        grouped.setdefault(key, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


async def _bearer_token(token_source: dict[str, Any]) -> str:
    kind = token_source.get("kind")
    if kind != "AzureManagedIdentity":
        raise HttpCallFailed(f"The token source kind {json.dumps(kind)} is not supported.")
    resource = str(token_source.get("resource") or "")
    scope = _SCOPE_FOR_RESOURCE.get(resource, resource)

    def fetch() -> str:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
        try:
            return credential.get_token(scope).token
        finally:
            credential.close()

    try:
        return await asyncio.to_thread(fetch)
    except Exception as error:
        raise HttpCallFailed(
            f"call_http could not get a token for {resource!r}: this machine has no managed identity, and no "
            "other credential DefaultAzureCredential tries (az login, AZURE_* environment variables, ...) "
            "worked. On Azure the function app's managed identity supplies it.",
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
        ) from None
