"""The kit's Functions app plus one orchestrator with a replay bug on purpose (notebook 04).

Everything in `functions_app/function_app.py` is here unchanged (the agents, the chaining and concurrency
orchestrations, their routes). This file adds:

- `random_session_orchestration` - the chaining orchestration, except that it makes its session key with
  `AgentSessionId.with_random_key(...)`, which calls `uuid.uuid4()`. Every replay makes a *different* key,
  so on replay the orchestrator asks for a call to a different entity than the one history recorded.
  Durable Functions detects that and fails the instance as non-deterministic.
- `replay_safe_session_orchestration` - the same code with the key from `context.new_uuid()`: deterministic,
  so it completes.
- `POST /api/lab/start/{orchestrator}` - starts either one and answers with the standard check-status
  payload (`statusQueryGetUri` on the Durable Functions HTTP API).
"""
import importlib.util
import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from agent_framework_durabletask import AgentSessionId, DurableAgentSession

KIT_APP_DIR = Path(__file__).resolve().parents[3] / "functions_app"
TEACHING_ORCHESTRATORS = ("random_session_orchestration", "replay_safe_session_orchestration")


def _load_kit_app():
    """Import the kit's function_app.py under its own module name, so this file can extend its `app`."""
    sys.path.insert(0, str(KIT_APP_DIR))  # the kit's function_app.py imports its sibling model_client.py
    spec = importlib.util.spec_from_file_location("kit_function_app", KIT_APP_DIR / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kit = _load_kit_app()
app = kit.app  # one AgentFunctionApp: the kit's functions plus the ones below


@app.orchestration_trigger(context_name="context")
def random_session_orchestration(context: df.DurableOrchestrationContext):
    """BUG ON PURPOSE: a random session key. `with_random_key` calls uuid.uuid4(), new on every replay."""
    writer = app.get_agent(context, kit.WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId.with_random_key(kit.WRITER_AGENT_NAME))

    initial = yield writer.run("Write a concise inspirational sentence about learning.", session=session)
    refined = yield writer.run(
        f"Improve this further while keeping it under 25 words: {initial.text}", session=session
    )
    return refined.text


@app.orchestration_trigger(context_name="context")
def replay_safe_session_orchestration(context: df.DurableOrchestrationContext):
    """The fix: the key comes from context.new_uuid(), which is the same on every replay of this instance."""
    writer = app.get_agent(context, kit.WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId(kit.WRITER_AGENT_NAME, context.new_uuid()))

    initial = yield writer.run("Write a concise inspirational sentence about learning.", session=session)
    refined = yield writer.run(
        f"Improve this further while keeping it under 25 words: {initial.text}", session=session
    )
    return refined.text


@app.route(route="lab/start/{orchestrator}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_teaching_orchestration(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    name = req.route_params.get("orchestrator")
    if name not in TEACHING_ORCHESTRATORS:
        return kit._error_response(f"Unknown orchestrator {name!r}; use one of {', '.join(TEACHING_ORCHESTRATORS)}.",
                                   status_code=404)
    instance_id = await client.start_new(name)
    return client.create_check_status_response(req, instance_id)
