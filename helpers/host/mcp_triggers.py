"""MCP tool, resource and prompt triggers: what the Functions MCP extension reads from them and hands them.

The Azure Functions MCP extension (Azure/azure-functions-mcp-extension) turns every function with an
`mcpToolTrigger` into an MCP tool, every `mcpResourceTrigger` into a resource and every `mcpPromptTrigger` into a
prompt of one MCP server per app. This module holds the parts that do not depend on the protocol library:

- `McpFunction`: one such function as the registry indexes it (name, description, schema, how to call it);
- `tool_input_schema`: the JSON schema `tools/list` shows, built from the trigger's `toolProperties` exactly as the
  extension's `PropertyBasedToolInputSchema` writes it (`type`, `description`, `items` for arrays, `enum`, and a
  `required` list that is always present);
- `invocation_context`: the JSON string the function receives, in the extension's `ToolInvocationContext` shape:
  `{"name", "arguments", "sessionid", "clientinfo", "transport": {"name", "sessionId", "properties": {"headers"}}}`
  (null members left out, as its serializer does). `agent_framework_azurefunctions` parses exactly this in its
  `mcptool-<Agent>` function, and `azure.functions`' `@app.mcp_tool()` wrapper reads `arguments` from it;
- `missing_required`: the extension refuses a call that lacks a required property before the function runs.

What a function returns becomes the tool result the way the Python worker encodes it (`azure.functions.mcp`'s
converter) and the extension's return-value binders read it: `mcp_server.py` does that with the SDK's types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

McpKind = Literal["tool", "resource", "prompt"]

TRIGGER_KINDS: dict[str, McpKind] = {
    "mcpToolTrigger": "tool",
    "mcpResourceTrigger": "resource",
    "mcpPromptTrigger": "prompt",
}

# The transport names the extension puts in the context (`McpConstants.McpTransportName` values).
STREAMABLE_TRANSPORT = "http-streamable"
SSE_TRANSPORT = "http-sse"


@dataclass(frozen=True)
class McpFunction:
    """A function with an MCP trigger, and the trigger's attributes (keys lower-cased, as the extension binds
    host.json and function metadata case-insensitively)."""

    kind: McpKind
    function_name: str
    handler: Callable[..., Any]
    trigger_param: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    durable_client_param: str | None = None
    extra_params: tuple[str, ...] = ()

    def attribute(self, name: str, default: Any = None) -> Any:
        value = self.attributes.get(name.lower())
        return default if value is None else value

    @property
    def name(self) -> str:
        """The tool's or prompt's name, or the resource's URI: what clients address it by."""
        key = {"tool": "toolname", "resource": "uri", "prompt": "promptname"}[self.kind]
        return str(self.attribute(key, self.function_name))

    @property
    def description(self) -> str | None:
        value = self.attribute("description")
        return None if value is None else str(value)

    @property
    def use_result_schema(self) -> bool:
        return bool(self.attribute("useresultschema", False))

    def metadata(self) -> dict[str, Any] | None:
        """The trigger's `metadata` JSON (shown as the tool's `_meta`), or None."""
        return _json_object(self.attribute("metadata"), f"{self.function_name}: metadata")

    def tool_properties(self) -> list[dict[str, Any]]:
        """The trigger's `toolProperties`: a JSON list of {propertyName, propertyType, description, isRequired,
        isArray, enumValues?}. A list that is not JSON is a start-up error, as it is for the extension."""
        raw = self.attribute("toolproperties")
        if raw is None or raw == "":
            return []
        try:
            properties = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise ValueError(f"{self.function_name}: toolProperties is not valid JSON: {error}") from None
        if not isinstance(properties, list) or not all(isinstance(p, dict) for p in properties):
            raise ValueError(f"{self.function_name}: toolProperties must be a JSON list of objects")
        return [{str(k).lower(): v for k, v in p.items()} for p in properties]

    def prompt_arguments(self) -> list[dict[str, Any]]:
        raw = self.attribute("promptarguments")
        if raw is None or raw == "":
            return []
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as error:
            raise ValueError(f"{self.function_name}: promptArguments is not valid JSON: {error}") from None
        if not isinstance(arguments, list):
            raise ValueError(f"{self.function_name}: promptArguments must be a JSON list")
        return [{str(k).lower(): v for k, v in a.items()} for a in arguments if isinstance(a, dict)]


def tool_input_schema(function: McpFunction) -> dict[str, Any]:
    """The input schema `tools/list` shows: the trigger's `inputSchema` when it has one (`useWorkerInputSchema`),
    otherwise one built from `toolProperties` as the extension builds it."""
    declared = _json_object(function.attribute("inputschema"), f"{function.function_name}: inputSchema")
    if declared is not None:
        return declared
    properties: dict[str, Any] = {}
    required: list[str] = []
    for prop in function.tool_properties():
        name = str(prop.get("propertyname") or "").strip()
        if not name:
            continue
        typed: dict[str, Any] = {"type": str(prop.get("propertytype") or "string")}
        if prop.get("enumvalues"):
            typed["enum"] = [str(value) for value in prop["enumvalues"]]
        entry = {"type": "array", "items": typed} if prop.get("isarray") else dict(typed)
        entry["description"] = str(prop.get("description") or "")
        properties[name] = entry
        if prop.get("isrequired") and name not in required:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def missing_required(function: McpFunction, arguments: Mapping[str, Any] | None) -> list[str]:
    """Required tool properties (or prompt arguments) the call did not give a value for."""
    given = arguments or {}
    if function.kind == "prompt":
        wanted = [str(a.get("name")) for a in function.prompt_arguments() if a.get("required")]
    else:
        schema = tool_input_schema(function)
        wanted = [str(name) for name in schema.get("required") or []]
    return [name for name in wanted if given.get(name) is None]


def invocation_context(
    function: McpFunction,
    *,
    arguments: Mapping[str, Any] | None,
    session_id: str | None,
    client_info: Mapping[str, Any] | None,
    transport: str,
    headers: Mapping[str, str],
    uri: str | None = None,
) -> str:
    """The trigger value the function receives: a JSON string in the extension's invocation-context shape."""
    transport_info: dict[str, Any] = {"name": transport}
    if session_id is not None:
        transport_info["sessionId"] = session_id
    transport_info["properties"] = {"headers": dict(headers)}
    context: dict[str, Any] = {"uri": uri} if function.kind == "resource" else {"name": function.name}
    if function.kind != "resource" and arguments is not None:
        context["arguments"] = dict(arguments)
    if session_id is not None:
        context["sessionid"] = session_id
    if client_info is not None:
        context["clientinfo"] = dict(client_info)
    context["transport"] = transport_info
    return json.dumps(context)


def _json_object(raw: Any, what: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value
