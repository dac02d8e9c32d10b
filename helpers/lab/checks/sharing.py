"""Self-checks for lesson 05 (thread sharing): two concurrent orchestrations that must not see each other."""

from __future__ import annotations

from typing import Any

from ...durable_vocabulary import agent_entity_name
from . import Verdict, never_raises, not_yet, passed

USED_IN_THE_LESSON = {"alpha", "beta", "shared"}


@never_raises
def separate_sessions(kit: Any, key_for_a: Any, key_for_b: Any) -> Verdict:
    """Run `writer_on_session` twice at once with the learner's keys; each session must hold one caller only."""
    from ..polling import poll
    from ..replay import conversation_by_caller

    keys = (key_for_a, key_for_b)
    if any(key is ... for key in keys):
        return not_yet(
            "replace the `...` with two session keys (strings).",
            "a session is an entity key: any text, such as 'rivers-1'.",
        )
    if not all(isinstance(key, str) and key.strip() for key in keys):
        return not_yet(f"session keys are non-empty strings, not {keys!r}.")
    if key_for_a == key_for_b:
        return not_yet(
            "both orchestrations would use one session, so each would see the other's turns.",
            "two different keys give two separate conversations.",
        )
    reused = USED_IN_THE_LESSON & set(keys)
    if reused:
        return not_yet(
            f"{sorted(reused)} already holds turns from earlier in this notebook.",
            "pick keys no earlier cell used: their conversations start empty.",
        )
    started = [
        kit.start_orchestration("writer_on_session", {"session_key": key, "topic": topic})
        for key, topic in zip(keys, ("rivers", "mountains"))
    ]
    for run, name in zip(started, ("your A", "your B")):
        status = poll(run["statusQueryGetUri"], desc=name, expect=None)
        if status["runtimeStatus"] != "Completed":
            return not_yet(f"{name} ended {status['runtimeStatus']}: {str(status.get('output'))[:200]}")
    labels = {started[0]["id"]: "A", started[1]["id"]: "B"}
    callers = {
        key: sorted(
            {
                row["caller"]
                for row in conversation_by_caller(kit.entity_state(agent_entity_name("WriterAgent"), key), labels)
            }
        )
        for key in keys
    }
    if callers == {key_for_a: ["A"], key_for_b: ["B"]}:
        return passed("two sessions, one caller each: neither orchestration saw the other's turns.")
    return not_yet(
        f"callers per session: {callers}.",
        "each key's conversation should hold only its own orchestration's turns; keys used before "
        "already hold other turns.",
    )
