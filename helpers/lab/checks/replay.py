"""Self-checks for lesson 04 (replay): a log line guarded by `is_replaying`, and what is replay-safe."""

from __future__ import annotations

import re
from typing import Any

from . import Verdict, never_raises, not_yet, passed

REMINDER_LINE = re.compile(r"sending reminder (\d+)")
STEPS = 3

# What is safe inside an orchestrator function: the same value every time the same code runs again.
REPLAY_SAFE = {
    "uuid.uuid4()": False,
    "context.new_uuid()": True,
    "AgentSessionId.with_random_key('WriterAgent')": False,
    "datetime.now(timezone.utc)": False,
    "context.current_utc_datetime": True,
    "random.random()": False,
    "context.get_input()": True,
    "os.environ['FEATURE_FLAG']": False,
    "if context.instance_id in _module_level_set": False,
    "yield context.call_activity('read_flag')": True,
}


@never_raises
def guarded_reminders(kit: Any, orchestrator: Any) -> Verdict:
    """Deploy and run the learner's `reminders`: it must still send 3 reminders, and log each once."""
    kit.deploy(orchestrator)
    started = kit.start_orchestration(orchestrator.__name__)
    from ..polling import poll

    status = poll(started["statusQueryGetUri"], desc=orchestrator.__name__, expect=None)
    instance_id = started["id"]
    if status["runtimeStatus"] != "Completed":
        return not_yet(f"the instance ended {status['runtimeStatus']}: {str(status.get('output'))[:300]}")
    steps = [int(m.group(1)) for line in kit.host_log(instance_id) if (m := REMINDER_LINE.search(line))]
    activities = kit.history_table(instance_id).column("event").count("TaskCompleted")
    if activities != STEPS:
        return not_yet(
            f"the orchestrator sent {activities} reminders, expected {STEPS}.",
            "keep the loop and its `yield context.call_activity(...)`; only the log line changes.",
        )
    if sorted(steps) == list(range(1, STEPS + 1)):
        return passed(
            f"{STEPS} reminders, each logged once, although the orchestrator ran "
            f"{STEPS + 1} episodes: the guard skipped the line while replaying."
        )
    if not steps:
        return not_yet(
            "no 'sending reminder' line was logged at all.",
            "keep the logger.info(...) line; guard it so it runs only when the code is not replaying.",
        )
    return not_yet(
        f"the reminder lines were logged for steps {steps} ({len(steps)} lines for {STEPS} reminders).",
        "each episode replays the earlier steps: log only `if not context.is_replaying:`.",
    )


@never_raises
def replay_safe(answers: dict[str, Any]) -> Verdict:
    """The learner's True/False for each expression in REPLAY_SAFE."""
    unanswered = [name for name in REPLAY_SAFE if answers.get(name, ...) is ...]
    if unanswered:
        return not_yet(
            f"{len(unanswered)} of {len(REPLAY_SAFE)} still `...`: {', '.join(unanswered[:3])}"
            + ("…" if len(unanswered) > 3 else ""),
            "set each to True or False.",
        )
    wrong = [name for name, safe in REPLAY_SAFE.items() if answers.get(name) is not safe]
    if wrong:
        return not_yet(
            f"{len(wrong)} wrong: {', '.join(wrong)}",
            "is the value the same when the same code runs again a minute later, on another machine or "
            "in a process that already ran it? Inputs, context.* values and task results come from "
            "history; everything else may change.",
        )
    return passed(
        f"all {len(REPLAY_SAFE)} right. Anything that can differ between two runs of the code stays "
        "out of it, or comes from history."
    )
