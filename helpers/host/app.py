"""The Starlette application of the embedded host: admin endpoints, the durable API and the app's HTTP triggers.

URL space (as under `func start`):
  /admin/host/status                     readiness: {"state": "Running", ...}
  /admin/functions                       the function index (name, trigger, route/url) for listings
  /admin/instances/{id}/history          an instance's history as the orchestrator is fed it (replay_history.py)
  /admin/openapi.json                    an OpenAPI description of all of this, the app's routes included (openapi.py)
  /runtime/webhooks/durabletask/...      the Durable Functions HTTP API (durable_api.py)
  /runtime/webhooks/mcp[/sse|/message]   the app's MCP server, when it has MCP triggers (mcp_server.py)
  /<routePrefix>/<route>                 the app's HTTP-triggered functions
"""

from __future__ import annotations

import contextlib
import re
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import durable_api, log_writer, openapi
from .durable_urls import WEBHOOK_PATH
from .errors import HttpError, error_response, read_body
from .http_functions import build_http_request, invoke_http_function, to_response
from .mcp_server import MCP_PATH, McpHost
from .replay_history import stored_history
from .runtime import HostRuntime, host_of

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]


async def host_status(request: Request) -> Response:
    host = host_of(request)
    log_writer.flush()  # as for the Durable API's reads: every line logged so far is in the log when this answers
    return JSONResponse(
        {
            "state": "Running",
            "functionCount": len(host.registry.all_functions),
            "routePrefix": host.config.route_prefix,
            "taskHub": host.config.hub_name,
            "durableEngine": host.engine is not None,
        }
    )


async def list_functions(request: Request) -> Response:
    host = host_of(request)
    origin = str(request.base_url).rstrip("/")
    http = {f.function_name: f for f in host.registry.http_functions}
    rows = []
    for info in host.registry.all_functions:
        row: dict[str, object] = {"name": info.name, "trigger": info.trigger}
        if info.name in http:
            function = http[info.name]
            row.update(
                route=function.route,
                methods=sorted(function.methods) or ["*"],
                url=host.public_url(origin, function),
            )
        else:
            row["detail"] = info.detail
        if info.disabled:
            row["disabled"] = True  # AzureWebJobs.<function>.Disabled: listed, not served or run
        rows.append(row)
    return JSONResponse(rows)


async def openapi_document(request: Request) -> Response:
    host = host_of(request)
    return JSONResponse(openapi.document(host.registry.http_functions, host.config.route_prefix))


async def http_trigger(request: Request) -> Response:
    """Find the HTTP function for the path and method, call it, and never let its failure escape as a crash."""
    host = host_of(request)
    relative = _strip_prefix(request.url.path, host.config.route_prefix)
    match = host.router.match(request.method, relative) if relative is not None else None
    if match is None:
        raise HttpError(404, f"No function handles {request.method} {request.url.path}")
    if match.target is None:
        # The Functions host answers 404 when the route exists but not for this method (it routes on method and
        # path together); the JSON reason is the embedded host's addition, so the mistake is easy to spot.
        allowed = ", ".join(sorted(match.allowed_methods))
        raise HttpError(404, f"No function handles {request.method} {request.url.path}; this route accepts {allowed}")

    function = match.target
    body = await read_body(request, host.max_body_bytes)
    http_request = build_http_request(
        request.method, _original_url(request), request.headers, request.query_params, match.route_params, body
    )
    invocation_id = uuid.uuid4()
    host.logger.info("Executing 'Functions.%s' (Id=%s)", function.function_name, invocation_id)
    started = time.perf_counter()
    try:
        result = await invoke_http_function(
            function,
            http_request,
            runner=host.runner,
            durable_urls=host.urls_for(request),
            function_directory=str(host.app_dir),
        )
        response = to_response(result)
    except (Exception, SystemExit) as error:
        elapsed = (time.perf_counter() - started) * 1000
        host.logger.error(
            "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)\n%s",
            function.function_name,
            invocation_id,
            elapsed,
            traceback.format_exc().rstrip(),
        )
        return error_response(
            500,
            f"Exception while executing function: Functions.{function.function_name}",
            exception=f"{type(error).__name__}: {error}",
            invocationId=str(invocation_id),
        )
    elapsed = (time.perf_counter() - started) * 1000
    host.logger.info(
        "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", function.function_name, invocation_id, elapsed
    )
    return response


def _original_url(request: Request) -> str:
    """The URL as the client sent it: Starlette's `request.url` would show the percent-decoded path."""
    raw_path = request.scope.get("raw_path")
    if not raw_path:
        return str(request.url)
    query = request.scope.get("query_string", b"")
    origin = str(request.base_url).rstrip("/")
    return origin + raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def _strip_prefix(path: str, prefix: str) -> str | None:
    """The path below the route prefix (case-insensitive), or None when it is outside it."""
    if not prefix:
        return path.lstrip("/")
    head = f"/{prefix}".lower()
    lowered = path.lower()
    if lowered == head or lowered == head + "/":
        return ""
    if lowered.startswith(head + "/"):
        return path[len(head) + 1 :]
    return None


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HttpError)
    return error_response(error.status, error.message, **error.extra)


async def _starlette_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = "Not found" if error.status_code == 404 else error.detail
    return error_response(error.status_code, f"{message}: {request.method} {request.url.path}")


async def _unexpected_error(request: Request, error: Exception) -> Response:
    host_of(request).logger.error(
        "Unhandled error for %s %s\n%s",
        request.method,
        request.url.path,
        "".join(traceback.format_exception(error)).rstrip(),
    )
    return error_response(500, f"Internal host error: {type(error).__name__}: {error}")


_ENCODED_SLASH = re.compile(r"(%2[fF])")


class KeepEncodedSlashes:
    """Route on the path as ASP.NET Core (the Functions host) decodes it: everything but `%2F`, which stays the
    text `%2F` inside its segment. uvicorn decodes it to `/`, which split an id or key in two: `GET
    .../instances/%2F` answered the instance list, and an app asking its durable client for the status of such an
    id got that list back and failed with a 500 (found by the kit's generated requests, tests/fuzz)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path") if scope["type"] == "http" else None
        if raw_path and b"%2f" in raw_path.lower():
            parts = _ENCODED_SLASH.split(raw_path.decode("latin-1"))
            path = "".join(part if _ENCODED_SLASH.fullmatch(part) else unquote(part) for part in parts)
            scope = {**scope, "path": path}
        await self.app(scope, receive, send)


async def no_mcp_server(request: Request) -> Response:
    raise HttpError(
        404, f"No MCP server at {request.url.path}: this app declares no MCP tool, resource or prompt trigger"
    )


def create_app(host: HostRuntime, *, bind_host: str = "127.0.0.1") -> Starlette:
    # The MCP server exists only for apps with MCP triggers (importing the SDK costs seconds; see mcp_server.py).
    mcp = McpHost(host, bind_host=bind_host) if host.registry.mcp_functions else None
    mcp_routes = mcp.routes() if mcp else [Route(MCP_PATH + "{rest:path}", no_mcp_server, methods=ALL_METHODS)]
    routes = [
        Route("/admin/host/status", host_status, methods=["GET"]),
        Route("/admin/functions", list_functions, methods=["GET"]),
        Route("/admin/instances/{instance_id}/history", stored_history, methods=["GET"]),
        Route("/admin/openapi.json", openapi_document, methods=["GET"]),
        Mount(WEBHOOK_PATH, routes=durable_api.ROUTES),
        *mcp_routes,
        # Every method reaches the dispatcher; the function's own method list decides (404 otherwise, as in func).
        Route("/{path:path}", http_trigger, methods=ALL_METHODS),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Start-up work (import, store) happened before the port was bound; here only the orderly end:
        # uvicorn runs this after in-flight requests finished (or the graceful timeout passed).
        async with mcp.run() if mcp else contextlib.nullcontext():
            yield
        await host.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(KeepEncodedSlashes)],
        exception_handlers={
            HttpError: _http_error,
            HTTPException: _starlette_error,
            Exception: _unexpected_error,
        },
    )
    app.state.host = host
    return app
