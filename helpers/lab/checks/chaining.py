"""Self-checks for lesson 02 (single-agent chaining): predict the episodes of a longer chain, then write it."""

from __future__ import annotations

from typing import Any

from ...durable_vocabulary import agent_entity_name
from . import Verdict, never_raises, not_yet, passed, unsolved

TURNS = 3
WRITER = agent_entity_name("WriterAgent").lower()  # as entity ids spell it


@never_raises
def predictions(predicted_episodes: Any, predicted_model_calls: Any) -> Verdict:
    """The learner's prediction for a chain of 3 agent calls: episodes and model calls. (The orchestrator the
    learner writes next makes that chain for real, and its check reports the measured numbers.)"""
    if predicted_episodes is ... or predicted_model_calls is ...:
        return not_yet(
            "replace the `...` with your two predictions (whole numbers).",
            "count the yields that wait for a result, then add the episode that finishes.",
        )
    rule = {"episodes": TURNS + 1, "model_calls": TURNS}
    guess = {"episodes": predicted_episodes, "model_calls": predicted_model_calls}
    if guess != rule:
        wrong = ", ".join(f"{name} (you said {guess[name]})" for name in rule if guess[name] != rule[name])
        return not_yet(
            f"not quite: {wrong}.",
            "every yield that waits ends an episode, and the result starts the next one from the top; "
            "replays answer from history, so the model is called once per agent call, never again.",
        )
    return passed(f"{TURNS} chained calls: {TURNS + 1} episodes (the first new, {TURNS} replays), {TURNS} model calls.")


@never_raises
def three_turns(kit: Any, orchestrator: Any) -> Verdict:
    """Deploy the learner's 3-turn orchestrator, run it, and check: 3 writer turns on one session, each turn's
    request quoting the previous answer, 6 messages in the conversation, 4 episodes, 3 model calls."""
    if unsolved(orchestrator):
        return not_yet(
            "the orchestrator still raises NotImplementedError: write its body.",
            "start from single_agent_orchestration (top of this notebook) and add a third `yield writer.run(...)`.",
        )
    kit.deploy(orchestrator)
    calls_before = kit.model_stats()["calls"]
    started = kit.start_orchestration(orchestrator.__name__)
    from ..polling import poll

    status = poll(started["statusQueryGetUri"], desc=orchestrator.__name__, expect=None)
    instance_id = started["id"]
    if status["runtimeStatus"] != "Completed":
        return not_yet(
            f"the instance ended {status['runtimeStatus']}: {str(status.get('output'))[:300]}",
            "read the reason; kit.host_log(instance_id) shows the orchestrator's own errors.",
        )
    calls = kit.entity_calls_of(instance_id)
    keys = {call["key"] for call in calls}
    if len(calls) != TURNS or any(call["entity"] != WRITER for call in calls):
        return not_yet(
            f"the orchestrator made {len(calls)} agent call(s): {[c['entity'] for c in calls]}.",
            f"make exactly {TURNS} `yield writer.run(...)` calls to the WriterAgent.",
        )
    if len(keys) != 1:
        return not_yet(
            f"the {TURNS} calls went to {len(keys)} different sessions, so no turn saw the one before.",
            "create one session with writer.create_session() and pass the same session= to every run.",
        )
    conversation = kit.entity_conversation("WriterAgent", keys.pop())
    texts = conversation.column("text")
    if len(texts) != 2 * TURNS:
        return not_yet(f"the session holds {len(texts)} messages, expected {2 * TURNS}.")
    unquoted = [n for n in (1, 2) if texts[2 * n - 1].strip() and texts[2 * n - 1] not in texts[2 * n]]
    if unquoted:
        return not_yet(
            f"the request of turn {unquoted[0] + 1} does not contain the answer of turn {unquoted[0]}.",
            "build each prompt from the previous answer: answer_text(previous, WRITER_AGENT_NAME).",
        )
    from ..views import replay_counts

    episodes = replay_counts(kit.host_log()).get(instance_id, {}).get("episodes")
    model_calls = kit.model_stats()["calls"] - calls_before
    return passed(
        f"{TURNS} turns on one session: {len(texts)} messages, each request quoting the last answer; "
        f"{episodes} episodes and {model_calls} model calls."
    )
