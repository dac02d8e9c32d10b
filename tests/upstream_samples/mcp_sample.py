"""The MCP sample (08_mcp_server), driven as its README says: it has no demo.http.

- the README's curl commands, sent as written (to the host instead of localhost:7071): each agent's HTTP run
  answers with text, and the health check answers exactly the JSON the README shows;
- StockAdvisor has no HTTP endpoint (the README's note), so its run route is not found;
- an MCP client, the official `mcp` SDK over both transports `func start` serves (Streamable HTTP at
  /runtime/webhooks/mcp, SSE at /runtime/webhooks/mcp/sse), lists exactly the agents with an MCP tool trigger
  (StockAdvisor and PlantAdvisor; Joker is HTTP only) and calls each: the agent answers through the tool.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .replay import LOCAL_BASE

MCP_PATH = "/runtime/webhooks/mcp"
TRANSPORTS = ("streamable-http", "sse")
MCP_TOOLS = {"StockAdvisor", "PlantAdvisor"}
HTTP_ONLY_FOR_MCP = "StockAdvisor"
FENCED = re.compile(r"```(?P<language>\w*)\n(?P<code>.*?)```", re.DOTALL)


@dataclass
class Curl:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def readme_curls(readme: str) -> list[Curl]:
    """The curl commands of the README's bash blocks (comments dropped, continued lines joined)."""
    commands = []
    for block in FENCED.finditer(readme):
        if block["language"] != "bash":
            continue
        code = "\n".join(line for line in block["code"].splitlines() if not line.lstrip().startswith("#"))
        for line in code.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if not words or words[0] != "curl":
                continue
            curl = Curl("GET", "")
            options = iter(words[1:])
            for word in options:
                if word == "-X":
                    curl.method = next(options)
                elif word == "-H":
                    name, _, value = next(options).partition(":")
                    curl.headers[name.strip()] = value.strip()
                elif word in ("-d", "--data"):
                    curl.body = next(options)
                    curl.method = curl.method if "-X" in words else "POST"
                elif not word.startswith("-"):
                    curl.url = word
            commands.append(curl)
    return commands


def readme_health(readme: str) -> dict[str, Any]:
    """The health check answer the README shows (its JSON block with `agents`)."""
    for block in FENCED.finditer(readme):
        if block["language"] == "json":
            document = json.loads(block["code"])
            if "agents" in document:
                return document
    raise AssertionError("the README shows no health check answer")


def drive(sample: Path, base_url: str) -> list[str]:
    readme = (sample / "README.md").read_text(encoding="utf-8")
    curls = readme_curls(readme)
    assert curls, "the README has no curl command"
    log = []
    with httpx.Client(timeout=120) as http:
        for curl in curls:
            url = curl.url.replace(LOCAL_BASE, base_url)
            response = http.request(curl.method, url, headers=curl.headers, content=curl.body)
            where = f"{curl.method} {url.removeprefix(base_url)}"
            assert response.status_code == 200, f"{where}: HTTP {response.status_code} {response.text[:500]}"
            if url.endswith("/api/health"):
                assert response.json() == readme_health(readme), f"{where}: {response.text}"
                log.append(f"{where} -> 200, the README's health answer")
            else:
                answer = response.json()
                assert answer.get("status") == "success" and answer.get("response", "").strip(), answer
                log.append(f"{where} -> 200; the agent answered {answer['response'][:60]!r}")
        run = f"/api/agents/{HTTP_ONLY_FOR_MCP}/run"
        response = http.post(base_url + run, json={"message": "What does ACME trade at?"})
        assert response.status_code == 404, f"{run}: HTTP {response.status_code} {response.text[:300]}"
        log.append(f"POST {run} -> 404: {HTTP_ONLY_FOR_MCP} has no HTTP endpoint")
    for transport in TRANSPORTS:
        log += asyncio.run(check_tools(base_url + MCP_PATH, transport))
    return log


async def check_tools(endpoint: str, transport: str) -> list[str]:
    from mcp import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client

    connect = sse_client(endpoint + "/sse") if transport == "sse" else streamable_http_client(endpoint)
    log = []
    async with connect as (read_stream, write_stream), ClientSession(read_stream, write_stream) as session:
        await session.initialize()
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert tools == MCP_TOOLS, f"{transport}: tools {sorted(tools)}, expected {sorted(MCP_TOOLS)} (no Joker)"
        log.append(f"MCP over {transport}: tools {sorted(tools)}")
        for tool in sorted(tools):
            result = await session.call_tool(tool, {"query": "One suggestion, please."})
            text = "".join(block.text for block in result.content if block.type == "text")
            assert not result.is_error and text.strip(), f"{transport}: {tool} answered {result}"
            log.append(f"MCP over {transport}: {tool} answered {text[:60]!r}")
    return log
