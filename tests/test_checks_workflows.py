"""Lesson 09's self-check tells a right answer from realistic wrong ones, and never raises.

One kit for the module (offline model, 50 ms per call) on the workflows app. Each answer is a `@lab.workflow`
function as a learner would write it in the notebook; `lab.checks.workflows.duplicate_branch` hosts it beside
the refund desk (`kit.deploy`) and runs two orders through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from helpers import lab
from helpers.lab.checks import workflows

if TYPE_CHECKING:  # the names kit.deploy gives the functions, in the workflows app's function_app.py
    from agent_framework import WorkflowBuilder

    from notebooks.apps.workflows_app.refund_desk import refund_desk_executors, route_is


@pytest.fixture(scope="module")
def started_kit() -> Iterator[lab.Lab]:
    kit = lab.start(model="offline", host="embedded", latency_ms=50, app_dir=lab.WORKFLOWS_APP)
    try:
        yield kit
    finally:
        kit.stop()


@pytest.fixture
def kit(started_kit: lab.Lab) -> lab.Lab:
    """The module's kit, forgetting the answers deployed by earlier tests.

    `kit.deploy` keeps what it deployed before, by function name, and every answer here builds a workflow
    named refund_desk_mine: two of them on one app would collide, as two cells of a notebook that build
    workflows of the same name would.
    """
    started_kit._deployed.clear()
    started_kit._deployed_sources.clear()
    return started_kit


# ------------------------------------------------------------------------------------------------ answers


@lab.workflow
def refund_desk_mine():
    e = refund_desk_executors()
    builder = (
        WorkflowBuilder(name="refund_desk_mine", start_executor=e.intake)
        .add_fan_out_edges(e.intake, [e.summary_agent, e.lookup_order])
        .add_fan_in_edges([e.summary_agent, e.lookup_order], e.decide)
        .add_edge(e.decide, e.settle, condition=route_is("auto"))
        .add_edge(e.decide, e.human_review, condition=route_is("human"))
        .add_edge(e.human_review, e.settle)
        .add_edge(e.settle, e.reply_agent)
        .add_edge(e.reply_agent, e.send_reply)
    )
    builder.add_edge(e.decide, e.already_refunded, condition=route_is("duplicate"))
    return builder.build()


right_answer = refund_desk_mine


@lab.workflow
def refund_desk_mine_without_condition():  # the edge is there, but every Decision takes it
    e = refund_desk_executors()
    builder = (
        WorkflowBuilder(name="refund_desk_mine", start_executor=e.intake)
        .add_fan_out_edges(e.intake, [e.summary_agent, e.lookup_order])
        .add_fan_in_edges([e.summary_agent, e.lookup_order], e.decide)
        .add_edge(e.decide, e.settle, condition=route_is("auto"))
        .add_edge(e.decide, e.human_review, condition=route_is("human"))
        .add_edge(e.human_review, e.settle)
        .add_edge(e.settle, e.reply_agent)
        .add_edge(e.reply_agent, e.send_reply)
    )
    builder.add_edge(e.decide, e.already_refunded)
    return builder.build()


@lab.workflow
def refund_desk_mine_unchanged():  # the lesson's graph as it is: the duplicate route is still dropped
    e = refund_desk_executors()
    builder = (
        WorkflowBuilder(name="refund_desk_mine", start_executor=e.intake)
        .add_fan_out_edges(e.intake, [e.summary_agent, e.lookup_order])
        .add_fan_in_edges([e.summary_agent, e.lookup_order], e.decide)
        .add_edge(e.decide, e.settle, condition=route_is("auto"))
        .add_edge(e.decide, e.human_review, condition=route_is("human"))
        .add_edge(e.human_review, e.settle)
        .add_edge(e.settle, e.reply_agent)
        .add_edge(e.reply_agent, e.send_reply)
    )
    return builder.build()


@lab.workflow
def template():
    e = refund_desk_executors()
    builder = WorkflowBuilder(name="refund_desk_mine", start_executor=e.intake)
    # TODO: the branch for an order refunded already
    raise NotImplementedError("Add the branch, then delete this line.")
    return builder.build()


def not_marked():
    raise RuntimeError("never called")


# ------------------------------------------------------------------------------------------------- checks


def test_the_right_answer_passes(kit: lab.Lab) -> None:
    verdict = workflows.duplicate_branch(kit, right_answer)
    assert verdict.ok, verdict
    assert "already_refunded" in verdict.message


def test_an_edge_without_a_condition_is_caught_on_the_ordinary_order(kit: lab.Lab) -> None:
    verdict = workflows.duplicate_branch(kit, refund_desk_mine_without_condition)
    assert not verdict.ok
    assert "A-1001" in verdict.message and "condition" in verdict.hint


def test_the_unchanged_graph_still_drops_the_duplicate(kit: lab.Lab) -> None:
    verdict = workflows.duplicate_branch(kit, refund_desk_mine_unchanged)
    assert not verdict.ok
    assert "A-1003" in verdict.message and "output []" in verdict.message


def test_the_template_and_an_unmarked_function_are_not_yet_without_deploying(kit: lab.Lab) -> None:
    deployments = kit.deployments
    assert "NotImplementedError" in workflows.duplicate_branch(kit, template).message
    assert "@lab.workflow" in workflows.duplicate_branch(kit, not_marked).message
    assert kit.deployments == deployments


def test_a_graph_the_builder_refuses_reports_the_builders_reason() -> None:
    message = (
        "Your functions did not load, so the kit went back to its previous app. The Functions host did not start. "
        "host exited with code 1 before it was ready. Log tail:\n[...] INFO host: something\n"
        "Host failed to start: Importing /tmp/x/function_app.py failed: agent_framework._workflows._validation."
        "TypeCompatibilityError: [TYPE_COMPATIBILITY] Type incompatibility between executors 'intake' -> "
        "'already_refunded'.\n"
    )
    reason = workflows.load_error(message)
    assert reason.startswith("agent_framework._workflows._validation.TypeCompatibilityError")
    assert "Log tail" not in reason
