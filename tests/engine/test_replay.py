"""The replay boundary as plain data: a history goes in, the SDK replays the orchestrator, actions come out.

No engine, no store, no threads: `orchestrator_request` builds the request from encoded events, the SDK's own
orchestrator handle replays, and `plan_episode` says which actions are new and with which ids.
"""

from __future__ import annotations

import json

from helpers.durable_vocabulary import ActionType, EventType
from helpers.host.engine.book import ExecutionBook
from helpers.host.engine.history import event
from helpers.host.engine.replay import orchestrator_request, plan_episode, run_orchestrator
from tests.engine.engine_app import REGISTRY

T0, T1 = "2025-01-01T12:00:00.000000Z", "2025-01-01T12:00:01.000000Z"


def texts(events: list[dict], played: bool) -> list[str]:
    return [json.dumps({**ev, "IsPlayed": played}) for ev in events]


def replay(name: str, history: list[dict], new: list[dict], input_value=None):
    request = orchestrator_request(
        texts(history, True),
        texts(new, False),
        instance_id="i-1",
        input_json=None if input_value is None else json.dumps(input_value),
        parent_id=None,
    )
    return run_orchestrator(REGISTRY.orchestrator(name).handler, request)


def started(input_value) -> list[dict]:
    return [
        event(EventType.OrchestratorStarted, T0),
        event(EventType.ExecutionStarted, T0, Name="chain", Version=None, Input=json.dumps(input_value)),
    ]


def test_first_episode_asks_for_the_first_activity() -> None:
    result = replay("chain", [], started({"name": "Ann"}), {"name": "Ann"})
    plan = plan_episode(result, ExecutionBook())
    assert result.error is None and not result.done
    assert [
        (task_id, action["actionType"], action["functionName"], action["input"]) for task_id, action in plan.new
    ] == [(0, ActionType.CallActivity, "hello", '"Ann"')]


def test_a_completed_step_yields_only_the_next_action_with_the_next_id() -> None:
    book = ExecutionBook(next_id=1, signatures=[("TaskScheduled", "hello")])
    history = started({"name": "Ann"}) + [
        event(EventType.TaskScheduled, T0, 0, Name="hello", Input='"Ann"'),
        event(EventType.OrchestratorCompleted, T0),
    ]
    new = [
        event(EventType.OrchestratorStarted, T1),
        event(EventType.TaskCompleted, T1, TaskScheduledId=0, Result='"Hello Ann"'),
    ]
    plan = plan_episode(replay("chain", history, new, {"name": "Ann"}), book)
    assert plan.nondeterminism is None
    assert [(task_id, action["input"]) for task_id, action in plan.new] == [(1, '"Hello Ann"')]


def test_the_last_result_completes_with_the_output_and_custom_status() -> None:
    history = started({"name": "Ann"}) + [
        event(EventType.TaskCompleted, T0, TaskScheduledId=0, Result='"Hello Ann"'),
        event(EventType.TaskCompleted, T0, TaskScheduledId=1, Result='"Hello Hello Ann"'),
    ]
    result = replay("chain", [], history, {"name": "Ann"})
    assert result.done and result.state["output"] == ["Hello Ann", "Hello Hello Ann"]
    assert result.state["customStatus"] == {"step": 2}


def test_a_failed_activity_fails_the_orchestrator_with_its_reason() -> None:
    history = started(7) + [event(EventType.TaskFailed, T0, TaskScheduledId=0, Reason="boom 7", Details="trace")]
    result = replay("doomed", [], history, 7)
    assert not result.done and "boom 7" in result.error


def test_replay_that_schedules_something_else_is_non_deterministic() -> None:
    book = ExecutionBook(next_id=1, signatures=[("TaskScheduled", "nap")])  # recorded: 'nap' at position 0
    plan = plan_episode(replay("chain", [], started({"name": "Ann"}), {"name": "Ann"}), book)
    assert plan.new == [] and "Non-Deterministic workflow detected" in plan.nondeterminism
    assert "hello" in plan.nondeterminism
