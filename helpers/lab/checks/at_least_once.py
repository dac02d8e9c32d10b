"""Self-checks for lesson 07 (at least once): an idempotency key, and retries for a flaky activity.

Both checks run the learner's orchestrator on the kit (`kit.deploy`) and judge what it did through the public
surface: the instance's status and history (Durable HTTP API) and the teaching app's outbox (`/api/lab/outbox`).

- `idempotency_key(kit, orchestrator)`: the orchestrator sends one welcome e-mail through
  `send_welcome_email_once`. Instance A runs; then A is **re-run from the start with the same instance id**
  (the Durable API's restart route), which is what a repeat of the same work looks like to the outbox; then
  instance B runs. One e-mail for A after both runs of A means the key is the same every time A sends (a
  `uuid.uuid4()` key, a clock or `context.new_uuid()` fail here); an e-mail for B too means the key differs
  between instances (a constant key fails here).
- `lookup_retries(kit, orchestrator)`: the orchestrator calls `flaky_lookup`, which fails twice per instance
  and then answers. It must complete, and its history must show the two failures before the success.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from ...durable_vocabulary import FINISHED_STATUSES
from ..errors import LabError
from . import Verdict, never_raises, not_yet, passed, unsolved

RUN_TIMEOUT = 30.0  # seconds one instance may take: the exercises call no model, only activities and timers
RESTART_SIGN_SECONDS = 5.0  # how long to look for a sign that a restarted instance runs again
FLAKY_FAILURES = 2  # flaky_lookup's failures per instance (notebooks/apps/teaching_app/at_least_once.py)
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?([0-9a-fA-F])[0-9a-fA-F]{3}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_CLOCK = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


# ------------------------------------------------------------------------------------------------ helpers


def _run(kit: Any, name: str, payload: Any, instance_id: str) -> dict[str, Any]:
    """Start orchestrator `name` as `instance_id` and wait for it to finish (terminated after RUN_TIMEOUT)."""
    kit.start_orchestration(name, payload, instance_id=instance_id)
    return _wait(kit, instance_id)


def _wait(kit: Any, instance_id: str, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The instance's final status. `before`: its status before a restart, so the old final status (which a
    host that restarts asynchronously may still show for a moment) is not taken for the new one."""
    started = time.monotonic()
    deadline = started + RUN_TIMEOUT
    seen_new_run = before is None
    while True:
        status = kit.status(instance_id)
        finished = status.get("runtimeStatus") in FINISHED_STATUSES
        if not seen_new_run:
            seen_new_run = (
                not finished
                or time.monotonic() - started > RESTART_SIGN_SECONDS
                or any(status.get(f) != (before or {}).get(f) for f in ("createdTime", "output"))
            )
        if finished and seen_new_run:
            return status
        if time.monotonic() > deadline:
            kit.terminate(instance_id, "self-check")
            status["runtimeStatus"] = f"still {status.get('runtimeStatus')} after {RUN_TIMEOUT:.0f} s (terminated)"
            return status
        time.sleep(0.1)


def _restart_same_id(kit: Any, instance_id: str) -> dict[str, Any]:
    """Re-run a finished instance from the start under the same id (Durable HTTP API restart route)."""
    before = kit.status(instance_id)
    kit.restart_instance(instance_id, new_instance_id=False)
    return _wait(kit, instance_id, before)


def _outbox(kit: Any, to: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{kit.base_url}/api/lab/outbox", timeout=10.0, trust_env=False)
    response.raise_for_status()
    return [entry for entry in response.json() if entry.get("to") == to]


def _reason(status: dict[str, Any], limit: int = 200) -> str:
    text = " ".join(str(status.get("output") or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _deploy(kit: Any, orchestrator: Callable[..., Any]) -> Verdict | None:
    """Deploy the learner's function; a Verdict when that failed (their code does not load), else None."""
    if getattr(orchestrator, "__lab_trigger__", None) != "orchestration":
        return not_yet(
            f"{getattr(orchestrator, '__name__', orchestrator)!r} is not marked as an orchestrator.",
            "put @lab.orchestrator on the line above `def`, run that cell, then this one.",
        )
    try:  # the same code deployed before: the host keeps running as it is
        kit.deploy(orchestrator)
    except LabError as error:
        return not_yet(
            f"your orchestrator did not load on the host: {error}",
            "fix the code cell (the message quotes the host), run it, then this check again.",
        )
    return None


def _label(text: str, ids: dict[str, str]) -> str:
    for instance_id, label in ids.items():
        text = text.replace(instance_id, label)
    return text


def _why_the_key_changed(keys: list[str]) -> str:
    """A hint from what two keys of the same instance look like."""
    versions = {match.group(1) for key in keys for match in [_UUID.search(key)] if match}
    if "4" in versions:
        return (
            "uuid.uuid4() is new on every call: a re-run (or a replay) of the same instance makes another key. "
            "Build the key from context.instance_id and a name for the step instead."
        )
    if "5" in versions:
        return (
            "context.new_uuid() is the same on every *replay*, but it depends on when the execution started, "
            "so a re-run from the start gets a new one. Build the key from context.instance_id and a name "
            "for the step instead."
        )
    if any(_CLOCK.search(key) for key in keys):
        return (
            "the time changes when the instance runs again. Build the key from context.instance_id and a "
            "name for the step instead."
        )
    return "use only what is the same in every run of this instance: context.instance_id and a name for the step."


# ---------------------------------------------------------------------------------------- exercise 1


@never_raises
def idempotency_key(kit: Any, orchestrator: Callable[..., Any]) -> Verdict:
    """Does `orchestrator` send one e-mail per instance, however often that instance runs?"""
    name = getattr(orchestrator, "__name__", str(orchestrator))
    if unsolved(orchestrator):
        return not_yet(
            f"{name} still raises NotImplementedError.",
            "build `key` from context.instance_id and the step's name, delete the `raise` line, run "
            "the cell, then this check.",
        )
    failed = _deploy(kit, orchestrator)
    if failed:
        return failed
    id_a, id_b = uuid.uuid4().hex, uuid.uuid4().hex
    labels = {id_a: "<A's instance id>", id_b: "<B's instance id>"}
    user_a, user_b = f"ada.{id_a[:8]}@example.com", f"grace.{id_b[:8]}@example.com"

    first = _run(kit, name, user_a, id_a)
    if first["runtimeStatus"] != "Completed":
        return not_yet(
            f"instance A ended {first['runtimeStatus']}: {_label(_reason(first), labels)}",
            "send the e-mail with call_activity('send_welcome_email_once', {\"to\": user, "
            '"instance": context.instance_id, "idempotency_key": key}).',
        )
    sent_a = _outbox(kit, user_a)
    if not sent_a and str(first.get("output") or "").startswith("already sent"):
        return not_yet(
            f"instance A sent no e-mail: an earlier send had used the same key already "
            f"({_label(_reason(first, 80), labels)!r}).",
            "the key must differ from one instance to the next: put context.instance_id in it.",
        )
    if not sent_a:
        return not_yet(
            "instance A completed, but the outbox holds no e-mail to the user it was given.",
            "send to `context.get_input()` through send_welcome_email_once.",
        )
    if any(entry.get("key") is None for entry in sent_a):
        return not_yet(
            "instance A sent its e-mail without an idempotency key (send_welcome_email).",
            "call send_welcome_email_once, which takes the key as 'idempotency_key'.",
        )
    if len(sent_a) > 1:
        return not_yet(
            f"one run of instance A sent {len(sent_a)} e-mails.",
            "send one e-mail: one call_activity('send_welcome_email_once', ...).",
        )

    again = _restart_same_id(kit, id_a)
    sent_a = _outbox(kit, user_a)
    keys_a = [_label(entry["key"], labels) for entry in sent_a]
    if again["runtimeStatus"] != "Completed":
        return not_yet(
            f"re-running instance A ended {again['runtimeStatus']}: {_label(_reason(again), labels)}",
            "the same code must also work when the instance runs again from the start.",
        )
    if len(sent_a) > 1:
        return not_yet(
            f"re-running instance A from the start sent a second e-mail: its key changed between the "
            f"two runs ({' then '.join(repr(k) for k in keys_a)}).",
            _why_the_key_changed([entry["key"] for entry in sent_a]),
        )

    other = _run(kit, name, user_b, id_b)
    sent_b = _outbox(kit, user_b)
    if other["runtimeStatus"] != "Completed":
        return not_yet(
            f"instance B ended {other['runtimeStatus']}: {_label(_reason(other), labels)}",
            "the orchestrator must work for any instance and any user.",
        )
    if not sent_b:
        return not_yet(
            f"instance B sent no e-mail: its key was the same as A's ({keys_a[0]!r}), so the outbox took "
            f"B's send for a repeat of A's (B's result: {_label(_reason(other, 80), labels)!r}).",
            "the key must differ from one instance to the next: put context.instance_id in it.",
        )
    key_a = sent_a[0]["key"]
    note = ""
    if key_a == id_a:
        note = (
            ' Tip: add the step\'s name to the key (e.g. f"{context.instance_id}:welcome-email"), so a second '
            "send in the same orchestration gets a key of its own."
        )
    return passed(
        f"One e-mail per instance: A sent one, A re-run from the start found its key "
        f"({keys_a[0]!r}) and sent none, B sent its own.{note}"
    )


# ---------------------------------------------------------------------------------------- exercise 2


def _events(kit: Any, instance_id: str) -> list[tuple[str, str]]:
    return [(row["event"], row["name"]) for row in kit.history_table(instance_id)]


@never_raises
def lookup_retries(kit: Any, orchestrator: Callable[..., Any]) -> Verdict:
    """Does `orchestrator` get flaky_lookup's answer by retrying through its two failures?"""
    name = getattr(orchestrator, "__name__", str(orchestrator))
    if unsolved(orchestrator):
        return not_yet(
            f"{name} still raises NotImplementedError.",
            "call flaky_lookup with context.call_activity_with_retry(...) and a df.RetryOptions, delete "
            "the `raise` line, run the cell, then this check.",
        )
    failed = _deploy(kit, orchestrator)
    if failed:
        return failed
    instance_id = uuid.uuid4().hex
    status = _run(kit, name, None, instance_id)
    events = _events(kit, instance_id)
    lookups = [event for event, function in events if function == "flaky_lookup"]
    failures = lookups.count("TaskFailed")
    runtime = status["runtimeStatus"]
    reason = _label(_reason(status, 160), {instance_id: "<instance id>"})
    if runtime == "Failed":
        if failures == 0:
            return not_yet(
                f"the instance failed before flaky_lookup failed: {reason}",
                "call flaky_lookup with {'city': 'Oslo', 'instance': context.instance_id}.",
            )
        if failures == 1:
            return not_yet(
                "the instance failed at flaky_lookup's first failure: nothing retried it.",
                "context.call_activity runs an activity once; use context.call_activity_with_retry("
                "'flaky_lookup', df.RetryOptions(...), request).",
            )
        return not_yet(
            f"the instance gave up after {failures} attempts: {reason}",
            f"flaky_lookup fails {FLAKY_FAILURES} times, so it needs {FLAKY_FAILURES + 1} attempts; "
            "max_number_of_attempts counts the first call too.",
        )
    if runtime != "Completed":
        return not_yet(
            f"the instance ended {runtime}.",
            "keep first_retry_interval_in_milliseconds short here (about 500 ms) and the attempts few.",
        )
    if "TaskCompleted" not in lookups:
        return not_yet(
            "the instance completed, but flaky_lookup never answered: the orchestrator went on without its result.",
            "retry until flaky_lookup succeeds, and return its answer.",
        )
    if failures != FLAKY_FAILURES:
        return not_yet(
            f"flaky_lookup failed {failures} times in this instance, not {FLAKY_FAILURES}.",
            "pass 'instance': context.instance_id: flaky_lookup counts its attempts per instance.",
        )
    timers = sum(1 for event, _ in events if event == "TimerFired")
    waited = f", with a durable timer before each retry ({timers} TimerFired)" if timers else ""
    return passed(
        f"Completed on attempt {FLAKY_FAILURES + 1}: the history shows "
        f"{', '.join(['TaskFailed'] * failures)}, then TaskCompleted for flaky_lookup{waited}."
    )
