"""Self-check for lesson 10 (reliable streaming): resume an agent's streamed answer from a cursor.

The check plays a client whose connection drops: it asks `TravelPlanner` for a trip plan, reads the first piece
of the answer from the stream route, and stops there. Then it calls the learner's `resume_stream(kit,
conversation_id, cursor)` with the id of that piece. A right answer returns exactly the rest of the answer: the
first piece plus what it returns is the answer the agent's entity stored, and the model was called once.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from ...durable_vocabulary import agent_entity_name
from . import Verdict, never_raises, not_yet, passed, unsolved

AGENT = "TravelPlanner"
PROMPT = "Plan two days in Porto."


@never_raises
def resume_from_cursor(kit: Any, resume_stream: Any) -> Verdict:
    from .. import streams
    from ..errors import LabError
    from ..replay import wait_until

    hint = (
        "call lab.streams.fetch(kit, conversation_id, cursor=cursor) again and again, each time with the id of the "
        "last event you got, add up the text of the message events, and stop at the event whose .done is True."
    )
    if not callable(resume_stream):
        return not_yet("resume_stream is not a function.", hint)
    if unsolved(resume_stream):
        return not_yet("resume_stream(kit, conversation_id, cursor) still raises NotImplementedError.", hint)
    key = f"check-{uuid.uuid4().hex[:8]}"
    calls_before = kit.model_stats()["calls"]
    started = httpx.post(
        f"{kit.base_url}/api/agents/{AGENT}/run",
        json={"message": PROMPT, "session_id": key, "wait_for_response": False},
        timeout=30,
    )
    if started.status_code != 202:
        return not_yet(f"the check could not start {AGENT}: HTTP {started.status_code} {started.text[:200]}")
    first = streams.fetch(kit, key)[0]  # one piece, then the connection "drops"
    rest = resume_stream(kit, key, first.id)
    if not isinstance(rest, str):
        return not_yet(f"resume_stream returned {type(rest).__name__}, not the text (a str).", hint)

    def stored_answer() -> str | None:
        try:
            history = kit.entity_state(agent_entity_name(AGENT), key)["data"]["conversationHistory"]
        except LabError:  # the entity does not exist yet
            return None
        responses = [entry for entry in history if entry.get("$type") == "response"]
        if not responses:
            return None
        return "".join(c.get("text", "") for m in responses[-1]["messages"] for c in m["contents"])

    answer = wait_until(stored_answer, timeout=kit.wait_budget, what=f"{AGENT}'s answer in its entity")
    calls = kit.model_stats()["calls"] - calls_before
    if first.data + rest == answer:
        if calls != 1:
            return not_yet(f"the text is right, but the model was called {calls} times for one answer.")
        return passed(
            f"resumed after piece 1 and got the other {len(rest)} characters: piece 1 + yours = the answer the "
            "entity stored, from one model call."
        )
    if "[DONE]" in rest:
        return not_yet("your text ends with the done event's data, '[DONE]': it is a marker, not answer text.", hint)
    if rest == answer or (first.data and rest.startswith(first.data)):
        return not_yet("your text starts again at the beginning of the answer: the cursor was not used.", hint)
    if answer.startswith(first.data + rest):
        return not_yet(
            f"your text stops early: {len(rest)} of the {len(answer) - len(first.data)} characters after the cursor.",
            hint,
        )
    return not_yet(f"piece 1 + your text is not the stored answer. You returned: {rest[:120]!r}", hint)
