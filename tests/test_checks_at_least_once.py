"""lab.checks.at_least_once: each self-check passes a right answer and tells realistic wrong ones apart.

The answers below are what a learner writes in lesson 07's exercise cells. Each check deploys one of them on a
shared kit (the teaching app, offline model) and judges the instances it ran; no check may raise.
"""

from __future__ import annotations

import pytest

from helpers import lab
from helpers.lab.checks import Verdict, at_least_once

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kit():
    # The send's receipt wait: no crash here, so keep it short. Set for the whole module, because every
    # restart of the host (kit.deploy) starts it with the environment of that moment.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAB_RECEIPT_SECONDS", "0.2")
        started = lab.start(model="offline", host="embedded", app_dir=lab.TEACHING_APP, latency_ms=20)
        try:
            yield started
        finally:
            started.stop()


# ------------------------------------------------------------------------------- exercise 1: the answers


@lab.orchestrator
def welcome_right(context):
    user = context.get_input()
    key = f"{context.instance_id}:welcome-email"
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


@lab.orchestrator
def welcome_uuid4(context):
    import uuid

    user = context.get_input()
    key = str(uuid.uuid4())
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


@lab.orchestrator
def welcome_new_uuid(context):
    user = context.get_input()
    key = str(context.new_uuid())
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


@lab.orchestrator
def welcome_constant(context):
    user = context.get_input()
    key = "welcome-email"
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


@lab.orchestrator
def welcome_without_key(context):
    user = context.get_input()
    return (yield context.call_activity("send_welcome_email", {"to": user, "instance": context.instance_id}))


@lab.orchestrator
def welcome_template(context):
    user = context.get_input()
    key = ...  # TODO: build the idempotency key from the instance id and the step
    raise NotImplementedError("Build the key, then delete this line.")
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


# ------------------------------------------------------------------------------- exercise 2: the answers


@lab.orchestrator
def lookup_right(context):
    request = {"city": "Oslo", "instance": context.instance_id}
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=200, max_number_of_attempts=3)  # noqa: F821
    return (yield context.call_activity_with_retry("flaky_lookup", retry, request))


@lab.orchestrator
def lookup_no_retry(context):
    request = {"city": "Oslo", "instance": context.instance_id}
    return (yield context.call_activity("flaky_lookup", request))


@lab.orchestrator
def lookup_two_attempts(context):
    request = {"city": "Oslo", "instance": context.instance_id}
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=200, max_number_of_attempts=2)  # noqa: F821
    return (yield context.call_activity_with_retry("flaky_lookup", retry, request))


@lab.orchestrator
def lookup_template(context):
    request = {"city": "Oslo", "instance": context.instance_id}  # noqa: F841 (the lesson's unsolved cell, as shipped)
    # TODO: call flaky_lookup so that it survives its two failures
    raise NotImplementedError("Call flaky_lookup with retries, then delete this line.")


def lookup_not_marked(context):
    return (yield context.call_activity("flaky_lookup", {"city": "Oslo", "instance": context.instance_id}))


# --------------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module", autouse=True)
def deployed_answers(kit):
    """Deploy the answers in one host restart: a check's own `kit.deploy` then finds them there and restarts
    nothing (kit.deploy skips a restart when the source is unchanged). `lookup_right` is left out, so one check
    really deploys."""
    kit.deploy(
        welcome_right,
        welcome_uuid4,
        welcome_new_uuid,
        welcome_constant,
        welcome_without_key,
        lookup_no_retry,
        lookup_two_attempts,
    )


def test_right_key_passes(kit):
    verdict = at_least_once.idempotency_key(kit, welcome_right)
    assert verdict.ok is True, verdict
    assert "One e-mail per instance" in verdict.message and "Tip" not in verdict.message


def test_uuid4_key_fails_the_rerun(kit):
    verdict = at_least_once.idempotency_key(kit, welcome_uuid4)
    assert verdict.ok is False, verdict
    assert "re-running instance A" in verdict.message and "uuid.uuid4()" in verdict.hint


def test_new_uuid_key_fails_the_rerun(kit):
    verdict = at_least_once.idempotency_key(kit, welcome_new_uuid)
    assert verdict.ok is False, verdict
    assert "re-running instance A" in verdict.message and "context.new_uuid()" in verdict.hint


def test_constant_key_fails_instance_b(kit):
    verdict = at_least_once.idempotency_key(kit, welcome_constant)
    assert verdict.ok is False, verdict
    assert "instance" in verdict.message and "context.instance_id" in verdict.hint
    # run again (the same code stays deployed): the constant key is in the outbox now, so even A finds it taken
    deployments = kit.deployments
    again = at_least_once.idempotency_key(kit, welcome_constant)
    assert again.ok is False and "instance A sent no e-mail" in again.message, again
    assert kit.deployments == deployments


def test_send_without_key_fails(kit):
    verdict = at_least_once.idempotency_key(kit, welcome_without_key)
    assert verdict.ok is False and "without an idempotency key" in verdict.message, verdict


def test_unsolved_templates_are_not_yet(kit):
    for check, template in (
        (at_least_once.idempotency_key, welcome_template),
        (at_least_once.lookup_retries, lookup_template),
    ):
        verdict = check(kit, template)
        assert isinstance(verdict, Verdict) and verdict.ok is False, verdict
        assert "NotImplementedError" in verdict.message and verdict.hint
        assert repr(verdict).startswith("✗ Not yet:")


def test_retry_right_passes(kit):
    deployments = kit.deployments
    verdict = at_least_once.lookup_retries(kit, lookup_right)
    assert kit.deployments == deployments + 1  # this check deployed the answer itself
    assert verdict.ok is True, verdict
    assert "TaskFailed, TaskFailed, then TaskCompleted" in verdict.message
    assert repr(verdict).startswith("✓ ")


def test_no_retry_fails(kit):
    verdict = at_least_once.lookup_retries(kit, lookup_no_retry)
    assert verdict.ok is False and "first failure" in verdict.message, verdict
    assert "call_activity_with_retry" in verdict.hint


def test_too_few_attempts_fail(kit):
    verdict = at_least_once.lookup_retries(kit, lookup_two_attempts)
    assert verdict.ok is False and "after 2 attempts" in verdict.message, verdict
    assert "3 attempts" in verdict.hint


def test_checks_never_raise(kit):
    assert at_least_once.lookup_retries(kit, lookup_not_marked).ok is False
    assert at_least_once.lookup_retries(kit, 42).ok is False
    assert at_least_once.idempotency_key(None, welcome_right).ok is False
    assert kit.host_running  # the kit is still usable after all of the above
