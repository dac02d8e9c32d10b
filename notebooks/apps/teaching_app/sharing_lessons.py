"""Notebook 05 (thread sharing): two orchestrations on one agent session, chosen by its key.

- `writer_on_session` - the chaining orchestration (a sentence, then a refinement), except that the session
  key comes from the orchestration's **input** instead of `create_session()`. The input is recorded in the
  history, so the key is the same on every replay (replay-safe). Two instances started with the same key
  talk to the same `dafx-WriterAgent` entity: one shared conversation.
- `POST /api/lab/writer/{sessionKey}` - starts it with `{"session_key": sessionKey, "topic": <body>}` and
  answers with the standard check-status payload (`id`, `statusQueryGetUri`, ...).
"""

import json

import azure.durable_functions as df
import azure.functions as func
from agent_framework_durabletask import AgentSessionId, DurableAgentSession
from kit_app import WRITER_AGENT_NAME, answer_text, app

MAX_TOPIC_CHARS = 200


def _error(reason: str, status_code: int) -> func.HttpResponse:
    """Bad input gets a 4xx with a JSON reason, like the kit's own routes."""
    return func.HttpResponse(json.dumps({"error": reason}), status_code=status_code, mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def writer_on_session(context: df.DurableOrchestrationContext):
    """Two chained WriterAgent calls on the session named in the input."""
    request = context.get_input() or {}
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId(WRITER_AGENT_NAME, request["session_key"]))

    initial = yield writer.run(f"Write a concise sentence about {request['topic']}.", session=session)
    refined = yield writer.run(
        f"Improve this further while keeping it under 25 words: {answer_text(initial, WRITER_AGENT_NAME)}",
        session=session,
    )
    return answer_text(refined, WRITER_AGENT_NAME)


@app.route(route="lab/writer/{sessionKey}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_writer_on_session(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    session_key = req.route_params.get("sessionKey", "").strip()
    topic = (req.get_body() or b"").decode("utf-8", errors="replace").strip()
    if not session_key:
        return _error("The route needs a session key: POST /api/lab/writer/<sessionKey>.", 400)
    if not topic or len(topic) > MAX_TOPIC_CHARS:
        return _error(f"Send a topic of 1-{MAX_TOPIC_CHARS} characters as the text/plain body.", 400)
    instance_id = await client.start_new("writer_on_session", client_input={"session_key": session_key, "topic": topic})
    return client.create_check_status_response(req, instance_id)
