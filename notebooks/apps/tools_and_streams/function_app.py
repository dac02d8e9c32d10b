"""Notebook 10: durable agents as MCP tools, and an agent's answer streamed reliably through Redis.

Agents (the kit's model client, so every lesson backend works):
- `PlantAdvisor`: an HTTP endpoint (`POST /api/agents/PlantAdvisor/run`) **and** an MCP tool, both reaching the
  same durable entity `dafx-PlantAdvisor`: a session started over MCP can be continued over HTTP.
- `StockAdvisor`: an MCP tool only (its HTTP endpoint is disabled), as in Agent Framework's MCP sample.
- `TravelPlanner`: an HTTP endpoint, with `RedisStreamCallback` (redis_streams.py) writing its answers to a Redis
  Stream while the model streams them.

The MCP server is the Functions MCP extension's: `/runtime/webhooks/mcp` (Streamable HTTP) and
`/runtime/webhooks/mcp/sse`, named by host.json `extensions.mcp`.

Route:
- `GET /api/agent/stream/{conversationId}?cursor=<entry id>` - the TravelPlanner answer's pieces after the cursor
  (all of them without one) as server-sent events: `id:` the entry id (the next cursor), `event: message` with
  the text, and `event: done` at the end. It waits up to `wait` seconds (default 10, at most 30) for the first
  piece, and answers 404 when none comes.
"""

import json
import re
import sys
from pathlib import Path

import azure.functions as func
from agent_framework import Agent
from agent_framework.azure import AgentFunctionApp
from redis_streams import RedisStreamCallback, read_after

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "functions_app"))
from model_client import chat_client_from_environment

MAX_WAIT_SECONDS = 30.0
CURSOR = re.compile(r"^\d{1,20}-\d{1,20}$")  # a Redis stream entry id

client = chat_client_from_environment()

app = AgentFunctionApp(enable_health_check=True, max_poll_retries=300, poll_interval_seconds=0.2)
app.add_agent(
    Agent(
        client=client,
        name="PlantAdvisor",
        instructions="You recommend plants. Answer in two or three sentences.",
        description="Recommends plants for a room, a balcony or a garden.",
    ),
    enable_http_endpoint=True,
    enable_mcp_tool_trigger=True,
)
app.add_agent(
    Agent(client=client, name="StockAdvisor", instructions="You explain stock market terms in one short paragraph."),
    enable_http_endpoint=False,
    enable_mcp_tool_trigger=True,
)
app.add_agent(
    Agent(
        client=client,
        name="TravelPlanner",
        instructions="You plan short trips. Give a day-by-day plan with one line per day.",
    ),
    callback=RedisStreamCallback(),
)


def _error(reason: str, status_code: int) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"error": reason}), status_code=status_code, mimetype="application/json")


@app.function_name("stream")
@app.route(route="agent/stream/{conversationId}", methods=["GET"])
async def stream(req: func.HttpRequest) -> func.HttpResponse:
    """Server-sent events of the stored answer after `cursor`: resume a dropped stream without a new model call."""
    conversation_id = (req.route_params.get("conversationId") or "").strip()
    cursor = req.params.get("cursor") or None
    if cursor is not None and not CURSOR.match(cursor):
        return _error(f"cursor must be a Redis stream entry id like 1712345678901-0, not {cursor!r}.", 400)
    try:
        wait = float(req.params.get("wait", "10"))
    except ValueError:
        return _error("wait must be a number of seconds.", 400)
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        return _error(f"wait must be between 0 and {MAX_WAIT_SECONDS:.0f} seconds.", 400)

    entries = await read_after(conversation_id, cursor, wait_seconds=wait)
    if entries is None:
        after = f" after {cursor}" if cursor else ""
        return _error(f"Nothing streamed for conversation {conversation_id!r}{after} within {wait:g} s.", 404)
    events = []
    for entry in entries:
        if entry.done:
            events.append(f"id: {entry.entry_id}\nevent: done\ndata: [DONE]\n\n")
        else:
            data = "".join(f"data: {line}\n" for line in entry.text.split("\n"))
            events.append(f"id: {entry.entry_id}\nevent: message\n{data}\n")
    return func.HttpResponse(
        "".join(events),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "x-conversation-id": conversation_id},
    )
