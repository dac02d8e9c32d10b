"""Self-check for lesson 08 (changing code safely): a third version of the newsletter, for new instances only.

`translate_for_new_instances(kit, orchestrator, new_version)`: the learner writes the newsletter's 3.0 code, which
translates the approved text (`translate_newsletter`) before publishing, and picks the `defaultVersion` to
deploy it with. Versions 1.0 and 2.0 may still have instances in flight, so their paths must not change.

The check deploys the learner's orchestrator with host.json `defaultVersion` = `new_version` (`kit.deploy`),
then runs three instances of it, each approved at once (an early event waits in the history for the code to ask
for it, lesson 06): one started as version 1.0 and one as 2.0 -- what instances a 1.0 or 2.0 host started still
carry -- and one with no version, which gets the host's new `defaultVersion`. The activities in each history
must be exactly that version's path:

    1.0  notify_reviewer, publish_newsletter
    2.0  check_facts, notify_reviewer, publish_newsletter
    new  check_facts, notify_reviewer, translate_newsletter, publish_newsletter

Wrong answers it tells apart: no version bump (new instances would still be 2.0), a version that is not newer
than 2.0, the new step for everyone (a 1.0 or 2.0 instance translates), the new step for no one (a branch that
never matches the deployed version), a dropped 1.0 path, and code that does not load or fails.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from ...durable_vocabulary import FINISHED_STATUSES
from ..errors import LabError
from ..views import scheduled_work
from . import Verdict, never_raises, not_yet, passed, unsolved

PATHS = {
    "1.0": ["notify_reviewer", "publish_newsletter"],
    "2.0": ["check_facts", "notify_reviewer", "publish_newsletter"],
}
NEW_PATH = ["check_facts", "notify_reviewer", "translate_newsletter", "publish_newsletter"]
CURRENT_VERSION = "2.0"  # the newest version the lesson deployed before the exercise
TOPIC = "tide pools"
RUN_TIMEOUT = 60.0  # one writer turn and a few activities per instance; a real model may take a while
_NUMERIC_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")  # what host.json versions usually look like: 2.0, 3.1.0


def _numbers(version: str) -> tuple[int, ...]:
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def _version_problem(new_version: Any) -> Verdict | None:
    """A Verdict when `new_version` cannot be the next version, else None."""
    if new_version is ... or new_version is None or new_version == "":
        return not_yet(
            "set new_version to the defaultVersion your change deploys with.",
            f'the running code is {CURRENT_VERSION}; new instances must get a newer version, e.g. "3.0".',
        )
    if not isinstance(new_version, str) or not _NUMERIC_VERSION.match(new_version.strip()):
        return not_yet(
            f'new_version is {new_version!r}; write it as host.json does, a string of numbers such as "3.0".',
            'versions like "2.0" compare part by part as numbers; quote it: new_version = "3.0".',
        )
    if _numbers(new_version) <= _numbers(CURRENT_VERSION):
        same = _numbers(new_version) == _numbers(CURRENT_VERSION)
        return not_yet(
            f"{new_version} is {'the version running now' if same else 'older than the running ' + CURRENT_VERSION}: "
            "new instances would not get a version of their own, so your code could not tell them apart.",
            f'bump it: a version newer than {CURRENT_VERSION}, such as "3.0".',
        )
    return None


def _wait(kit: Any, instance_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        status = kit.status(instance_id)
        if status.get("runtimeStatus") in FINISHED_STATUSES:
            return status
        if time.monotonic() > deadline:
            kit.terminate(instance_id, "self-check")
            status["runtimeStatus"] = f"still {status.get('runtimeStatus')} after {RUN_TIMEOUT:.0f} s (terminated)"
            return status
        time.sleep(0.1)


def _activities(kit: Any, instance_id: str) -> list[str]:
    """The activities an instance ran, in the order it scheduled them (lab.views.scheduled_work)."""
    return [row["name"] for row in scheduled_work(kit.history(instance_id)) if row["event"] != "EventSent"]


def _run(kit: Any, name: str, version: str | None) -> tuple[dict[str, Any], list[str]]:
    started = kit.start_orchestration(name, TOPIC, version=version)
    kit.raise_event(started["id"], "Approve", {"approved": True})
    status = _wait(kit, started["id"])
    return status, _activities(kit, started["id"])


def _reason(status: dict[str, Any], limit: int = 220) -> str:
    text = " ".join(str(status.get("output") or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@never_raises
def translate_for_new_instances(kit: Any, orchestrator: Callable[..., Any], new_version: Any) -> Verdict:
    if unsolved(orchestrator):
        return not_yet(
            f"{orchestrator.__name__} still raises NotImplementedError.",
            "start from the 2.0 newsletter, add the translate step for your new version only, delete the `raise`.",
        )
    problem = _version_problem(new_version)
    if problem is not None:
        return problem
    if getattr(orchestrator, "__lab_trigger__", None) != "orchestration":
        return not_yet(
            f"{orchestrator.__name__!r} is not marked as an orchestrator.",
            "put @lab.orchestrator on the line above `def`, run that cell, then this one.",
        )
    new_version = new_version.strip()
    try:
        kit.deploy(orchestrator, durable_task={"defaultVersion": new_version})
    except LabError as error:
        return not_yet(
            f"your orchestrator did not load on the host: {error}",
            "fix the code cell (the message quotes the host), run it, then this check again.",
        )
    name = orchestrator.__name__
    expected = {**PATHS, new_version: NEW_PATH}
    for version in (*PATHS, None):
        status, ran = _run(kit, name, version)
        label = version or f"new ({new_version})"
        if status.get("runtimeStatus") != "Completed":
            return not_yet(
                f"the {label} instance ended {status.get('runtimeStatus')}: {_reason(status)}",
                "read the reason; each version's path must run to the end on your code.",
            )
        want = expected[version or new_version]
        if ran == want:
            continue
        if version is None:
            hint = (
                f"your branch did not match {new_version}: compare context.version with the version you deploy"
                if "translate_newsletter" not in ran
                else "new instances must run exactly: " + ", ".join(NEW_PATH)
            )
        elif "translate_newsletter" in ran:
            hint = (
                f"a {version} instance must not translate: it started on the {version} code, and its history must "
                f"replay the same way. Translate only when context.version is {new_version}."
            )
        else:
            hint = f"keep the {version} path as it was: " + ", ".join(want)
        return not_yet(f"the {label} instance ran {', '.join(ran) or 'no activity'}; expected {', '.join(want)}.", hint)
    return passed(
        f"1.0 and 2.0 instances kept their paths, and a new instance ({new_version}) checked the facts, was "
        "approved, translated and published: one orchestrator, three versions, every instance on the path it "
        "started on."
    )
