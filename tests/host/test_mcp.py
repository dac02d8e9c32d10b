"""MCP triggers on the embedded host, checked with the official `mcp` client over both transports.

One host runs tests/apps/mcp_agents (durable agents as MCP tools, plain tools, a resource, a prompt) against
the offline model. Every protocol test runs twice: Streamable HTTP at /runtime/webhooks/mcp and the legacy SSE
transport at /runtime/webhooks/mcp/sse, as MCP clients reach an app under `func start`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from helpers import processes
from helpers.offline_settings import offline_host_env
from tests.conftest import HOST_APPS

pytestmark = pytest.mark.timeout(120)

TRANSPORTS = ["streamable-http", "sse"]
INVALID_PARAMS = -32602


@dataclass
class McpApp:
    host: Any
    model: Any

    @property
    def endpoint(self) -> str:
        return f"{self.host.url}/runtime/webhooks/mcp"


@pytest.fixture(scope="module")
def mcp_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpApp]:
    workdir = tmp_path_factory.mktemp("mcp")
    model = processes.start_offline_model(log_path=workdir / "model.log")
    try:
        host = processes.start_host(
            HOST_APPS / "mcp_agents",
            state_db=workdir / "state.db",
            env=offline_host_env(model.url),
            log_path=workdir / "host.log",
            timeout=60,
        )
        try:
            yield McpApp(host, model)
        finally:
            host.stop()
    finally:
        model.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def mcp_session(app: McpApp, transport: str) -> AsyncIterator[Any]:
    """An initialized `ClientSession` of the official SDK over `transport`, and the initialize result."""
    from mcp import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client

    connect = sse_client(app.endpoint + "/sse") if transport == "sse" else streamable_http_client(app.endpoint)
    async with connect as (read_stream, write_stream), ClientSession(read_stream, write_stream) as session:
        session.initialized = await session.initialize()
        yield session


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def entity_state(app: McpApp, agent: str, key: str) -> dict[str, Any]:
    url = f"{app.host.url}/runtime/webhooks/durabletask/entities/dafx-{agent}/{key}"
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_initialize_answers_with_host_json_server_info(mcp_app: McpApp, transport: str) -> None:
    async with mcp_session(mcp_app, transport) as session:
        init = session.initialized
    assert (init.server_info.name, init.server_info.version) == ("Kit test MCP server", "2.1.0")
    assert init.instructions == "Agents and small tools for the kit's MCP tests."
    capabilities = init.capabilities
    assert capabilities.tools is not None and capabilities.resources is not None and capabilities.prompts is not None


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_list_shows_every_tool_trigger_with_its_schema(mcp_app: McpApp, transport: str) -> None:
    async with mcp_session(mcp_app, transport) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    # Joker has no MCP tool trigger; StockAdvisor and PlantAdvisor have one each.
    assert set(tools) == {"StockAdvisor", "PlantAdvisor", "echo", "fail", "show_context"}
    assert tools["PlantAdvisor"].description == "Get plant recommendations."
    assert tools["StockAdvisor"].description == "Interact with StockAdvisor agent"
    agent_schema = tools["StockAdvisor"].input_schema
    assert agent_schema["type"] == "object" and agent_schema["required"] == ["query"]
    assert agent_schema["properties"]["sessionId"] == {
        "type": "string",
        "description": "Optional session identifier for conversation continuity.",
    }
    echo = tools["echo"]
    assert echo.description == "Echo the text, `times` times."
    assert echo.input_schema == {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "What to echo back."},
            "times": {"type": "integer", "description": ""},
        },
        "required": ["text"],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_tool_call_runs_the_function_with_the_extensions_context(mcp_app: McpApp, transport: str) -> None:
    async with mcp_session(mcp_app, transport) as session:
        echoed = await session.call_tool("echo", {"text": "hi", "times": 3})
        seen = json.loads(text_of(await session.call_tool("show_context", {"note": "look"})))
    assert not echoed.is_error and text_of(echoed) == "hi hi hi"
    assert seen["name"] == "show_context" and seen["arguments"] == {"note": "look"}
    assert seen["clientinfo"]["name"] == "mcp"  # the SDK client's own name, from initialize
    expected_transport = "http-sse" if transport == "sse" else "http-streamable"
    assert seen["transport"]["name"] == expected_transport
    assert seen["sessionid"] and seen["transport"]["sessionId"] == seen["sessionid"]
    assert "host" in {name.lower() for name in seen["transport"]["properties"]["headers"]}


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_raising_tool_is_a_tool_error_and_the_session_goes_on(mcp_app: McpApp, transport: str) -> None:
    async with mcp_session(mcp_app, transport) as session:
        failed = await session.call_tool("fail", {"reason": "on purpose"})
        after = await session.call_tool("echo", {"text": "still here"})
    assert failed.is_error is True
    assert "ValueError: fail was asked to fail: on purpose" in text_of(failed)
    assert text_of(after) == "still here" and not after.is_error


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_tools_and_missing_properties_are_invalid_params(mcp_app: McpApp, transport: str) -> None:
    from mcp.shared.exceptions import MCPError

    async with mcp_session(mcp_app, transport) as session:
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("no_such_tool", {})
        with pytest.raises(MCPError) as missing:
            await session.call_tool("StockAdvisor", {"sessionId": "x"})
        assert text_of(await session.call_tool("echo", {"text": "ok"})) == "ok"
    assert unknown.value.code == INVALID_PARAMS and "Unknown tool: 'no_such_tool'" in unknown.value.message
    assert missing.value.code == INVALID_PARAMS and "Please provide: query" in missing.value.message


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_agent_tool_runs_the_durable_agent_and_its_session_continues(mcp_app: McpApp, transport: str) -> None:
    key = f"mcp-{transport}-{uuid.uuid4().hex[:8]}"
    async with mcp_session(mcp_app, transport) as session:
        first = await session.call_tool("StockAdvisor", {"query": "How is ACME doing?", "sessionId": key})
        after_first = entity_state(mcp_app, "StockAdvisor", key)
        second = await session.call_tool("StockAdvisor", {"query": "And tomorrow?", "sessionId": key})
    assert not first.is_error and not second.is_error
    assert text_of(first).startswith("[offline model")
    history = entity_state(mcp_app, "StockAdvisor", key)["data"]["conversationHistory"]
    assert len(after_first["data"]["conversationHistory"]) == 2 and len(history) == 4
    assert [entry["$type"] for entry in history] == ["request", "response", "request", "response"]
    answers = [entry["messages"][0]["contents"][0]["text"] for entry in history if entry["$type"] == "response"]
    assert answers == [text_of(first), text_of(second)]
    # The offline model numbers its turns from the conversation it was sent: the second call saw the first.
    assert "turn 2" in text_of(second)


@pytest.mark.anyio
async def test_an_agent_with_both_triggers_shares_its_session_between_http_and_mcp(mcp_app: McpApp) -> None:
    key = f"both-{uuid.uuid4().hex[:8]}"
    async with mcp_session(mcp_app, "streamable-http") as session:
        await session.call_tool("PlantAdvisor", {"query": "A plant for a dark room?", "sessionId": key})
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{mcp_app.host.url}/api/agents/PlantAdvisor/run",
            json={"message": "And for a sunny one?", "session_id": key},
        )
        stock_http = await http.post(f"{mcp_app.host.url}/api/agents/StockAdvisor/run", json={"message": "hi"})
    assert response.status_code == 200, response.text
    assert len(entity_state(mcp_app, "PlantAdvisor", key)["data"]["conversationHistory"]) == 4
    assert stock_http.status_code == 404  # StockAdvisor is reachable as a tool only


@pytest.mark.anyio
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_resources_and_prompts_are_served(mcp_app: McpApp, transport: str) -> None:
    async with mcp_session(mcp_app, transport) as session:
        resources = (await session.list_resources()).resources
        read = await session.read_resource("kit://readme")
        prompts = (await session.list_prompts()).prompts
        prompt = await session.get_prompt("haiku", {"topic": "durable timers"})
    assert [(str(r.uri), r.name, r.mime_type) for r in resources] == [("kit://readme", "readme", "text/plain")]
    assert read.contents[0].text == "The kit serves MCP tools, resources and prompts."
    assert [(p.name, [(a.name, a.required) for a in p.arguments or []]) for p in prompts] == [
        ("haiku", [("topic", True)])
    ]
    assert (
        prompt.messages[0].role == "user" and prompt.messages[0].content.text == "Write a haiku about durable timers."
    )


def test_bad_json_rpc_gets_a_json_rpc_error_and_the_host_stays_up(mcp_app: McpApp) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with httpx.Client(timeout=10) as http:
        not_json = http.post(mcp_app.endpoint, content=b"{not json", headers=headers)
        not_rpc = http.post(mcp_app.endpoint, json={"hello": "world"}, headers=headers)
        sse_without_session = http.post(mcp_app.endpoint + "/message", content=b"{}", headers=headers)
        sse_unknown_session = http.post(
            mcp_app.endpoint + "/message", params={"session_id": uuid.uuid4().hex}, content=b"{}", headers=headers
        )
        status = http.get(f"{mcp_app.host.url}/admin/host/status")
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == -32700  # parse error
    assert not_rpc.status_code == 400 and not_rpc.json()["error"]["code"] in (-32600, -32602)
    assert sse_without_session.status_code == 400 and sse_unknown_session.status_code == 404
    assert status.json()["state"] == "Running" and mcp_app.host.running


@pytest.mark.anyio
async def test_garbage_on_an_open_sse_session_leaves_it_usable(mcp_app: McpApp) -> None:
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    session_ids: list[str] = []
    async with (
        sse_client(mcp_app.endpoint + "/sse", on_session_created=session_ids.append) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        async with httpx.AsyncClient(timeout=10) as http:
            garbage = await http.post(
                mcp_app.endpoint + "/message", params={"session_id": session_ids[0]}, content=b"{not json"
            )
        echoed = await session.call_tool("echo", {"text": "after garbage"})
    assert garbage.status_code == 400
    assert text_of(echoed) == "after garbage"


# ------------------------------------------------------------------ conversions, without a host (same worker: the
# mcp SDK is imported once for the module)


def _tool(attributes: dict[str, Any]) -> Any:
    from helpers.host.mcp_triggers import McpFunction

    return McpFunction("tool", "fn", print, "context", {k.lower(): v for k, v in attributes.items()})


def test_input_schema_is_built_as_the_extension_builds_it() -> None:
    from helpers.host.mcp_triggers import missing_required, tool_input_schema

    properties = [
        {"propertyName": "tags", "propertyType": "string", "description": "Tags.", "isArray": True},
        {"propertyName": "size", "propertyType": "string", "isRequired": True, "enumValues": ["S", "M"]},
    ]
    tool = _tool({"toolName": "t", "toolProperties": json.dumps(properties)})
    assert tool_input_schema(tool) == {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags."},
            "size": {"type": "string", "enum": ["S", "M"], "description": ""},
        },
        "required": ["size"],
    }
    assert tool_input_schema(_tool({"toolName": "t"})) == {"type": "object", "properties": {}, "required": []}
    assert missing_required(tool, {"tags": ["a"]}) == ["size"] and missing_required(tool, {"size": "S"}) == []


def test_results_are_converted_as_the_worker_and_the_extension_do() -> None:
    from mcp import types

    from helpers.host.mcp_server import tool_result

    plain = _tool({"toolName": "t"})
    assert tool_result(plain, "hi").content[0].text == "hi"
    assert tool_result(plain, None).content[0].text == ""
    assert tool_result(plain, {"a": 1}).content[0].text == "{'a': 1}"  # the worker's str(), as on Azure
    schema = _tool({"toolName": "t", "useResultSchema": True})
    envelope = {
        "type": "text",
        "content": json.dumps({"type": "text", "text": '{"city": "Oslo"}'}),
        "structuredContent": '{"city": "Oslo"}',
    }
    converted = tool_result(schema, json.dumps(envelope))
    assert converted.content[0].text == '{"city": "Oslo"}' and converted.structured_content == {"city": "Oslo"}
    whole = types.CallToolResult(content=[types.TextContent(type="text", text="x")], is_error=True)
    passthrough = {
        "type": "call_tool_result",
        "content": whole.model_dump_json(by_alias=True),
        "structuredContent": None,
    }
    assert tool_result(schema, json.dumps(passthrough)).is_error is True


def test_host_json_names_the_server_and_the_defaults_are_the_extensions(tmp_path) -> None:
    from helpers.host.mcp_server import McpOptions, load_options

    assert load_options(tmp_path) == McpOptions("Azure Functions MCP server", "1.0.0", None)
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"MCP": {"SERVERNAME": "x", "instructions": "y"}}}))
    assert load_options(tmp_path) == McpOptions("x", "1.0.0", "y")
