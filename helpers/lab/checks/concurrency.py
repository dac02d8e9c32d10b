"""Self-checks for lesson 03 (multi-agent concurrency): fan out to two experts, then fan in to the writer."""

from __future__ import annotations

from typing import Any

from ...durable_vocabulary import agent_entity_name
from . import Verdict, never_raises, not_yet, passed, unsolved

EXPERTS = tuple(agent_entity_name(agent).lower() for agent in ("PhysicistAgent", "ChemistAgent"))
WRITER = agent_entity_name("WriterAgent").lower()


@never_raises
def experts_then_writer(kit: Any, orchestrator: Any, prompt: str = "Why does ice float on water?") -> Verdict:
    """Deploy and run the learner's orchestrator; check the shape of its history and of its model calls:
    both experts asked in one episode (both EventSent before any answer), their model calls overlapping, then
    the writer asked after both answers, with both answers in its request."""
    if unsolved(orchestrator):
        return not_yet(
            "the orchestrator still raises NotImplementedError: write its body.",
            "start from multi_agent_concurrent_orchestration (top of this notebook), then add the writer.",
        )
    kit.deploy(orchestrator)
    calls_before = kit.model_stats()["calls"]
    started = kit.start_orchestration(orchestrator.__name__, prompt)
    from ..polling import poll

    status = poll(started["statusQueryGetUri"], desc=orchestrator.__name__, expect=None)
    if status["runtimeStatus"] != "Completed":
        return not_yet(
            f"the instance ended {status['runtimeStatus']}: {str(status.get('output'))[:300]}",
            "read the reason; kit.host_log(...) shows the orchestrator's own errors.",
        )
    instance_id = started["id"]
    events = kit.history_table(instance_id).column("event")
    sent = [i for i, e in enumerate(events) if e == "EventSent"]
    raised = [i for i, e in enumerate(events) if e == "EventRaised"]
    calls = kit.entity_calls_of(instance_id)
    entities = [call["entity"] for call in calls]
    if sorted(entities[:2]) != sorted(EXPERTS) or entities[2:] != [WRITER]:
        return not_yet(
            f"the agents were called in this order: {entities}.",
            "first both experts (PhysicistAgent, ChemistAgent), then the WriterAgent, once each.",
        )
    if not raised or sent[1] > raised[0]:
        return not_yet(
            "the second expert was only asked after the first one answered: they ran one after the other.",
            "put both `expert.run(...)` tasks in ONE context.task_all([...]) and yield that once.",
        )
    if sent[2] < raised[1]:
        return not_yet(
            "the writer was asked before both experts had answered.",
            "yield the task_all first; ask the writer with the answers it returned.",
        )
    expert_answers = [
        kit.entity_conversation(name, call["key"])[1]["text"]
        for name, call in zip(
            ("PhysicistAgent", "ChemistAgent"), sorted(calls[:2], key=lambda c: c["entity"] != EXPERTS[0])
        )
    ]
    writer_request = kit.entity_conversation("WriterAgent", calls[2]["key"])[0]["text"]
    missing = [
        name for name, answer in zip(("physicist", "chemist"), expert_answers) if answer.strip() not in writer_request
    ]
    if missing:
        return not_yet(
            f"the writer's request does not contain the {' and '.join(missing)}'s answer.",
            "build the writer's prompt from both answers: answer_text(result, PHYSICIST_AGENT_NAME) etc.",
        )
    model_calls = kit.model_calls(since=calls_before)
    expert_calls, writer_calls = model_calls[:2], model_calls[2:]
    overlapped = expert_calls[1]["start"] < expert_calls[0]["end"]
    writer_after = bool(writer_calls) and writer_calls[0]["start"] >= max(c["end"] for c in expert_calls)
    if not overlapped:
        return not_yet("the experts' model calls did not overlap in time.", "use context.task_all for the two experts.")
    if not writer_after:
        return not_yet("the writer's model call did not wait for both experts' calls.")
    return passed(
        "both experts in one episode, their model calls side by side; the writer after both, "
        "with both answers in its request: fan-out, then fan-in."
    )
