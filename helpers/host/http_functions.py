"""Calling an HTTP-triggered function the way the Python worker does, and turning its result into a response.

The user function receives keyword arguments only: the trigger parameter gets a `func.HttpRequest`, a
`durableClient` binding gets the binding *JSON string* (the SDK's decorator turns it into a
`DurableOrchestrationClient`), and a parameter named `context` that is no binding gets a `func.Context`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response

from .durable_urls import DurableUrls
from .registry import HttpFunction
from .user_code import UserCodeRunner


@dataclass
class InvocationContext(func.Context):
    """The `func.Context` the real worker injects into a parameter named `context`."""

    _function_name: str
    _function_directory: str
    _invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _local: threading.local = field(default_factory=threading.local)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:  # type: ignore[override]  # the SDK's annotation says the class
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> None:  # type: ignore[override]  # no distributed tracing locally
        return None

    @property
    def retry_context(self) -> None:  # type: ignore[override]  # no retry policies on HTTP triggers locally
        return None


def build_http_request(
    method: str, url: str, headers: Headers, query: QueryParams, route_params: Mapping[str, str], body: bytes
) -> func.HttpRequest:
    """Repeated headers / query keys are joined with commas, as ASP.NET presents them to the worker."""
    joined_headers = {key: ", ".join(headers.getlist(key)) for key in headers.keys()}
    joined_query = {key: ",".join(query.getlist(key)) for key in query.keys()}
    return func.HttpRequest(
        method.upper(), url, headers=joined_headers, params=joined_query, route_params=dict(route_params), body=body
    )


async def invoke_http_function(
    function: HttpFunction,
    request: func.HttpRequest,
    *,
    runner: UserCodeRunner,
    durable_urls: DurableUrls,
    function_directory: str,
) -> Any:
    """Call the user function with its bindings; exceptions propagate to the caller (who answers 500)."""
    kwargs: dict[str, Any] = {function.trigger_param: request}
    if function.durable_client_param:
        kwargs[function.durable_client_param] = durable_urls.client_binding_json()
    if "context" in function.extra_params:
        kwargs["context"] = InvocationContext(function.function_name, function_directory)
    return await runner.call(function.handler, **kwargs)


def to_response(result: Any) -> Response:
    """func.HttpResponse passes through; plain values become 200 responses like the worker's `$return`."""
    if isinstance(result, func.HttpResponse):
        headers = {key: value for key, value in result.headers.items()}
        if not any(key.lower() == "content-type" for key in headers):
            mimetype = result.mimetype or "text/plain"
            charset = result.charset or "utf-8"
            text_like = mimetype.startswith("text/") or mimetype in ("application/json", "application/xml")
            headers["Content-Type"] = f"{mimetype}; charset={charset}" if text_like else mimetype
        return Response(result.get_body() or b"", status_code=result.status_code, headers=headers)
    if result is None:
        return Response(status_code=204)
    if isinstance(result, (bytes, bytearray)):
        return Response(bytes(result), media_type="application/octet-stream")
    if isinstance(result, str):
        return Response(result, media_type="text/plain")
    return Response(json.dumps(result, default=str), media_type="application/json")
