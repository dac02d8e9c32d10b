"""The app's MCP server, as the Azure Functions MCP extension serves it, built on the official `mcp` SDK.

Endpoints (those of `func start` and of Azure, where they also need the `mcp_extension` system key):
  /runtime/webhooks/mcp            Streamable HTTP (POST messages; GET for the server's stream; DELETE ends a session)
  /runtime/webhooks/mcp/sse        the legacy SSE transport: GET opens the stream, whose first event names ...
  /runtime/webhooks/mcp/message    ... where the client POSTs its messages (`?session_id=`)

One MCP server for the whole app, as the extension has: every `mcpToolTrigger` function is a tool, every
`mcpResourceTrigger` a resource (a `{name}` in its URI makes it a resource template), every `mcpPromptTrigger`
a prompt. `initialize` answers with host.json `extensions.mcp` `serverName`, `serverVersion` and `instructions`
(defaults "Azure Functions MCP server" and "1.0.0", the extension's) and the tools, resources and prompts
capabilities, which the extension always announces.

A call runs the function with the extension's invocation context (mcp_triggers.py), its `durableClient`
binding if it has one, and returns what the function returned as the worker and extension convert it: a string
(or anything else, as `str()`) becomes one text content block; with `useResultSchema` the worker's JSON envelope
(`{"type", "content", "structuredContent"}`) becomes content blocks and structured content. A function that
raises gives a tool result with `isError: true` and the reason, and the session goes on. An unknown tool and a
missing required property are JSON-RPC errors (invalid params), as in the extension.

The protocol itself -- initialize, sessions, the `Mcp-Session-Id` header, notifications, batching and the
JSON-RPC errors for malformed input -- is the SDK's (`mcp.server.lowlevel.Server`,
`StreamableHTTPSessionManager`, `SseServerTransport`). Locally there are no keys, as under `func start`;
DNS-rebinding protection accepts loopback `Host`/`Origin` headers when the host listens on loopback.

The SDK is imported only when the app has MCP triggers: its protocol types take about two seconds to import,
which every other host start would pay for nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .mcp_triggers import (
    SSE_TRANSPORT,
    STREAMABLE_TRANSPORT,
    TRIGGER_KINDS,
    McpFunction,
    invocation_context,
    missing_required,
    tool_input_schema,
)
from .settings import read_host_json

if TYPE_CHECKING:
    from .runtime import HostRuntime

MCP_PATH = "/runtime/webhooks/mcp"
SSE_PATH = f"{MCP_PATH}/sse"
MESSAGE_PATH = f"{MCP_PATH}/message"
DEFAULT_SERVER_NAME = "Azure Functions MCP server"  # McpOptions defaults in the extension
DEFAULT_SERVER_VERSION = "1.0.0"
LOOPBACK_BINDS = ("127.0.0.1", "localhost", "::1")
INVALID_PARAMS = -32602  # JSON-RPC


@dataclass(frozen=True)
class McpOptions:
    """host.json `extensions.mcp` (keys in any case, as the Functions host binds options)."""

    server_name: str = DEFAULT_SERVER_NAME
    server_version: str = DEFAULT_SERVER_VERSION
    instructions: str | None = None


def load_options(app_dir: Path) -> McpOptions:
    extensions = read_host_json(app_dir).get("extensions") or {}
    section = next((v for k, v in extensions.items() if str(k).lower() == "mcp"), None) or {}
    keys = {str(k).lower(): v for k, v in section.items()} if isinstance(section, dict) else {}
    instructions = keys.get("instructions")
    return McpOptions(
        server_name=str(keys.get("servername") or DEFAULT_SERVER_NAME),
        server_version=str(keys.get("serverversion") or DEFAULT_SERVER_VERSION),
        instructions=None if instructions is None else str(instructions),
    )


class McpHost:
    """The MCP server of one host: the SDK's server with handlers over the app's MCP functions, and its routes."""

    def __init__(self, host: HostRuntime, *, bind_host: str = "127.0.0.1") -> None:
        from mcp.server.lowlevel import Server
        from mcp.server.sse import SseServerTransport
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
        from mcp.server.transport_security import TransportSecuritySettings

        self.host = host
        self.options = load_options(host.app_dir)
        self.tools = {f.name: f for f in host.registry.mcp_functions if f.kind == "tool"}
        self.prompts = {f.name: f for f in host.registry.mcp_functions if f.kind == "prompt"}
        self.resources = [f for f in host.registry.mcp_functions if f.kind == "resource"]
        self.server: Any = Server(
            self.options.server_name,
            version=self.options.server_version,
            instructions=self.options.instructions,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )
        security = None
        if bind_host in LOOPBACK_BINDS:
            security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
            )
        else:
            security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
        self.sessions = StreamableHTTPSessionManager(app=self.server, security_settings=security)
        self.sse = SseServerTransport(MESSAGE_PATH, security_settings=security)
        # The SDK reports every session it opens at INFO; the host log keeps to the app's own lines.
        if not host.logger.isEnabledFor(logging.DEBUG):
            logging.getLogger("mcp").setLevel(logging.WARNING)

    # ---------------------------------------------------------------------------------------------- routes

    def routes(self) -> list[Route]:
        streamable = _AsgiEndpoint(self.sessions.handle_request)
        return [
            Route(MCP_PATH, streamable, methods=["GET", "POST", "DELETE"]),
            Route(MCP_PATH + "/", streamable, methods=["GET", "POST", "DELETE"]),
            Route(SSE_PATH, _AsgiEndpoint(self._sse_stream), methods=["GET"]),
            Route(MESSAGE_PATH, _AsgiEndpoint(self.sse.handle_post_message), methods=["POST"]),
        ]

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Runs the Streamable HTTP session manager for the host's lifetime (its task group holds the sessions)."""
        async with self.sessions.run():
            yield

    async def _sse_stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with self.sse.connect_sse(scope, receive, send) as (read_stream, write_stream):
                await self.server.run(read_stream, write_stream, self.server.create_initialization_options())
        except ValueError:
            return  # the transport refused the request (Host/Origin check) and has answered it already

    # -------------------------------------------------------------------------------------------- handlers

    async def _list_tools(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=name,
                    description=function.description,
                    input_schema=tool_input_schema(function),
                    _meta=function.metadata(),
                )
                for name, function in self.tools.items()
            ]
        )

    async def _call_tool(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        function = self.tools.get(params.name)
        if function is None:
            raise _invalid_params(f"Unknown tool: '{params.name}'")
        missing = missing_required(function, params.arguments)
        if missing:
            raise _invalid_params(
                f"One or more required tool properties are missing values. Please provide: {', '.join(missing)}"
            )
        try:
            value = await self._invoke(function, ctx, arguments=params.arguments or {}, reason="MCP tool call")
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=f"An error occurred invoking '{params.name}': {reason}")],
                is_error=True,
            )
        return tool_result(function, value)

    async def _list_resources(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        return types.ListResourcesResult(
            resources=[types.Resource(**_resource_fields(f)) for f in self.resources if "{" not in f.name]
        )

    async def _list_resource_templates(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        templates = []
        for function in self.resources:
            if "{" in function.name:
                fields = _resource_fields(function)
                fields["uri_template"] = fields.pop("uri")
                fields.pop("size", None)
                templates.append(types.ResourceTemplate(**fields))
        return types.ListResourceTemplatesResult(resource_templates=templates)

    async def _read_resource(self, ctx: Any, params: Any) -> Any:
        uri = str(params.uri)
        function = next((f for f in self.resources if _uri_matches(f.name, uri)), None)
        if function is None:
            raise _invalid_params(f"Unknown resource: '{uri}'")
        value = await self._invoke(function, ctx, uri=uri, reason="MCP resource read")
        return resource_result(function, uri, value)

    async def _list_prompts(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        prompts = []
        for name, function in self.prompts.items():
            arguments = [
                types.PromptArgument(
                    name=str(a.get("name")), description=a.get("description"), required=bool(a.get("required"))
                )
                for a in function.prompt_arguments()
            ]
            prompts.append(
                types.Prompt(
                    name=name, title=function.attribute("title"), description=function.description, arguments=arguments
                )
            )
        return types.ListPromptsResult(prompts=prompts)

    async def _get_prompt(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        function = self.prompts.get(params.name)
        if function is None:
            raise _invalid_params(f"Unknown prompt: '{params.name}'")
        missing = missing_required(function, params.arguments)
        if missing:
            raise _invalid_params(
                f"One or more required prompt arguments are missing values. Please provide: {', '.join(missing)}"
            )
        value = await self._invoke(function, ctx, arguments=params.arguments or {}, reason="MCP prompt request")
        if value is None:
            return types.GetPromptResult(messages=[])
        text = _as_text(worker_encoded(function, value))
        return types.GetPromptResult(
            description=function.description,
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
        )

    # ------------------------------------------------------------------------------------------- invoking

    async def _invoke(
        self,
        function: McpFunction,
        ctx: Any,
        *,
        arguments: Mapping[str, Any] | None = None,
        uri: str | None = None,
        reason: str,
    ) -> Any:
        """Run the function with its trigger value and bindings; log it as the host logs every invocation."""
        request: Request | None = ctx.request if isinstance(ctx.request, Request) else None
        headers = {key: ", ".join(request.headers.getlist(key)) for key in request.headers} if request else {}
        if request is not None and request.url.path.rstrip("/").endswith("/message"):
            transport, session_id = SSE_TRANSPORT, request.query_params.get("session_id")
        else:
            transport, session_id = STREAMABLE_TRANSPORT, headers.get("mcp-session-id")
        client = ctx.session.client_params.client_info if ctx.session.client_params else None
        trigger_value = invocation_context(
            function,
            arguments=arguments,
            session_id=session_id,
            client_info=client.model_dump(by_alias=True, mode="json", exclude_none=True) if client else None,
            transport=transport,
            headers=headers,
            uri=uri,
        )
        kwargs: dict[str, Any] = {function.trigger_param: worker_decoded(function, trigger_value)}
        if function.durable_client_param:
            if request is None:
                raise RuntimeError("a durableClient binding needs the HTTP request the MCP message came in")
            kwargs[function.durable_client_param] = self.host.urls_for(request).client_binding_json()
        if "context" in function.extra_params:
            from .http_functions import InvocationContext

            kwargs["context"] = InvocationContext(function.function_name, str(self.host.app_dir))
        invocation_id = uuid.uuid4()
        logger = self.host.logger
        logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.function_name, reason, invocation_id)
        started = time.perf_counter()
        try:
            value = await self.host.runner.call(function.handler, **kwargs)
        except (Exception, SystemExit) as error:
            logger.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)\n%s",
                function.function_name,
                invocation_id,
                (time.perf_counter() - started) * 1000,
                traceback.format_exc().rstrip(),
            )
            if isinstance(error, SystemExit):
                raise RuntimeError(f"the function called sys.exit({error.code})") from None
            raise
        logger.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)",
            function.function_name,
            invocation_id,
            (time.perf_counter() - started) * 1000,
        )
        return value


# ------------------------------------------------------------------------------------------ result conversion


def tool_result(function: McpFunction, value: Any) -> Any:
    """What the function returned, as the tool result the client gets (worker encoding, then extension binder)."""
    from mcp import types

    text = _as_text(worker_encoded(function, value))
    if not function.use_result_schema:
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])
    # The worker's envelope: {"type": <content type | call_tool_result | multi_content_result>, "content": <JSON>,
    # "structuredContent": <JSON or null>} (azure.functions' @app.mcp_tool wrapper writes it).
    envelope = json.loads(text)
    kind = str(envelope.get("type") or "").lower()
    content = envelope.get("content")
    if kind == "call_tool_result":
        return types.CallToolResult.model_validate_json(content)
    blocks = json.loads(content) if isinstance(content, str) else content
    if kind != "multi_content_result":
        blocks = [blocks]
    structured = envelope.get("structuredContent")
    if isinstance(structured, str):
        structured = json.loads(structured)
    if not blocks:
        raise ValueError("No content items were produced from the tool's result")
    return types.CallToolResult.model_validate({"content": blocks, "structuredContent": structured})


def resource_result(function: McpFunction, uri: str, value: Any) -> Any:
    from mcp import types

    mime_type = function.attribute("mimetype")
    value = worker_encoded(function, value)
    if value is None:
        return types.ReadResourceResult(contents=[])
    if isinstance(value, (bytes, bytearray)):
        blob = base64.b64encode(bytes(value)).decode("ascii")
        return types.ReadResourceResult(contents=[types.BlobResourceContents(uri=uri, mime_type=mime_type, blob=blob)])
    text = value if isinstance(value, str) else str(value)
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime_type, text=text)])


def worker_decoded(function: McpFunction, context_json: str) -> Any:
    """The trigger value as the Python worker passes it: through `azure.functions`' converter for the trigger
    type (tools and resources get the JSON string, prompts a `func.PromptInvocationContext`)."""
    converter = _converter(function)
    if converter is None:
        return context_json
    return converter.decode(_meta().Datum(value=context_json, type="string"), trigger_metadata={})


def worker_encoded(function: McpFunction, value: Any) -> Any:
    """The return value as the worker hands it to the extension: the same converter's `encode` (strings as they
    are, `mcp` SDK results as JSON, anything else `str()`); a string or bytes."""
    converter = _converter(function)
    if converter is None or value is None:
        return value
    return converter.encode(value).value


def _converter(function: McpFunction) -> Any:
    binding = next(name for name, kind in TRIGGER_KINDS.items() if kind == function.kind)
    return _meta().get_binding_registry().get(binding)


def _meta() -> Any:
    import azure.functions.meta

    return azure.functions.meta


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _resource_fields(function: McpFunction) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "uri": function.name,
        "name": str(function.attribute("resourcename", function.function_name)),
        "title": function.attribute("title"),
        "description": function.description,
        "mime_type": function.attribute("mimetype"),
    }
    if function.attribute("size") is not None:
        fields["size"] = int(function.attribute("size"))
    return fields


def _uri_matches(template: str, uri: str) -> bool:
    if "{" not in template:
        return template == uri
    pattern = "".join(
        "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", template)
    )
    return re.fullmatch(pattern, uri) is not None


def _invalid_params(message: str) -> Exception:
    from mcp.shared.exceptions import MCPError

    return MCPError(INVALID_PARAMS, message)


class _AsgiEndpoint:
    """An ASGI callable Starlette's Route mounts as-is (a class instance, not a request/response function)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
