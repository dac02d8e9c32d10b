"""lab.checks.versioning: the self-check passes a right answer and tells realistic wrong ones apart.

The answers below are what a learner writes in lesson 08's exercise cell. They are deployed together once, with
the version the check deploys them with, so each check finds its code already on the host and restarts nothing;
every check then runs its three instances (1.0, 2.0, new) on a shared kit. No check may raise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from helpers import lab
from helpers.lab.checks import Verdict, versioning

if TYPE_CHECKING:  # kit.deploy runs these inside the teaching app, which defines them
    from functions_app.function_app import WRITER_AGENT_NAME, app

pytestmark = pytest.mark.slow
NEW_VERSION = "3.0"


@lab.orchestrator
def newsletter_right(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    draft = yield writer.run(f"One sentence about {context.get_input()}.", session=writer.create_session())
    if context.version != "1.0":
        yield context.call_activity("check_facts", draft.text)
    yield context.call_activity("notify_reviewer", draft.text)
    yield context.wait_for_external_event("Approve")
    if context.version not in ("1.0", "2.0"):
        yield context.call_activity("translate_newsletter", draft.text)
    return (yield context.call_activity("publish_newsletter", draft.text))


@lab.orchestrator
def newsletter_translates_for_everyone(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    draft = yield writer.run(f"One sentence about {context.get_input()}.", session=writer.create_session())
    if context.version != "1.0":
        yield context.call_activity("check_facts", draft.text)
    yield context.call_activity("notify_reviewer", draft.text)
    yield context.wait_for_external_event("Approve")
    yield context.call_activity("translate_newsletter", draft.text)
    return (yield context.call_activity("publish_newsletter", draft.text))


@lab.orchestrator
def newsletter_branch_on_another_version(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    draft = yield writer.run(f"One sentence about {context.get_input()}.", session=writer.create_session())
    if context.version != "1.0":
        yield context.call_activity("check_facts", draft.text)
    yield context.call_activity("notify_reviewer", draft.text)
    yield context.wait_for_external_event("Approve")
    if context.version == "4.0":  # not the version deployed: no instance ever translates
        yield context.call_activity("translate_newsletter", draft.text)
    return (yield context.call_activity("publish_newsletter", draft.text))


@lab.orchestrator
def newsletter_without_the_1_0_path(context):
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    draft = yield writer.run(f"One sentence about {context.get_input()}.", session=writer.create_session())
    yield context.call_activity("check_facts", draft.text)
    yield context.call_activity("notify_reviewer", draft.text)
    yield context.wait_for_external_event("Approve")
    if context.version not in ("1.0", "2.0"):
        yield context.call_activity("translate_newsletter", draft.text)
    return (yield context.call_activity("publish_newsletter", draft.text))


@lab.orchestrator
def newsletter_template(context):
    raise NotImplementedError("write the 3.0 newsletter, then delete this line")


ANSWERS = (
    newsletter_right,
    newsletter_translates_for_everyone,
    newsletter_branch_on_another_version,
    newsletter_without_the_1_0_path,
)


@pytest.fixture(scope="module")
def kit():
    started = lab.start(model="offline", host="embedded", app_dir=lab.TEACHING_APP, latency_ms=20)
    try:
        started.deploy(*ANSWERS, durable_task={"defaultVersion": NEW_VERSION})  # one restart for every answer
        yield started
    finally:
        started.stop()


def check(kit, orchestrator, new_version=NEW_VERSION) -> Verdict:
    verdict = versioning.translate_for_new_instances(kit, orchestrator, new_version)
    assert isinstance(verdict, Verdict)
    return verdict


def test_the_right_answer_passes(kit) -> None:
    verdict = check(kit, newsletter_right)
    assert verdict.ok, verdict


def test_a_step_for_every_instance_is_not_yet(kit) -> None:
    verdict = check(kit, newsletter_translates_for_everyone)
    assert not verdict.ok and "1.0 instance ran" in verdict.message and "must not translate" in verdict.hint


def test_a_branch_that_never_matches_is_not_yet(kit) -> None:
    verdict = check(kit, newsletter_branch_on_another_version)
    assert not verdict.ok and "new (3.0) instance ran" in verdict.message and "did not match" in verdict.hint


def test_a_dropped_old_path_is_not_yet(kit) -> None:
    verdict = check(kit, newsletter_without_the_1_0_path)
    assert not verdict.ok and "1.0 instance ran check_facts" in verdict.message and "keep the 1.0 path" in verdict.hint


@pytest.mark.parametrize(
    ("new_version", "words"),
    [
        (..., "set new_version"),
        ("2.0", "the version running now"),
        ("1.5", "older than the running 2.0"),
        (3.0, "a string of numbers"),
        ("v3", "a string of numbers"),
    ],
)
def test_a_version_that_is_not_newer_is_not_yet_before_anything_is_deployed(new_version, words) -> None:
    verdict = versioning.translate_for_new_instances(None, newsletter_right, new_version)  # no kit: never reached
    assert not verdict.ok and words in verdict.message, verdict


def test_the_template_is_not_yet() -> None:
    verdict = versioning.translate_for_new_instances(None, newsletter_template, NEW_VERSION)
    assert not verdict.ok and "NotImplementedError" in verdict.message
