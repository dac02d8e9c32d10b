"""Lesson 06's self-checks tell a right answer from realistic wrong ones, and never raise.

One kit for the module (offline model, 100 ms per call): each answer below is a `review(kit, instance_id)`
function as a learner would write it in the notebook, run by `lab.checks.hitl.reject_then_approve`, or a
`predicted` dict for `lab.checks.hitl.predict_timeout` (whose scenario runs once per kit).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from helpers import lab, processes
from helpers.lab.checks import hitl

FEEDBACK = "Add one practical tip for beginners."
EVENT = "HumanApproval"


@pytest.fixture(scope="module")
def kit() -> Iterator[lab.Lab]:
    kit = lab.start(model="offline", host="embedded", latency_ms=100, app_dir=lab.TEACHING_APP)
    try:
        yield kit
    finally:
        kit.stop()


def wait_for_draft(kit: lab.Lab, instance_id: str, draft: int) -> None:
    status = hitl.wait_for_review(kit, instance_id, draft, timeout=30)
    assert hitl.custom_status(status).get("draft") == draft, status


# ------------------------------------------------------------------------------------ answers to exercise 1


def right_answer(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": FEEDBACK})
    wait_for_draft(kit, instance_id, 2)
    kit.raise_event(instance_id, EVENT, {"approved": True})


def right_answer_through_app_route(kit: lab.Lab, instance_id: str) -> None:
    """The app's own route sends the decision through the SDK client (the event data arrives as JSON text)."""
    approve = f"{kit.base_url}/api/hitl/approve/{instance_id}"
    httpx.post(approve, json={"approved": False, "feedback": FEEDBACK}).raise_for_status()
    wait_for_draft(kit, instance_id, 2)
    httpx.post(approve, json={"approved": True}).raise_for_status()


def template(kit: lab.Lab, instance_id: str) -> None:
    # TODO: reject the first draft with my_feedback, then approve the revision
    raise NotImplementedError


def approve_at_once(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": True})


def reject_without_feedback(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False})
    wait_for_draft(kit, instance_id, 2)
    kit.raise_event(instance_id, EVENT, {"approved": True})


def reject_with_other_words(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": "Make it better."})
    wait_for_draft(kit, instance_id, 2)
    kit.raise_event(instance_id, EVENT, {"approved": True})


def approve_before_the_revision(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": FEEDBACK})
    kit.raise_event(instance_id, EVENT, {"approved": True})  # draft 2 does not exist yet


def reject_only(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": FEEDBACK})


def wrong_event_name(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, "Approval", {"approved": False, "feedback": FEEDBACK})


def crashes(kit: lab.Lab, instance_id: str) -> None:
    kit.raise_event(instance_id, EVENT, {"approved": False, "feedback": FEEDBACK})
    raise KeyError("draft")


def check(kit: lab.Lab, review: Any, feedback: Any = FEEDBACK) -> lab.checks.Verdict:
    verdict = hitl.reject_then_approve(kit, review, feedback)
    assert isinstance(verdict, lab.checks.Verdict)
    assert verdict.message and repr(verdict).startswith("✓" if verdict.ok else "✗ Not yet")
    return verdict


@pytest.mark.parametrize("review", [right_answer, right_answer_through_app_route])
def test_a_right_review_passes(kit: lab.Lab, review: Any) -> None:
    verdict = check(kit, review)
    assert verdict.ok is True, verdict
    assert "2 drafts" in verdict.message


@pytest.mark.parametrize(
    ("review", "feedback", "says"),
    [
        (template, FEEDBACK, "NotImplementedError"),
        (right_answer, ..., "my_feedback"),
        (right_answer, "   ", "my_feedback"),
        (approve_at_once, FEEDBACK, "approved draft 1"),
        (reject_without_feedback, FEEDBACK, "no feedback"),
        (reject_with_other_words, FEEDBACK, "not my_feedback"),
        (approve_before_the_revision, FEEDBACK, "before draft 2 existed"),
        (reject_only, FEEDBACK, "still waiting"),
        (wrong_event_name, FEEDBACK, "'Approval'"),
        (crashes, FEEDBACK, "KeyError"),
    ],
)
def test_a_wrong_review_is_not_yet(kit: lab.Lab, review: Any, feedback: Any, says: str) -> None:
    verdict = check(kit, review, feedback)
    assert verdict.ok is False, verdict
    assert says in verdict.message, verdict
    assert verdict.hint or "NotImplementedError" in verdict.message


def test_the_check_leaves_no_instance_waiting(kit: lab.Lab) -> None:
    response = httpx.get(kit.durable_url("instances"), params={"runtimeStatus": "Running,Pending"}, trust_env=False)
    running = [item for item in response.json() if item.get("name") == hitl.ORCHESTRATION]
    assert running == []


def test_a_kit_that_does_not_answer_is_not_yet_not_an_exception() -> None:
    with httpx.Client(trust_env=False) as client:
        gone = SimpleNamespace(base_url=f"http://127.0.0.1:{processes.free_port()}", wait_budget=1.0, _http=client)
        for verdict in (
            hitl.reject_then_approve(gone, right_answer, FEEDBACK),
            hitl.predict_timeout(gone, dict(RIGHT_PREDICTION)),
        ):
            assert verdict.ok is False and "could not run" in verdict.message, verdict


# ------------------------------------------------------------------------------------ exercise 2

RIGHT_PREDICTION = {"EventSent": 2, "HumanApproval": 1, "TimerCreated": 2, "TimerFired": 2, "runtimeStatus": "Failed"}


def test_the_right_prediction_passes(kit: lab.Lab) -> None:
    verdict = hitl.predict_timeout(kit, dict(RIGHT_PREDICTION))
    assert verdict.ok is True, verdict


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"TimerFired": 1}, "TimerFired"),  # the classic: "the losing timer was cancelled"
        ({"runtimeStatus": "Completed"}, "runtimeStatus"),
        ({"EventSent": 1, "TimerCreated": 1}, "2 of 5 wrong"),
        ({"HumanApproval": ...}, "fill in"),  # the template, partly filled in
    ],
)
def test_a_wrong_prediction_is_not_yet(kit: lab.Lab, change: dict[str, Any], says: str) -> None:
    verdict = hitl.predict_timeout(kit, {**RIGHT_PREDICTION, **change})
    assert verdict.ok is False and says in verdict.message, verdict
    assert verdict.hint


def test_the_template_prediction_is_not_yet_without_running(kit: lab.Lab) -> None:
    verdict = hitl.predict_timeout(kit, {key: ... for key in RIGHT_PREDICTION})
    assert verdict.ok is False and "fill in" in verdict.message
    assert hitl.predict_timeout(kit, None).ok is False
