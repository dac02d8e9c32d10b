"""The kit's Functions app plus the small orchestrations notebooks 04 and 05 teach with.

Everything in `functions_app/function_app.py` is here unchanged (the agents, the chaining and concurrency
orchestrations, their routes). This file adds:

Notebook 04 (replay and determinism), two kinds of non-determinism:
- `notes_from_process_memory` - BUG ON PURPOSE, the kind Durable Functions catches. The orchestrator keeps a
  module-level set of the instances that already fetched their notes, so the first execution calls the
  activity `fetch_fresh_notes` and every replay calls `read_cached_notes` instead. The first replay finds a
  different activity name at the position history recorded and fails the instance as non-deterministic.
- `notes_from_history` - the fix: ask the cache in an activity (`read_cached_notes`) and branch on its
  *result*. Results are recorded in history, so every replay takes the same branch.
- `random_session_orchestration` - BUG ON PURPOSE, the kind Durable Functions does **not** catch. The chaining
  orchestration with a session key from `AgentSessionId.with_random_key(...)`, which calls `uuid.uuid4()`:
  every replay makes a different key. Entity calls are recorded as an `EventSent` named "op", and the event
  kind and name are all the replay check compares, so the instance completes - but its two agent calls went
  to two different `dafx-WriterAgent` entities, and the second conversation never saw the first turn.
- `replay_safe_session_orchestration` - the same code with the key from `context.new_uuid()`: one key on
  every replay, one conversation.
- `POST /api/lab/start/{orchestrator}` - starts any of these four.

Notebook 05 (thread sharing):
- `writer_on_session` - the chaining orchestration (a sentence, then a refinement), except that the session
  key comes from the orchestration's **input** instead of `create_session()`. The input is recorded in the
  history, so the key is the same on every replay (replay-safe). Two instances started with the same key
  talk to the same `dafx-WriterAgent` entity: one shared conversation.
- `POST /api/lab/writer/{sessionKey}` - starts it with `{"session_key": sessionKey, "topic": <body>}`.

Both start routes answer with the standard check-status payload (`id`, `statusQueryGetUri`, ... on the
Durable Functions HTTP API), so notebooks poll them like any other instance.
"""
import importlib.util
import json
import sys
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from agent_framework_durabletask import AgentSessionId, DurableAgentSession

KIT_APP_DIR = Path(__file__).resolve().parents[3] / "functions_app"
REPLAY_ORCHESTRATORS = (
    "notes_from_process_memory",
    "notes_from_history",
    "random_session_orchestration",
    "replay_safe_session_orchestration",
)
NOTES_TOPIC = "durable orchestrations"
MAX_TOPIC_CHARS = 200


def _load_kit_app():
    """Import the kit's function_app.py under its own module name, so this file can extend its `app`.

    A plain `import function_app` would find *this* file first; loading by path keeps the two apart.
    """
    sys.path.insert(0, str(KIT_APP_DIR))  # the kit's function_app.py imports its sibling model_client.py
    spec = importlib.util.spec_from_file_location("kit_function_app", KIT_APP_DIR / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kit = _load_kit_app()
app = kit.app  # one AgentFunctionApp: the kit's functions plus the ones below


def _error(reason: str, status_code: int) -> func.HttpResponse:
    """Bad input gets a 4xx with a JSON reason, like the kit's own routes."""
    return func.HttpResponse(json.dumps({"error": reason}), status_code=status_code, mimetype="application/json")


# ------------------------------------------------------------------------------- notebook 04: determinism


# An activity may use process memory (its result is recorded once); an orchestrator may not.
_notes_cache: dict[str, str] = {}


@app.activity_trigger(input_name="topic")
def fetch_fresh_notes(topic: str) -> str:
    """Stands in for a slow call to a notes service; keeps the answer in this worker's cache."""
    notes = f"Notes on {topic}: history is the source of truth; replay rebuilds state from it."
    _notes_cache[topic] = notes
    return notes


@app.activity_trigger(input_name="topic")
def read_cached_notes(topic: str):  # no return annotation: the Python worker checks it against the binding
    """The cached notes for `topic` (a str), or None when this worker has none."""
    return _notes_cache.get(topic)


# BUG ON PURPOSE: orchestrator state kept in process memory instead of in history.
_instances_that_fetched: set[str] = set()


@app.orchestration_trigger(context_name="context")
def notes_from_process_memory(context: df.DurableOrchestrationContext):
    """BUG ON PURPOSE: "fetch once per run" remembered in a module-level set, which replay does not reset."""
    if context.instance_id not in _instances_that_fetched:
        _instances_that_fetched.add(context.instance_id)
        notes = yield context.call_activity("fetch_fresh_notes", NOTES_TOPIC)
    else:
        notes = yield context.call_activity("read_cached_notes", NOTES_TOPIC)
    return notes


@app.orchestration_trigger(context_name="context")
def notes_from_history(context: df.DurableOrchestrationContext):
    """The fix: the branch depends on an activity's result, which every replay reads back from history."""
    notes = yield context.call_activity("read_cached_notes", NOTES_TOPIC)
    if notes is None:
        notes = yield context.call_activity("fetch_fresh_notes", NOTES_TOPIC)
    return notes


@app.orchestration_trigger(context_name="context")
def random_session_orchestration(context: df.DurableOrchestrationContext):
    """BUG ON PURPOSE: a random session key. `with_random_key` calls uuid.uuid4(), new on every replay.

    Not detected: the replay check compares the recorded EventSent ("op") with the replayed entity call by
    kind and name only, never by target entity. The instance completes, its calls spread over two entities.
    """
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
async def start_replay_lesson(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    name = req.route_params.get("orchestrator")
    if name not in REPLAY_ORCHESTRATORS:
        return _error(f"Unknown orchestrator {name!r}; use one of {', '.join(REPLAY_ORCHESTRATORS)}.", 404)
    instance_id = await client.start_new(name)
    return client.create_check_status_response(req, instance_id)


# ---------------------------------------------------------------------------- notebook 05: shared sessions


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
    if not session_key:
        return _error("The route needs a session key: POST /api/lab/writer/<sessionKey>.", 400)
    if not topic or len(topic) > MAX_TOPIC_CHARS:
        return _error(f"Send a topic of 1-{MAX_TOPIC_CHARS} characters as the text/plain body.", 400)
    instance_id = await client.start_new("writer_on_session", client_input={"session_key": session_key, "topic": topic})
    return client.create_check_status_response(req, instance_id)
