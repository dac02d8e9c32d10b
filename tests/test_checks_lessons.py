"""The self-checks of lessons 02-05 tell a right answer from wrong ones, and never raise.

Every answer is real code run on a real kit (offline model, teaching app). The orchestrators below are the
answers a learner might write; they are deployed once, together, so each check finds its answer already on the
host (`kit.deploy` leaves the host alone when nothing changed).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from helpers import lab
from helpers.lab import checks

pytestmark = pytest.mark.timeout(180)


# ------------------------------------------------------------------------------------ answers to lesson 02


@lab.orchestrator
def three_turns(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821 — names of the app it is deployed to
    session = writer.create_session()
    first = yield writer.run("Write a concise inspirational sentence about learning.", session=session)
    second = yield writer.run(f"Improve this further: {answer_text(first, WRITER_AGENT_NAME)}", session=session)  # noqa: F821
    third = yield writer.run(f"Give this a title: {answer_text(second, WRITER_AGENT_NAME)}", session=session)  # noqa: F821
    return answer_text(third, WRITER_AGENT_NAME)  # noqa: F821


@lab.orchestrator
def three_turns_new_sessions(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821
    first = yield writer.run("Write a sentence.", session=writer.create_session())
    second = yield writer.run(f"Improve: {answer_text(first, WRITER_AGENT_NAME)}", session=writer.create_session())  # noqa: F821
    third = yield writer.run(f"Title: {answer_text(second, WRITER_AGENT_NAME)}", session=writer.create_session())  # noqa: F821
    return answer_text(third, WRITER_AGENT_NAME)  # noqa: F821


@lab.orchestrator
def two_turns_only(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821
    session = writer.create_session()
    first = yield writer.run("Write a sentence.", session=session)
    second = yield writer.run(f"Improve: {answer_text(first, WRITER_AGENT_NAME)}", session=session)  # noqa: F821
    return answer_text(second, WRITER_AGENT_NAME)  # noqa: F821


@lab.orchestrator
def three_turns_template(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821, F841 (the lesson's unsolved cell, as shipped)
    raise NotImplementedError("write the three turns, then delete this line")


# ------------------------------------------------------------------------------------ answers to lesson 03


@lab.orchestrator
def experts_then_writer(context):
    prompt = context.get_input()
    physicist = app.get_agent(context, PHYSICIST_AGENT_NAME)  # noqa: F821
    chemist = app.get_agent(context, CHEMIST_AGENT_NAME)  # noqa: F821
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821
    physics, chemistry = yield context.task_all(
        [
            physicist.run(prompt, session=physicist.create_session()),
            chemist.run(prompt, session=chemist.create_session()),
        ]
    )
    p, c = answer_text(physics, PHYSICIST_AGENT_NAME), answer_text(chemistry, CHEMIST_AGENT_NAME)  # noqa: F821
    combined = yield writer.run(f"Combine: {p}\n\n{c}", session=writer.create_session())
    return {"physicist": p, "chemist": c, "combined": answer_text(combined, WRITER_AGENT_NAME)}  # noqa: F821


@lab.orchestrator
def experts_one_after_the_other(context):
    prompt = context.get_input()
    physicist = app.get_agent(context, PHYSICIST_AGENT_NAME)  # noqa: F821
    chemist = app.get_agent(context, CHEMIST_AGENT_NAME)  # noqa: F821
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821
    physics = yield physicist.run(prompt, session=physicist.create_session())
    chemistry = yield chemist.run(prompt, session=chemist.create_session())
    p, c = answer_text(physics, PHYSICIST_AGENT_NAME), answer_text(chemistry, CHEMIST_AGENT_NAME)  # noqa: F821
    combined = yield writer.run(f"Combine: {p}\n\n{c}", session=writer.create_session())
    return {"physicist": p, "chemist": c, "combined": answer_text(combined, WRITER_AGENT_NAME)}  # noqa: F821


@lab.orchestrator
def writer_without_the_answers(context):
    prompt = context.get_input()
    physicist = app.get_agent(context, PHYSICIST_AGENT_NAME)  # noqa: F821
    chemist = app.get_agent(context, CHEMIST_AGENT_NAME)  # noqa: F821
    writer = app.get_agent(context, WRITER_AGENT_NAME)  # noqa: F821
    yield context.task_all(
        [
            physicist.run(prompt, session=physicist.create_session()),
            chemist.run(prompt, session=chemist.create_session()),
        ]
    )
    combined = yield writer.run(f"Write about: {prompt}", session=writer.create_session())
    return answer_text(combined, WRITER_AGENT_NAME)  # noqa: F821


# ------------------------------------------------------------------------------------ answers to lesson 04


@lab.orchestrator
def reminders(context):
    for step in (1, 2, 3):
        if not context.is_replaying:
            logger.info("%s: sending reminder %d", context.instance_id, step)  # noqa: F821
        yield context.call_activity("greet", f"reminder {step}")
    return "sent"


@lab.orchestrator
def reminders_unguarded(context):
    for step in (1, 2, 3):
        logger.info("%s: sending reminder %d", context.instance_id, step)  # noqa: F821
        yield context.call_activity("greet", f"reminder {step}")
    return "sent"


@lab.orchestrator
def reminders_inverted_guard(context):
    for step in (1, 2, 3):
        if context.is_replaying:
            logger.info("%s: sending reminder %d", context.instance_id, step)  # noqa: F821
        yield context.call_activity("greet", f"reminder {step}")
    return "sent"


@lab.orchestrator
def reminders_skipping_work(context):
    for step in (1, 2, 3):
        if not context.is_replaying:
            logger.info("%s: sending reminder %d", context.instance_id, step)  # noqa: F821
            yield context.call_activity("greet", f"reminder {step}")
    return "sent"


ANSWERS = (
    three_turns,
    three_turns_new_sessions,
    two_turns_only,
    experts_then_writer,
    experts_one_after_the_other,
    writer_without_the_answers,
    reminders,
    reminders_unguarded,
    reminders_inverted_guard,
    reminders_skipping_work,
)


@pytest.fixture(scope="module")
def kit() -> Iterator[lab.Lab]:
    running = lab.start(model="offline", latency_ms=20, app_dir=lab.TEACHING_APP)
    running.deploy(*ANSWERS)
    yield running
    running.stop()


def test_the_prediction_check_knows_the_rule() -> None:
    assert checks.chaining.predictions(4, 3).ok
    assert not checks.chaining.predictions(3, 3).ok
    assert not checks.chaining.predictions(4, 4).ok
    assert "`...`" in checks.chaining.predictions(..., ...).message


def test_three_turns_on_one_session_is_right_and_other_chains_are_not(kit: lab.Lab) -> None:
    right = checks.chaining.three_turns(kit, three_turns)
    assert right.ok and "4 episodes and 3 model calls" in right.message, right
    new_sessions = checks.chaining.three_turns(kit, three_turns_new_sessions)
    assert not new_sessions.ok and "different sessions" in new_sessions.message
    two = checks.chaining.three_turns(kit, two_turns_only)
    assert not two.ok and "2 agent call(s)" in two.message
    template = checks.chaining.three_turns(kit, three_turns_template)
    assert not template.ok and "NotImplementedError" in template.message


def test_fan_out_then_fan_in_is_right_and_sequential_or_uninformed_writers_are_not(kit: lab.Lab) -> None:
    # Model calls long enough that two calls sent in one episode overlap however busy the machine is (the check
    # compares their times); the lesson's own default latency is longer still.
    httpx.post(kit.model_url + "/admin/latency", json={"latency_ms": 300}, timeout=5).raise_for_status()
    try:
        right = checks.concurrency.experts_then_writer(kit, experts_then_writer)
    finally:
        httpx.post(kit.model_url + "/admin/latency", json={"latency_ms": kit.latency_ms}, timeout=5).raise_for_status()
    assert right.ok, right
    sequential = checks.concurrency.experts_then_writer(kit, experts_one_after_the_other)
    assert not sequential.ok and "one after the other" in sequential.message
    uninformed = checks.concurrency.experts_then_writer(kit, writer_without_the_answers)
    assert not uninformed.ok and "does not contain" in uninformed.message


def test_only_the_guard_that_skips_logging_on_replay_passes(kit: lab.Lab) -> None:
    right = checks.replay.guarded_reminders(kit, reminders)
    assert right.ok, right
    unguarded = checks.replay.guarded_reminders(kit, reminders_unguarded)
    assert not unguarded.ok and "[1, 1, 2, 1, 2, 3, 1, 2, 3]" in unguarded.message
    inverted = checks.replay.guarded_reminders(kit, reminders_inverted_guard)
    assert not inverted.ok
    skipping = checks.replay.guarded_reminders(kit, reminders_skipping_work)
    assert not skipping.ok  # branching the work on is_replaying breaks replay


def test_the_replay_safe_quiz_is_checked_answer_by_answer() -> None:
    right = dict(checks.replay.REPLAY_SAFE)
    assert checks.replay.replay_safe(right).ok
    assert not checks.replay.replay_safe({**right, "uuid.uuid4()": True}).ok
    assert "still `...`" in checks.replay.replay_safe({**right, "random.random()": ...}).message


def test_separate_sessions_need_two_fresh_keys(kit: lab.Lab) -> None:
    assert checks.sharing.separate_sessions(kit, "test-rivers", "test-mountains").ok
    assert not checks.sharing.separate_sessions(kit, "same", "same").ok
    assert not checks.sharing.separate_sessions(kit, "shared", "other").ok
    assert not checks.sharing.separate_sessions(kit, ..., ...).ok
    # keys that already hold the other run's turns
    reused = checks.sharing.separate_sessions(kit, "test-mountains", "test-rivers")
    assert not reused.ok and "'?'" in reused.message


def test_a_check_that_cannot_run_says_not_yet_instead_of_raising() -> None:
    class Stopped:
        def deploy(self, *functions):
            raise lab.LabError("The kit has not started.")

    verdict = checks.chaining.three_turns(Stopped(), three_turns)
    assert not verdict.ok and "The kit has not started." in verdict.message
