"""Agent Framework durable agents on the engine: `dafx-<Agent>` entities driven from an orchestration and by
client signals, with a slow fake agent so concurrency is visible."""

from __future__ import annotations

import asyncio
import json
import time

import azure.durable_functions as df
import pytest
from agent_framework import AgentResponse, Message
from agent_framework.azure import AgentFunctionApp

from helpers.durable_vocabulary import agent_entity_name
from tests.conftest import started_engine, wait_until_async
from tests.engine.engine_app import build_registry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


class EchoAgent:
    """Stands in for a model-backed agent: answers after a delay with what it has seen so far."""

    def __init__(self, name: str, delay: float) -> None:
        self.name = name
        self.id = name
        self.description = "echoes the conversation"
        self.delay = delay

    async def run(self, messages=None, *, stream=False, session=None, **kwargs):
        await asyncio.sleep(self.delay)
        seen = messages if isinstance(messages, list) else [messages]
        last = seen[-1]
        text = getattr(last, "text", None) or str(last)
        return AgentResponse(
            messages=[Message(role="assistant", contents=[f"echo({len(seen)}): {text}"])],
            created_at="2025-01-01T00:00:00Z",
        )

    def create_session(self, **kwargs):
        from agent_framework import AgentSession

        return AgentSession()

    def get_session(self, *args, **kwargs):
        return self.create_session()


agent_app = AgentFunctionApp(agents=[EchoAgent("Physicist", 0.5), EchoAgent("Chemist", 0.5)], enable_health_check=False)


@agent_app.orchestration_trigger(context_name="context")
def two_experts(context: df.DurableOrchestrationContext):
    physicist = agent_app.get_agent(context, "Physicist")
    chemist = agent_app.get_agent(context, "Chemist")
    p_session, c_session = physicist.create_session(), chemist.create_session()
    answers = yield context.task_all(
        [physicist.run("What is heat?", session=p_session), chemist.run("What is heat?", session=c_session)]
    )
    follow_up = yield physicist.run("And light?", session=p_session)
    return {"physicist": answers[0].text, "chemist": answers[1].text, "follow_up": follow_up.text}


AGENT_REGISTRY = build_registry(agent_app)


@pytest.fixture
async def agent_engine(db_path, runner):
    eng = await started_engine(AGENT_REGISTRY, db_path, runner)
    yield eng
    await eng.stop(timeout=2)


async def test_agent_orchestration_runs_agents_concurrently(agent_engine):
    began = time.perf_counter()
    iid = await agent_engine.client.start_orchestration("two_experts")
    status = await agent_engine.client.wait_for_instance(iid, 20)
    elapsed = time.perf_counter() - began
    assert status["runtimeStatus"] == "Completed", status
    out = status["output"]
    assert "What is heat?" in out["physicist"] and "What is heat?" in out["chemist"]
    assert "And light?" in out["follow_up"]
    # each agent operation takes ~1 s here (0.5 s of "model" plus the framework's own bridging); run one
    # after another the three operations would need >= 3 s, so this bound fails if entities were serialised
    assert elapsed < 2.7, f"two parallel agents then one more took {elapsed:.2f} s"
    agents = await agent_engine.client.list_entities(agent_entity_name("Physicist"), fetch_state=True)
    assert len(agents) == 1
    history = agents[0]["state"]["data"]["conversationHistory"]
    assert [h["$type"] for h in history] == ["request", "response", "request", "response"]


async def test_signalled_agent_op_progresses_while_client_polls(agent_engine):
    request = {
        "message": "hi",
        "correlationId": "c-1",
        "role": "user",
        "request_response_format": "text",
        "enable_tool_calls": True,
        "wait_for_response": True,
    }
    await agent_engine.client.signal_entity(agent_entity_name("Chemist"), "s1", "run", json.dumps(request))
    polls = 0

    async def answered() -> bool:
        nonlocal polls
        polls += 1
        exists, state = await agent_engine.client.read_entity(agent_entity_name("Chemist"), "s1")
        return exists and any(h.get("$type") == "response" for h in json.loads(state)["data"]["conversationHistory"])

    await wait_until_async(answered, what="the chemist's answer", interval=0.05)
    exists, _ = await agent_engine.client.read_entity(agent_entity_name("Chemist"), "s1")
    assert exists and polls > 3  # reads were answered while the 0.5 s operation ran
