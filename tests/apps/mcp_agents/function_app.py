"""MCP conformance app: durable agents exposed as MCP tools, plus tools, a resource and a prompt written directly.

Agents, as in Agent Framework's MCP sample (`app.add_agent(..., enable_mcp_tool_trigger=True)`):
- `Joker`: HTTP only (the default), so it is no MCP tool;
- `StockAdvisor`: an MCP tool only (its HTTP endpoint is disabled);
- `PlantAdvisor`: both an MCP tool and `POST /api/agents/PlantAdvisor/run`.
A call to an agent's tool signals the agent's entity (`dafx-<Name>`) and waits for its answer; the `sessionId`
argument picks the session (the entity key), so a second call with it continues the same conversation.

Written with `azure.functions` directly:
- `echo` (`@app.mcp_tool()`, typed parameters become tool properties) and `fail` (always raises);
- `show_context` (`@app.mcp_tool_trigger`, raw): returns the invocation context it received, as JSON;
- `kit_readme` (`@app.mcp_resource_trigger`) and `haiku` (`@app.mcp_prompt_trigger`).

The agents use the kit's model client (`functions_app/model_client.py`), so tests point them at the offline model.
"""

import sys
from pathlib import Path

import azure.functions as func
from agent_framework import Agent
from agent_framework.azure import AgentFunctionApp

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "functions_app"))
from model_client import chat_client_from_environment

client = chat_client_from_environment()

# Short polls: the tests' offline model answers at once (the default waits 1 s before the first look).
app = AgentFunctionApp(enable_health_check=True, poll_interval_seconds=0.1, max_poll_retries=300)
app.add_agent(Agent(client=client, name="Joker", instructions="You are good at telling jokes."))
app.add_agent(
    Agent(client=client, name="StockAdvisor", instructions="Check stock prices."),
    enable_http_endpoint=False,
    enable_mcp_tool_trigger=True,
)
app.add_agent(
    Agent(
        client=client,
        name="PlantAdvisor",
        instructions="Recommend plants.",
        description="Get plant recommendations.",
    ),
    enable_http_endpoint=True,
    enable_mcp_tool_trigger=True,
)


@app.mcp_tool()
@app.mcp_tool_property(arg_name="text", description="What to echo back.")
def echo(text: str, times: int = 1) -> str:
    """Echo the text, `times` times."""
    return " ".join([text] * int(times))


@app.mcp_tool()
def fail(reason: str) -> str:
    """Always raises, with the reason given."""
    raise ValueError(f"fail was asked to fail: {reason}")


@app.function_name("show_context")
@app.mcp_tool_trigger(
    arg_name="context",
    tool_name="show_context",
    description="Returns the invocation context the tool received.",
    tool_properties='[{"propertyName": "note", "propertyType": "string", "description": "Anything.", '
    '"isRequired": false, "isArray": false}]',
)
def show_context(context: str) -> str:
    return context


@app.mcp_resource_trigger(
    arg_name="context", uri="kit://readme", resource_name="readme", description="A short text.", mime_type="text/plain"
)
def kit_readme(context: str) -> str:
    return "The kit serves MCP tools, resources and prompts."


@app.mcp_prompt_trigger(
    arg_name="context",
    prompt_name="haiku",
    description="Ask for a haiku.",
    prompt_arguments=[func.PromptArgument("topic", "What the haiku is about.", True)],
)
def haiku(context: func.PromptInvocationContext) -> str:
    return f"Write a haiku about {context.arguments['topic']}."
