"""Notebook 04 (replay): what runs again on every episode, and the two kinds of non-determinism.

- `replay_logging` - two activity calls, each preceded by a log line written on every episode and one written
  only when `context.is_replaying` is false: the host log shows how often each appears.
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

Start any of them with the standard Durable HTTP API: `POST /runtime/webhooks/durabletask/orchestrators/<name>`.
"""

import logging

import azure.durable_functions as df
from agent_framework_durabletask import AgentSessionId, DurableAgentSession
from kit_app import WRITER_AGENT_NAME, app

NOTES_TOPIC = "durable orchestrations"
logger = logging.getLogger("teaching_app.replay")


@app.activity_trigger(input_name="city")
def greet(city: str) -> str:
    return f"Hello {city}!"


@app.orchestration_trigger(context_name="context")
def replay_logging(context: df.DurableOrchestrationContext):
    """Greets two cities; before each call, one log line on every episode and one guarded by is_replaying."""
    greetings = []
    for step, city in enumerate(("Tokyo", "Lisbon"), start=1):
        logger.info("%s: step %d, about to greet %s (no guard)", context.instance_id, step, city)
        if not context.is_replaying:
            logger.info("%s: step %d, about to greet %s (guarded by is_replaying)", context.instance_id, step, city)
        greetings.append((yield context.call_activity("greet", city)))
    return greetings


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
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId.with_random_key(WRITER_AGENT_NAME))

    initial = yield writer.run("Write a concise inspirational sentence about learning.", session=session)
    refined = yield writer.run(f"Improve this further while keeping it under 25 words: {initial.text}", session=session)
    return refined.text


@app.orchestration_trigger(context_name="context")
def replay_safe_session_orchestration(context: df.DurableOrchestrationContext):
    """The fix: the key comes from context.new_uuid(), which is the same on every replay of this instance."""
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    session = DurableAgentSession.from_session_id(AgentSessionId(WRITER_AGENT_NAME, context.new_uuid()))

    initial = yield writer.run("Write a concise inspirational sentence about learning.", session=session)
    refined = yield writer.run(f"Improve this further while keeping it under 25 words: {initial.text}", session=session)
    return refined.text
