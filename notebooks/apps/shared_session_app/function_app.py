"""The kit's Functions app plus an orchestration that works on a session chosen by its caller (notebook 05).

Everything in `functions_app/function_app.py` is here unchanged. This file adds:

- `writer_on_session` - the chaining orchestration (a sentence, then a refinement), except that the session
  key comes from the orchestration's **input** instead of `create_session()`. The input is recorded in the
  history, so the key is the same on every replay (replay-safe). Two instances started with the same key
  talk to the same `dafx-WriterAgent` entity: one shared conversation.
- `POST /api/lab/writer/{sessionKey}` - starts it with `{"session_key": sessionKey, "topic": <body>}` and answers
  with the standard check-status payload (`statusQueryGetUri` on the Durable Functions HTTP API).
"""
import importlib.util
import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from agent_framework_durabletask import AgentSessionId, DurableAgentSession

KIT_APP_DIR = Path(__file__).resolve().parents[3] / "functions_app"


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
def writer_on_session(context: df.DurableOrchestrationContext):
    """Two chained WriterAgent calls on the session named in the input."""
    request = context.get_input() or {}
    writer = app.get_agent(context, kit.WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId(kit.WRITER_AGENT_NAME, request["session_key"]))

    initial = yield writer.run(f"Write a concise sentence about {request['topic']}.", session=session)
    refined = yield writer.run(
        f"Improve this further while keeping it under 25 words: {kit.answer_text(initial, kit.WRITER_AGENT_NAME)}",
        session=session,
    )
    return kit.answer_text(refined, kit.WRITER_AGENT_NAME)


@app.route(route="lab/writer/{sessionKey}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_writer_on_session(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    session_key = req.route_params.get("sessionKey", "").strip()
    topic = (req.get_body() or b"").decode("utf-8", errors="replace").strip()
    if not topic or len(topic) > 200:
        return kit._error_response("Send a topic of 1-200 characters as the text/plain body.", status_code=400)
    instance_id = await client.start_new("writer_on_session", client_input={"session_key": session_key, "topic": topic})
    return client.create_check_status_response(req, instance_id)
