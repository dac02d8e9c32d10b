"""Self-check for lesson 09 (durable workflows): add the missing branch to the refund desk.

In the lesson's graph, `decide` gives an order that was refunded already the route `"duplicate"`, and no edge
takes that route: the message is dropped and the run completes with no output. The learner builds the graph
again as `refund_desk_mine` (`@lab.workflow`) with one more conditional edge, `decide -> already_refunded`.

`duplicate_branch(kit, builder)` hosts it beside the refund desk (`kit.deploy`), runs it over HTTP for the
refunded order (A-1003) and for an ordinary one (A-1001), and judges what ran from the real history (Durable
HTTP API): A-1003 must end in `already_refunded` (and not be refunded again), A-1001 must be refunded as
before, without `already_refunded`.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from ...durable_vocabulary import AGENT_ENTITY_PREFIX, FINISHED_STATUSES
from ..deploy import TRIGGER_ATTRIBUTE
from ..errors import LabError
from ..workflows import graph, supersteps
from . import Verdict, never_raises, not_yet, passed, unsolved

WORKFLOW = "refund_desk_mine"
BRANCH = "already_refunded"
REFUNDED_BEFORE = {"order_id": "A-1003", "amount": 45, "reason": "The toaster burns every slice."}
ORDINARY = {"order_id": "A-1001", "amount": 39, "reason": "The kettle arrived with a cracked lid."}
EDGE_HINT = (
    f"one more conditional edge, from decide to {BRANCH}, that lets only the 'duplicate' route through: "
    "the same shape as the edges from decide to settle and to human_review."
)


@never_raises
def duplicate_branch(kit: Any, builder: Any) -> Verdict:
    """Host the learner's workflow, run both orders, and check which executors ran for each."""
    if unsolved(builder):
        return not_yet(f"{builder.__name__} still raises NotImplementedError.", EDGE_HINT + " Then delete the raise.")
    if getattr(builder, TRIGGER_ATTRIBUTE, None) != "workflow":
        return not_yet(f"mark {builder.__name__} with @lab.workflow so kit.deploy hosts the workflow it builds.")
    try:
        kit.deploy(builder)
    except LabError as error:
        reason = load_error(str(error))
        if "already registered" in reason:
            return not_yet(
                f"the host could not load your workflow: {reason}",
                f"another function you deployed builds a workflow of that name too: keep one, called {WORKFLOW}.",
            )
        return not_yet(
            f"the host could not load your workflow: {reason}",
            "WorkflowBuilder checks the graph when it builds it: an edge must join executors whose messages "
            "match (decide sends a Decision, which already_refunded takes).",
        )
    hosted = _hosted_workflows(kit)
    if WORKFLOW not in hosted:
        return not_yet(
            f"the app hosts no workflow named {WORKFLOW!r} (it hosts {', '.join(sorted(hosted))}).",
            f"keep name={WORKFLOW!r} in WorkflowBuilder(...).",
        )
    names = graph(kit, WORKFLOW).executor_ids
    outputs, ran = _run_and_read(kit, REFUNDED_BEFORE, names)
    if isinstance(outputs, Verdict):
        return outputs
    if BRANCH not in ran:
        return not_yet(
            f"order A-1003 (refunded before) still ends without {BRANCH}: executors {', '.join(ran)}; "
            f"output {outputs}.",
            EDGE_HINT,
        )
    if "settle" in ran:
        return not_yet("order A-1003 was settled (refunded) again as well as sent to already_refunded.", EDGE_HINT)
    decided_by = next((item.get("decided_by") for item in outputs if isinstance(item, dict)), None)
    outputs, ran = _run_and_read(kit, ORDINARY, names)
    if isinstance(outputs, Verdict):
        return outputs
    if BRANCH in ran:
        return not_yet(
            f"order A-1001 (an ordinary refund) went to {BRANCH} too: your edge has no condition, or one that "
            "lets every Decision through.",
            "give the edge condition=route_is('duplicate'), so only that route takes it.",
        )
    if not any(isinstance(item, dict) and item.get("refund") == ORDINARY["amount"] for item in outputs):
        return not_yet(f"order A-1001 was not refunded as before: output {str(outputs)[:300]}.", EDGE_HINT)
    return passed(
        f"A-1003 ends in {BRANCH} ({decided_by}), A-1001 is refunded by the rule as before: the new edge takes "
        "the duplicate route only."
    )


def _run_and_read(kit: Any, order: dict[str, Any], names: list[str]) -> tuple[Any, list[str]]:
    """Run one order; (its outputs, the executors that ran, in order), or (a Verdict, []) if it did not complete."""
    status = _run(kit, order)
    if status.get("runtimeStatus") != "Completed":
        waiting = " (it waits for a person: the order went to human_review)" if status.get("waiting") else ""
        return not_yet(
            f"order {order['order_id']} ended {status.get('runtimeStatus')}{waiting}: "
            f"{str(status.get('output') or status.get('error'))[:300]}",
            EDGE_HINT,
        ), []
    steps = supersteps(kit.history(status["instanceId"]), WORKFLOW, names)
    ran = [name for row in steps if row["superstep"] != "" for name in row["executors scheduled together"].split(", ")]
    return status.get("output") or [], ran


def load_error(message: str) -> str:
    """The reason in a failed deploy's message, without the host log's tail around it."""
    found = re.findall(r"Host failed to start: (?:Importing \S+ failed: )?(.+)", message)
    return found[-1].strip() if found else message[-500:]


def _hosted_workflows(kit: Any) -> set[str]:
    functions = kit.functions()
    return {
        row["function"][len(AGENT_ENTITY_PREFIX) :]
        for row in functions
        if row["trigger"] == "orchestrationTrigger" and str(row["function"]).startswith(AGENT_ENTITY_PREFIX)
    }


def _run(kit: Any, order: dict[str, Any]) -> dict[str, Any]:
    """Start the learner's workflow over HTTP and wait until it finishes or waits for a person."""
    response = httpx.post(f"{kit.base_url}/api/workflow/{WORKFLOW}/run", json=order, timeout=30, trust_env=False)
    if response.status_code != 202:
        raise LabError(f"POST /api/workflow/{WORKFLOW}/run answered {response.status_code}: {response.text[:300]}")
    status_url = response.json()["statusQueryGetUri"]
    deadline = time.monotonic() + kit.wait_budget
    while True:
        status = httpx.get(status_url, timeout=30, trust_env=False).json()
        if status.get("runtimeStatus") in FINISHED_STATUSES:
            return status
        if status.get("pendingHumanInputRequests"):
            return {**status, "waiting": True}
        if time.monotonic() > deadline:
            return {**status, "output": f"still {status.get('runtimeStatus')} after {kit.wait_budget:.0f} s"}
        time.sleep(0.1)
