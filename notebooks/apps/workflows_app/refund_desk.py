"""Notebook 09 (durable workflows): a refund desk built with Agent Framework's `WorkflowBuilder`.

A customer asks for a refund; the workflow's graph:

    intake ─┬─> SummaryAgent ─┐
            └─> lookup_order ─┴─> decide ─[auto]──> settle ──> ReplyAgent ──> send_reply
                                         └[human]─> human_review ─┘

- `intake` (a function executor) checks the request and keeps it in the workflow's **shared state**
  (`ctx.set_state`); its one message goes to two executors at once (**fan-out**): `SummaryAgent` (an agent)
  sums up the complaint for a reviewer while `lookup_order` (a function) finds the order in the shop's records.
- `decide` receives both answers together, as one list (**fan-in**), and picks a route: a refund up to
  `AUTO_REFUND_LIMIT` is granted by the rule, a larger one goes to a person, an order refunded already gets
  `"duplicate"`. The **conditional edges** (`route_is(...)`) read that route: a field of a message, computed
  by code from the request and the order, never from the model's words, so every model takes the same path.
- `human_review` asks a person (`ctx.request_info`): the workflow waits until someone answers through the
  respond route that `AgentFunctionApp` adds, and its `@response_handler` turns the answer into a decision.
  An answer without a true/false `approved` is asked again, saying why.
- `settle` records the refund in shared state and briefs the `ReplyAgent`, who writes to the customer;
  `send_reply` reads the settlement back from shared state and yields the workflow's output.
- `already_refunded` is written but not wired: in the lesson's graph a "duplicate" decision matches no edge,
  so the run ends with no output. Notebook 09's exercise adds that branch.

On `AgentFunctionApp` every agent executor becomes a durable entity (`dafx-<workflow>-<agent>`, one session
per run, keyed by the instance id) and every other executor an activity (`dafx-<workflow>-<executor>`); the
workflow itself runs as the orchestration `dafx-<workflow>`, one superstep after another.

Bad input ends the run `Failed` with a reason a person can act on (what a request looks like, which orders
exist, a refund above the price). The shop's records (`ORDERS`) and the limit are made up, small and fixed,
so a lesson can pick an order for each branch.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Never

from agent_framework import (
    Agent,
    AgentExecutorResponse,
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
    handler,
    response_handler,
)
from model_client import chat_client_from_environment

WORKFLOW_NAME = "refund_desk"
SUMMARY_AGENT_NAME = "SummaryAgent"
REPLY_AGENT_NAME = "ReplyAgent"
AUTO_REFUND_LIMIT = 50.0  # refunds up to this amount need no person
MAX_REASON_CHARS = 1000

# The shop's records: order id -> what was paid and whether it was refunded already.
ORDERS: dict[str, dict[str, Any]] = {
    "A-1001": {"item": "kettle", "paid": 39.0, "refunded": False},
    "A-1002": {"item": "espresso machine", "paid": 420.0, "refunded": False},
    "A-1003": {"item": "toaster", "paid": 45.0, "refunded": True},
}

# Keys of the workflow's shared state.
REQUEST_KEY = "request"
SETTLEMENT_KEY = "settlement"


# ------------------------------------------------------------------------------------------- messages


@dataclass
class RefundRequest:
    order_id: str
    amount: float
    reason: str


@dataclass
class OrderRecord:
    order_id: str
    item: str
    paid: float
    refunded: bool


@dataclass
class Decision:
    """What `decide` and `human_review` send on. The conditional edges read `route`."""

    route: str  # decide: "auto", "human" or "duplicate"; human_review: "approved" or "declined"
    order_id: str
    amount: float
    summary: str
    decided_by: str = ""


def route_is(route: str) -> Callable[[Any], bool]:
    """An edge condition: True for a `Decision` whose route is `route`.

    Conditions run inside the orchestrator, on every replay, so they must be plain deterministic code over
    the message: here a field that `decide` computed from the request and the order.
    """

    def condition(message: Any) -> bool:
        return isinstance(message, Decision) and message.route == route

    condition.__name__ = f"route_is_{route}"
    return condition


def agent_text(response: AgentExecutorResponse, agent_name: str) -> str:
    """The agent's answer; raise when it has none (its model call failed), so the run fails with a reason."""
    text = response.agent_response.text if response.agent_response else ""
    if not text.strip():
        raise RuntimeError(f"{agent_name} returned no text: its model call failed (see its entity's conversation).")
    return text


# ------------------------------------------------------------------------------------------ executors


@executor(id="intake")
async def intake(request: dict | str, ctx: WorkflowContext[str]) -> None:
    """Check the request, keep it in shared state, and send the complaint on (to both fan-out targets)."""
    checked = checked_request(request)
    ctx.set_state(REQUEST_KEY, checked)
    await ctx.send_message(f"Order {checked.order_id}: a refund of {checked.amount:.2f} is asked. {checked.reason}")


@executor(id="lookup_order")
async def lookup_order(complaint: str, ctx: WorkflowContext[OrderRecord]) -> None:
    """Find the order in the shop's records (a stand-in for a database or an API call)."""
    request: RefundRequest = ctx.get_state(REQUEST_KEY)
    record = ORDERS.get(request.order_id)
    if record is None:
        raise ValueError(f"No order {request.order_id!r}; the shop knows {', '.join(sorted(ORDERS))}.")
    await ctx.send_message(OrderRecord(order_id=request.order_id, **record))


@executor(id="decide")
async def decide(results: list[AgentExecutorResponse | OrderRecord], ctx: WorkflowContext[Decision]) -> None:
    """Both fan-out answers arrive together, as one list: pick the route from the request and the order."""
    request: RefundRequest = ctx.get_state(REQUEST_KEY)
    order = next(r for r in results if isinstance(r, OrderRecord))
    summary = agent_text(next(r for r in results if isinstance(r, AgentExecutorResponse)), SUMMARY_AGENT_NAME)
    if request.amount > order.paid:
        raise ValueError(
            f"A refund of {request.amount:.2f} is asked for order {order.order_id}, which cost {order.paid}."
        )
    if order.refunded:
        route = "duplicate"
    elif request.amount <= AUTO_REFUND_LIMIT:
        route = "auto"
    else:
        route = "human"
    decided_by = f"rule: up to {AUTO_REFUND_LIMIT:g}" if route == "auto" else ""
    await ctx.send_message(Decision(route, order.order_id, request.amount, summary, decided_by))


class HumanReview(Executor):
    """Ask a person (`request_info`); their answer, posted to the respond route, becomes the decision."""

    def __init__(self) -> None:
        super().__init__(id="human_review")

    @handler
    async def ask(self, decision: Decision, ctx: WorkflowContext[Decision]) -> None:
        await ctx.request_info(request_data=review_question(decision), response_type=dict)

    @response_handler
    async def answered(self, question: dict, answer: dict, ctx: WorkflowContext[Decision]) -> None:
        approved = answer.get("approved")
        if not isinstance(approved, bool):  # not an answer: ask again, and say why
            retry = {**question, "problem": f'"approved" must be true or false; got {json.dumps(answer)[:200]}'}
            await ctx.request_info(request_data=retry, response_type=dict)
            return
        note = str(answer.get("note") or "")[:MAX_REASON_CHARS]
        route = "approved" if approved else "declined"
        summary = f"{question['summary']} Reviewer's note: {note or '(none)'}"
        await ctx.send_message(Decision(route, question["order_id"], question["amount"], summary, "reviewer"))


def review_question(decision: Decision) -> dict:
    """The request a reviewer sees in the status route: plain JSON, so it reads as it is."""
    return {
        "order_id": decision.order_id,
        "amount": decision.amount,
        "summary": decision.summary,
        "question": f"Refund {decision.amount:.2f} for order {decision.order_id}? Answer with approved: true or false.",
    }


@executor(id="settle")
async def settle(decision: Decision, ctx: WorkflowContext[str]) -> None:
    """Record the refund the decision grants (none when a reviewer declined) and brief the ReplyAgent."""
    refund = 0.0 if decision.route == "declined" else decision.amount
    ctx.set_state(SETTLEMENT_KEY, {"refund": refund, "decided_by": decision.decided_by})
    outcome = f"a refund of {refund:.2f} is on its way" if refund else "no refund will be made"
    await ctx.send_message(
        f"Order {decision.order_id}: {outcome} (decided by {decision.decided_by}). What we know: {decision.summary}"
    )


@executor(id="send_reply")
async def send_reply(response: AgentExecutorResponse, ctx: WorkflowContext[Never, dict]) -> None:
    """The workflow's output: the settlement from shared state and the ReplyAgent's message."""
    request: RefundRequest = ctx.get_state(REQUEST_KEY)
    settlement = ctx.get_state(SETTLEMENT_KEY)
    await ctx.yield_output(
        {"order_id": request.order_id, **settlement, "reply": agent_text(response, REPLY_AGENT_NAME)}
    )


@executor(id="already_refunded")
async def already_refunded(decision: Decision, ctx: WorkflowContext[Never, dict]) -> None:
    """The branch for an order refunded before: no second refund, and the output says why."""
    await ctx.yield_output({"order_id": decision.order_id, "refund": 0.0, "decided_by": "rule: refunded already"})


def checked_request(request: Any) -> RefundRequest:
    """The request as a `RefundRequest`, or a ValueError that says what a request looks like."""
    problem = "a refund request is a JSON object with order_id (text), amount (a number above 0) and reason (text)"
    if not isinstance(request, dict):
        raise ValueError(f"{problem}; got {type(request).__name__}.")
    order_id, amount, reason = request.get("order_id"), request.get("amount"), request.get("reason")
    if not isinstance(order_id, str) or not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"{problem}; got keys {sorted(request)}.")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0:
        raise ValueError(f"{problem}; got amount {amount!r}.")
    if len(reason) > MAX_REASON_CHARS:
        raise ValueError(f"The reason has {len(reason)} characters; the limit is {MAX_REASON_CHARS}.")
    return RefundRequest(order_id=order_id, amount=float(amount), reason=reason.strip())


# ---------------------------------------------------------------------------------------------- graph


@functools.cache
def _chat_client() -> Any:
    return chat_client_from_environment()


@dataclass
class RefundDeskExecutors:
    """The refund desk's executors and fresh agents, to wire into a graph."""

    intake: Executor
    summary_agent: Agent
    lookup_order: Executor
    decide: Executor
    human_review: Executor
    settle: Executor
    reply_agent: Agent
    send_reply: Executor
    already_refunded: Executor


def refund_desk_executors() -> RefundDeskExecutors:
    client = _chat_client()
    summary_agent = Agent(
        client=client,
        name=SUMMARY_AGENT_NAME,
        instructions="Sum up a customer's refund request in one short sentence for the person who reviews it.",
    )
    reply_agent = Agent(
        client=client,
        name=REPLY_AGENT_NAME,
        instructions="You write a short, friendly reply to a customer about their refund, in two sentences.",
    )
    return RefundDeskExecutors(
        intake, summary_agent, lookup_order, decide, HumanReview(), settle, reply_agent, send_reply, already_refunded
    )


def refund_desk_workflow(name: str = WORKFLOW_NAME) -> Workflow:
    """The refund desk's graph, built with `WorkflowBuilder`."""
    e = refund_desk_executors()
    return (
        WorkflowBuilder(name=name, start_executor=e.intake)
        .add_fan_out_edges(e.intake, [e.summary_agent, e.lookup_order])
        .add_fan_in_edges([e.summary_agent, e.lookup_order], e.decide)
        .add_edge(e.decide, e.settle, condition=route_is("auto"))
        .add_edge(e.decide, e.human_review, condition=route_is("human"))
        .add_edge(e.human_review, e.settle)
        .add_edge(e.settle, e.reply_agent)
        .add_edge(e.reply_agent, e.send_reply)
        .build()
    )
