"""Plain-data tests of notebook 09's views (`lab.workflows`) and of `kit.deploy` for a workflow.

The histories are shaped like what the Durable HTTP API returns for a workflow run (`showHistory=true`): each
activity as one `TaskCompleted` carrying its `ScheduledTime`, each agent call as `EventSent` to its entity and
an `EventRaised` `{"result": ...}` answer, a person's answer as an `EventRaised` named after the request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import lab
from helpers.lab import deploy
from helpers.lab.errors import LabError
from helpers.lab.views import Table, history_rows
from helpers.lab.workflows import WorkflowGraph, executor_runs, supersteps

ID = "0123456789abcdef0123456789abcdef"
WF = "refund_desk"
NAMES = ["intake", "SummaryAgent", "lookup_order", "decide", "human_review", "settle"]


def at(seconds: float) -> str:
    return f"2026-01-01T00:00:{seconds:09.6f}Z"


def activity(name: str, scheduled: float, done: float) -> dict[str, Any]:
    return {
        "EventType": "TaskCompleted",
        "Timestamp": at(done),
        "ScheduledTime": at(scheduled),
        "FunctionName": f"dafx-{WF}-{name}",
        "Result": "{}",
    }


def agent_call(name: str, sent: float) -> dict[str, Any]:
    return {
        "EventType": "EventSent",
        "Timestamp": at(sent),
        "InstanceId": f"@dafx-{WF}-{name.lower()}@{ID}",
        "Name": "op",
        "Input": json.dumps({"op": "run", "input": "{}"}),
    }


def agent_answer(done: float) -> dict[str, Any]:
    return {
        "EventType": "EventRaised",
        "Timestamp": at(done),
        "Name": "2458a4a9-dce0-42eb-8f6e-8e25b4d9ed59",
        "Input": json.dumps({"result": json.dumps({"messages": []})}),
    }


# In history order, as the API lists it: completions where they happened, agent calls where they were sent.
HUMAN_RUN = [
    {"EventType": "ExecutionStarted", "Timestamp": at(1.0), "FunctionName": f"dafx-{WF}", "Input": "{}"},
    activity("intake", 1.1, 1.2),
    agent_call("SummaryAgent", 1.31),
    activity("lookup_order", 1.30, 1.4),
    agent_answer(2.0),
    activity("decide", 2.1, 2.2),
    activity("human_review", 2.3, 2.4),
    {
        "EventType": "EventRaised",
        "Timestamp": at(9.0),
        "Name": "ff9fbe26-906f-41c7-b40a-fd0457a59602",
        "Input": json.dumps({"approved": True}),
    },
    activity("human_review", 9.1, 9.2),
    activity("settle", 9.3, 9.4),
    {"EventType": "ExecutionCompleted", "Timestamp": at(9.5), "OrchestrationStatus": "Completed", "Result": "[]"},
]


def test_supersteps_group_what_one_episode_scheduled() -> None:
    table = supersteps(HUMAN_RUN, WF, NAMES)
    assert [row["superstep"] for row in table] == [1, 2, 3, 4, "", 5, 6]
    assert table[1]["executors scheduled together"] == "lookup_order, SummaryAgent"
    assert table[1]["runs as"] == "activity, agent entity"
    assert table[0]["runs as"] == "activity"
    assert table[4]["executors scheduled together"] == "(waits for external event ff9fbe26-906f-41c7-b40a-fd0457a59602)"
    assert table[5]["executors scheduled together"] == "human_review"


def test_supersteps_read_the_extensions_seven_digit_timestamps_and_lower_cased_entities() -> None:
    history = [
        {"EventType": "ExecutionStarted", "Timestamp": "2026-01-01T00:00:01.0000001Z"},
        activity("intake", 1.1, 1.2) | {"ScheduledTime": "2026-01-01T00:00:01.1000001Z"},
        agent_call("SummaryAgent", 1.31),
    ]
    table = supersteps(history, WF)  # no executor names given: the entity's lower-cased name stays
    assert table.column("executors scheduled together") == ["intake", "summaryagent"]


def test_supersteps_ignore_other_orchestrations_work() -> None:
    history = [
        {"EventType": "ExecutionStarted", "Timestamp": at(1.0)},
        activity("intake", 1.1, 1.2) | {"FunctionName": "dafx-other_flow-intake"},
    ]
    assert len(supersteps(history, WF)) == 0


def test_history_rows_keep_the_name_of_an_external_event_named_by_a_guid() -> None:
    rows = history_rows(HUMAN_RUN)
    assert rows[4]["name"] == "entity response"
    assert rows[7]["name"] == "ff9fbe26-906f-41c7-b40a-fd0457a59602"


LOG = [
    f"[t] INFO host.durable: {ID}: Function 'dafx-{WF}-intake (Activity)' started. TaskId: 0.",
    f"[t] INFO host.durable: {ID}: Function 'dafx-{WF}-intake (Activity)' completed. TaskId: 0. Duration: 2 ms.",
    f"[t] INFO host.durable: @dafx-{WF}-replyagent@{ID}: Function 'dafx-{WF}-ReplyAgent (Entity)' operation 'run' "
    "started.",
    "[t] INFO host: Resumed 1 unfinished orchestration(s)",
    f"[t] INFO host.durable: @dafx-{WF}-replyagent@{ID}: Function 'dafx-{WF}-ReplyAgent (Entity)' operation 'run' "
    "started.",
    f"[t] INFO host.durable: @dafx-{WF}-replyagent@{ID}: Function 'dafx-{WF}-ReplyAgent (Entity)' operation 'run' "
    "completed. Duration: 9 ms.",
    f"[t] INFO host.durable: ffffffffffffffffffffffffffffffff: Function 'dafx-{WF}-intake (Activity)' started.",
]


def test_executor_runs_count_starts_and_completions_of_one_run() -> None:
    table = executor_runs(LOG, ID, WF)
    assert table.rows == [
        {"executor": "intake", "runs as": "activity", "started": 1, "completed": 1},
        {"executor": "ReplyAgent", "runs as": "agent entity", "started": 2, "completed": 1},
    ]
    in_graph_order = executor_runs(LOG, ID, WF, ["ReplyAgent", "intake"])
    assert in_graph_order.column("executor") == ["ReplyAgent", "intake"]


def test_a_graph_renders_as_mermaid_markdown() -> None:
    graph = WorkflowGraph(WF, "flowchart TD\n  a --> b;", Table(("executor", "runs as", "function"), []))
    assert graph._repr_markdown_() == "```mermaid\nflowchart TD\n  a --> b;\n```"
    assert repr(graph) == "flowchart TD\n  a --> b;"


# ------------------------------------------------------------------------------------------- kit.deploy


@lab.workflow
def my_flow():
    return build_it("my_flow")  # noqa: F821 — a name the base app defines


@lab.orchestrator
def my_orchestrator(context):
    return "done"


def test_deploy_hosts_a_workflow_through_the_base_apps_create_app(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "function_app.py").write_text("app = None\n")
    target = deploy.write_app((my_flow, my_orchestrator), base, tmp_path / "generated")
    text = (target / "function_app.py").read_text()
    assert "app = _base.create_app(my_flow())" in text
    # the orchestrator is registered on the app create_app made, so after it
    assert text.index("app = _base.create_app(") < text.index("app.orchestration_trigger(context_name='context')")
    assert "def my_flow():" in text and "@lab.workflow" not in text


def test_deploy_says_what_a_function_must_be_marked_with() -> None:
    def unmarked():
        return None

    with pytest.raises(LabError, match=r"@lab\.workflow"):
        deploy.registration(unmarked)
