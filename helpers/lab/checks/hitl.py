"""Self-checks for lesson 06 (a human in the loop), and the reader of the writer's conversation they share.

    lab.checks.hitl.reject_then_approve(kit, review, my_feedback)   # exercise 1: reject with feedback, approve
    lab.checks.hitl.predict_timeout(kit, predicted)                  # exercise 2: the history after a timeout
    lab.checks.hitl.writer_conversation(kit, session_key)            # the writer's messages, one row each

Both checks run the teaching app's `content_generation_hitl_orchestration` through its own route
(`POST /api/hitl/run`) and judge only what the public surface shows: the instance's status and custom status,
its history (the `HumanApproval` events, the timers, the agent's turns) and the writer's entity state. Nothing
depends on what the model wrote, so they answer the same with any backend.
"""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

from ...durable_vocabulary import FINISHED_STATUSES, EventType, agent_entity_name
from ..errors import LabError
from ..views import Table, decode_nested, entity_calls, event_type, excerpt
from . import Verdict, never_raises, not_yet, passed, unsolved

ORCHESTRATION = "content_generation_hitl_orchestration"
EVENT = "HumanApproval"
WRITER = "ContentWriterAgent"
START_ROUTE = "/api/hitl/run"
WAITING = "waiting for approval"
NO_FEEDBACK = "No feedback provided."  # what the app tells the writer when a rejection carries no feedback
CHECK_TOPIC = "tide pools"
IDLE_SECONDS = 1.0  # waiting, with no decision queued, for this long: the reviewer's code has stopped sending
POLL_SECONDS = 0.1
TIMEOUT_SCENARIO_SECONDS = 3.0  # exercise 2's deadline per draft: short, and long enough to reject draft 1 in time
TIMEOUT_SCENARIO_FEEDBACK = "Shorter, please."

# --------------------------------------------------------------------------------------------- readers


def start(kit: Any, *, topic: str = CHECK_TOPIC, timeout_seconds: float = 60.0) -> str:
    """Start the HITL orchestration through the app's route; return the instance id."""
    response = kit._http.post(
        f"{kit.base_url}{START_ROUTE}", json={"topic": topic, "approval_timeout_seconds": timeout_seconds}
    )
    if response.status_code != 202:
        raise LabError(f"POST {START_ROUTE} answered {response.status_code}: {response.text[:300]}")
    return response.json()["id"]


def custom_status(status: dict[str, Any]) -> dict[str, Any]:
    """The instance's custom status as a dict ({} when it has none)."""
    custom = decode_nested(status.get("customStatus"))
    return custom if isinstance(custom, dict) else {}


def wait_for_review(kit: Any, instance_id: str, draft: int, timeout: float) -> dict[str, Any]:
    """The Durable status once the instance waits for a decision on `draft`, or once it finished."""
    deadline = time.monotonic() + timeout
    while True:
        status = kit.status(instance_id)
        custom = custom_status(status)
        if status.get("runtimeStatus") in FINISHED_STATUSES or (
            custom.get("step") == WAITING and custom.get("draft") == draft
        ):
            return status
        if time.monotonic() > deadline:
            return status
        time.sleep(POLL_SECONDS)


def approval_events(history: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """(position in history, decoded data) of every `HumanApproval` event, in order."""
    return [
        (index, decode_nested(event.get("Input")))
        for index, event in enumerate(history)
        if event_type(event) == EventType.EventRaised.name and event.get("Name") == EVENT
    ]


def as_decision(data: Any) -> dict[str, Any]:
    """The decision as the app reads it: `{"approved": bool, "feedback": str}` (anything else: not approved)."""
    if isinstance(data, dict):
        return {"approved": data.get("approved") is True, "feedback": str(data.get("feedback") or "")}
    return {"approved": False, "feedback": "" if data is None else str(data)}


def other_event_names(history: list[dict[str, Any]]) -> list[str]:
    """Names of external events other than HumanApproval (entity answers, named after GUIDs, left out)."""
    names = []
    for event in history:
        name = str(event.get("Name") or "")
        if event_type(event) == EventType.EventRaised.name and name != EVENT and not _looks_like_request_id(name):
            names.append(name)
    return names


def _looks_like_request_id(name: str) -> bool:
    return len(name) == 36 and name.count("-") == 4


def settle(kit: Any, instance_id: str, timeout: float) -> dict[str, Any]:
    """Wait until the instance finished, or waits for a decision none of the events sent so far can answer.

    Every `HumanApproval` is recorded in history when it arrives, and each wait takes the next one, so an
    instance whose waits (timers created) outnumber the decisions recorded, for `IDLE_SECONDS`, is left
    waiting by the reviewer.
    """
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        status = kit.status(instance_id)
        if status.get("runtimeStatus") in FINISHED_STATUSES or time.monotonic() > deadline:
            return status
        waiting = False
        if custom_status(status).get("step") == WAITING:
            history = kit.history(instance_id)
            timers = sum(1 for event in history if event_type(event) == EventType.TimerCreated.name)
            waiting = len(approval_events(history)) < timers
        if not waiting:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= IDLE_SECONDS:
            return status
        time.sleep(POLL_SECONDS)


def terminate(kit: Any, instance_id: str, reason: str) -> None:
    """End an instance the check left waiting (standard Durable HTTP API terminate route)."""
    kit.terminate(instance_id, reason)


def _text(content: dict[str, Any]) -> str:
    """A message content as text; a structured answer (JSON text, decoded) as its `content`, the draft itself."""
    kind = content.get("$type", content.get("type"))
    if kind == "error":
        return f"error: {content.get('message', '')}"
    if kind != "text":
        return f"[{kind}]" if kind else ""
    text = content.get("text", "")
    if isinstance(text, dict) and isinstance(text.get("content"), str):
        return text["content"]
    return text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)


def writer_messages(kit: Any, session_key: str) -> list[dict[str, str]]:
    """The writer's conversation on one session: `{"entry", "role", "text"}` per message, in order."""
    state = kit.entity_state(agent_entity_name(WRITER), session_key)
    history = ((state or {}).get("data") or {}).get("conversationHistory") or []
    rows = []
    for entry in history:
        for message in entry.get("messages") or []:
            text = " ".join(t for t in (_text(c) for c in message.get("contents") or []) if t)
            rows.append({"entry": entry.get("$type", ""), "role": message.get("role", ""), "text": text})
    return rows


def writer_conversation(kit: Any, session_key: str, width: int = 90) -> Table:
    """The writer's entity conversation for one session, one row per message, texts shortened to `width`.

    Like `kit.entity_conversation`, for an agent that answers with structured output: its answers are JSON
    text (`{"title", "content"}`), shown here as their content.
    """
    rows = [
        {"#": number, **row, "text": excerpt(row["text"], width)}
        for number, row in enumerate(writer_messages(kit, session_key))
    ]
    return Table(("#", "entry", "role", "text"), rows, title=f"{agent_entity_name(WRITER)} / {session_key}")


# ---------------------------------------------------------------------------------- exercise 1


REVIEW_HINT = (
    "In review(kit, instance_id): send HumanApproval {'approved': False, 'feedback': my_feedback} with "
    "kit.raise_event, wait until the instance waits for draft 2 (wait_for_review(instance_id, 2)), then "
    "send HumanApproval {'approved': True}."
)


@never_raises
def reject_then_approve(kit: Any, review: Any, my_feedback: Any) -> Verdict:
    """Exercise 1: `review(kit, instance_id)` rejects draft 1 with `my_feedback`, then approves the revision.

    Starts an instance, waits until it waits for draft 1, calls `review`, waits until the instance finished
    (or is left waiting), then checks: Completed; exactly two HumanApproval events, the first a rejection
    carrying `my_feedback`, the second an approval sent once draft 2 was waiting; both writer turns on one
    session, whose second request quotes the feedback; and the output says `drafts == 2`.
    """
    if unsolved(review):
        return not_yet("review(kit, instance_id) still raises NotImplementedError: write its body.", REVIEW_HINT)
    if my_feedback is Ellipsis or not isinstance(my_feedback, str) or not my_feedback.strip():
        shown = "still ..." if my_feedback is Ellipsis else repr(my_feedback)
        return not_yet(
            f"my_feedback is {shown}: set it to the words the writer should act on.",
            'For example: my_feedback = "Add one practical tip for beginners."',
        )
    budget = float(kit.wait_budget)
    instance_id = start(kit, timeout_seconds=max(budget, 60.0))
    try:
        first = wait_for_review(kit, instance_id, 1, budget)
        if custom_status(first).get("step") != WAITING:
            return not_yet(
                f"the check's instance never waited for draft 1 ({first.get('runtimeStatus')}: "
                f"{excerpt(first.get('output'), 200)}).",
                "Look at kit.host_log(instance_id).",
            )
        try:
            review(kit, instance_id)
        except LabError as error:
            return not_yet(f"review(...) stopped with: {error}", REVIEW_HINT)
        except Exception as error:
            return not_yet(f"review(...) raised {type(error).__name__}: {error}", REVIEW_HINT)
        status = settle(kit, instance_id, budget)
        history = kit.history(instance_id)
        return _judge_review(kit, status, history, my_feedback.strip())
    finally:
        if kit.status(instance_id).get("runtimeStatus") not in FINISHED_STATUSES:
            terminate(kit, instance_id, "left waiting by the self-check")


def _judge_review(kit: Any, status: dict[str, Any], history: list[dict[str, Any]], feedback: str) -> Verdict:
    events = approval_events(history)
    decisions = [as_decision(data) for _, data in events]
    runtime = status.get("runtimeStatus")
    draft = custom_status(status).get("draft")
    if not decisions:
        others = other_event_names(history)
        named = f" (it received {', '.join(repr(n) for n in others)} instead)" if others else ""
        return not_yet(
            f"no {EVENT} event reached the instance{named}: it is still waiting for draft 1.",
            f"The event name must be exactly {EVENT!r}. " + REVIEW_HINT,
        )
    if decisions[0]["approved"]:
        return not_yet(
            f"your first decision approved draft 1, so the instance ended {runtime} with that draft: "
            "the writer never revised.",
            "Reject draft 1 first, with my_feedback as the feedback.",
        )
    if not decisions[0]["feedback"].strip():
        return not_yet(
            f"your rejection carried no feedback, so the writer was told {NO_FEEDBACK!r}.",
            "Send {'approved': False, 'feedback': my_feedback}.",
        )
    if decisions[0]["feedback"].strip() != feedback:
        return not_yet(
            f"your rejection's feedback was {excerpt(decisions[0]['feedback'], 60)!r}, "
            f"not my_feedback ({excerpt(feedback, 60)!r}).",
            "Send my_feedback itself as the feedback.",
        )
    if len(decisions) == 1:
        return not_yet(
            f"you rejected draft 1, but never decided on the revision: the instance is still waiting "
            f"for a decision on draft {draft}.",
            "After the rejection, wait for draft 2 and approve it.",
        )
    if not decisions[1]["approved"]:
        return not_yet(
            "your second decision rejected the revision too: approve draft 2.",
            "Send {'approved': True} as the second HumanApproval.",
        )
    if len(decisions) > 2:
        return not_yet(
            f"{len(decisions)} {EVENT} events reached the instance; the exercise needs exactly two.",
            "Send one rejection and one approval.",
        )
    timers = [index for index, event in enumerate(history) if event_type(event) == EventType.TimerCreated.name]
    if len(timers) < 2 or events[1][0] < timers[1]:
        return not_yet(
            "you approved before draft 2 existed: Durable Functions kept your approval until the next "
            "wait, so the revision was published without anyone reading it.",
            "Wait until the instance waits for draft 2 (its custom status says so), then approve.",
        )
    if runtime != "Completed":
        return not_yet(
            f"the instance ended {runtime}: {excerpt(status.get('output'), 200)}",
            "Send the decisions before the deadline in the custom status.",
        )
    calls = entity_calls(history)
    keys = {call["key"] for call in calls}
    if len(calls) != 2 or len(keys) != 1:
        return not_yet(f"expected two writer turns on one session, found {len(calls)} on {len(keys)} session(s).")
    requests = [row["text"] for row in writer_messages(kit, next(iter(keys))) if row["role"] == "user"]
    if len(requests) < 2 or feedback not in requests[1]:
        return not_yet(
            "the writer's second request on its session does not quote your feedback.",
            "Send my_feedback as the 'feedback' of the rejection.",
        )
    output = status.get("output")
    drafts = output.get("drafts") if isinstance(output, dict) else None
    if drafts != 2:
        return not_yet(f"the output says drafts == {drafts!r}, expected 2.")
    return passed(
        "draft 1 rejected with your feedback, the writer revised on the same session (its second request "
        "quotes your feedback), draft 2 approved once it was waiting: Completed with 2 drafts."
    )


# ---------------------------------------------------------------------------------- exercise 2

PREDICTION_KEYS = ("EventSent", "HumanApproval", "TimerCreated", "TimerFired", "runtimeStatus")
PREDICTION_HINTS = {
    "EventSent": "One EventSent per writer turn: the first draft and the revision after the rejection.",
    "HumanApproval": "Only the rejection of draft 1 arrived; nobody answered draft 2.",
    "TimerCreated": "Every wait creates its own timer: one per draft that waited.",
    "TimerFired": (
        "A timer that lost the race is not deleted: cancel() only stops the code waiting for it. Draft "
        "1's timer still fires at its deadline, while the instance waits for draft 2, and is recorded."
    ),
    "runtimeStatus": "When the timer wins, the orchestrator raises TimeoutError: the instance fails.",
}
_observed: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def timeout_scenario(kit: Any) -> dict[str, Any]:
    """Run exercise 2's scenario once per kit: reject draft 1, let draft 2 time out; count its history."""
    if kit in _observed:
        return _observed[kit]
    budget = float(kit.wait_budget)
    instance_id = start(kit, timeout_seconds=TIMEOUT_SCENARIO_SECONDS)
    first = wait_for_review(kit, instance_id, 1, budget)
    if custom_status(first).get("step") != WAITING:
        raise LabError(f"the scenario's instance never waited for draft 1 ({first.get('runtimeStatus')}).")
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": TIMEOUT_SCENARIO_FEEDBACK})
    deadline = time.monotonic() + budget + 2 * TIMEOUT_SCENARIO_SECONDS
    status = kit.status(instance_id)
    while status.get("runtimeStatus") not in FINISHED_STATUSES and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        status = kit.status(instance_id)
    history = kit.history(instance_id)
    kinds = [event_type(event) for event in history]
    observed = {
        "instance_id": instance_id,
        "EventSent": kinds.count("EventSent"),
        "HumanApproval": len(approval_events(history)),
        "TimerCreated": kinds.count("TimerCreated"),
        "TimerFired": kinds.count("TimerFired"),
        "runtimeStatus": status.get("runtimeStatus"),
    }
    if observed["runtimeStatus"] in FINISHED_STATUSES:  # keep only a finished run's facts
        _observed[kit] = observed
    return observed


@never_raises
def predict_timeout(kit: Any, predicted: Any) -> Verdict:
    """Exercise 2: `predicted` counts the history of "reject draft 1, then nobody answers draft 2".

    Runs that scenario on the kit (once per kit; about 2 × 3 s) and compares each predicted count, and how the
    instance ends, with the instance's real history.
    """
    if not isinstance(predicted, dict):
        return not_yet(f"predicted is {type(predicted).__name__}, not the dict of the template.")
    missing = [key for key in PREDICTION_KEYS if predicted.get(key, Ellipsis) is Ellipsis]
    if missing:
        return not_yet(
            f"fill in every ... in predicted (still open: {', '.join(missing)}).",
            'Write your guess: a number for each event, "Completed" or "Failed" for runtimeStatus.',
        )
    observed = timeout_scenario(kit)
    wrong = [key for key in PREDICTION_KEYS if _normal(predicted[key]) != _normal(observed[key])]
    if observed["runtimeStatus"] not in FINISHED_STATUSES:
        return not_yet(
            f"the check's instance did not finish ({observed['runtimeStatus']}).", "Look at kit.host_log() for errors."
        )
    if wrong:
        details = "; ".join(f"{key}: you said {predicted[key]!r}" for key in wrong)
        return not_yet(
            f"{len(wrong)} of {len(PREDICTION_KEYS)} wrong ({details}).",
            " ".join(PREDICTION_HINTS[key] for key in wrong),
        )
    return passed(
        f"all {len(PREDICTION_KEYS)} right: 2 writer turns, 1 decision, 2 timers created and both fired "
        "(draft 1's lost the race, fired anyway and was ignored), and the instance Failed."
    )


def _normal(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value
