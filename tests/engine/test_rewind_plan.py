"""Rewind as plain data: which events survive, and which work runs again."""

from __future__ import annotations

import json
from dataclasses import replace

from helpers.durable_vocabulary import EventType
from helpers.host.engine.book import ExecutionBook, RetryLoop
from helpers.host.engine.history import event
from helpers.host.engine.rewind_plan import plan_rewind

T = "2025-01-01T12:00:00.000000Z"


def kinds(events: list[dict]) -> list[str]:
    return [EventType(ev["EventType"]).name for ev in events]


def retry_loop(
    *,
    name: str,
    input: str,
    max_attempts: int,
    interval_ms: int,
    attempts: int,
    task_id: int,
    timer_id: int | None,
    attempt_ids: list[int],
) -> RetryLoop:
    """An activity's retry loop as the book keeps it."""
    return RetryLoop(
        "activity", name, input, None, None, None, max_attempts, interval_ms, attempts, task_id, timer_id, attempt_ids
    )


def failed_then_retried(task_id: int, timer_id: int) -> list[dict]:
    """A retry loop's attempt failing and its retry timer firing: the events between two attempts."""
    return [
        event(EventType.TaskFailed, T, TaskScheduledId=task_id, Reason="r"),
        event(EventType.TimerCreated, T, timer_id, FireAt=T),
        event(EventType.TimerFired, T, TimerId=timer_id, FireAt=T),
    ]


def test_failures_and_the_failed_completion_go_completed_work_stays() -> None:
    history = [
        event(EventType.OrchestratorStarted, T),
        event(EventType.ExecutionStarted, T, Name="o", Version=None),
        event(EventType.TaskScheduled, T, 0, Name="a", Input='"x"'),
        event(EventType.OrchestratorCompleted, T),
        event(EventType.OrchestratorStarted, T),
        event(EventType.TaskCompleted, T, TaskScheduledId=0, Result='"A"'),
        event(EventType.TaskScheduled, T, 1, Name="b", Input='"y"'),
        event(EventType.OrchestratorCompleted, T),
        event(EventType.OrchestratorStarted, T),
        event(EventType.TaskFailed, T, TaskScheduledId=1, Reason="boom"),
        event(EventType.OrchestratorCompleted, T),
        event(EventType.ExecutionCompleted, T, OrchestrationStatus="Failed"),
    ]
    plan = plan_rewind(history, ExecutionBook(next_id=2))
    assert "TaskFailed" not in kinds(plan.history) and "ExecutionCompleted" not in kinds(plan.history)
    assert kinds(plan.history).count("TaskCompleted") == 1
    assert plan.rerun == [(1, "b", '"y"')] and plan.next_id == 2 and plan.children == []


def test_a_retry_loop_that_gave_up_reruns_only_its_last_attempt() -> None:
    # max 2 attempts: task 0 failed, timer 1, task 2 failed, timer 3 -- then the SDK raised.
    history = [
        event(EventType.TaskScheduled, T, 0, Name="f", Input="1"),
        *failed_then_retried(0, 1),
        event(EventType.TaskScheduled, T, 2, Name="f", Input="1"),
        *failed_then_retried(2, 3),
    ]
    loop = retry_loop(
        name="f", input="1", max_attempts=2, interval_ms=0, attempts=2, task_id=2, timer_id=3, attempt_ids=[0, 2]
    )
    plan = plan_rewind(history, ExecutionBook(next_id=4, failed_loops=[loop]))
    assert kinds(plan.history) == ["TaskScheduled", "TaskFailed", "TimerCreated", "TimerFired", "TaskScheduled"]
    assert plan.rerun == [(2, "f", "1")] and plan.next_id == 3
    assert plan.retries == [replace(loop, attempts=2, timer_id=None)]


def test_a_failure_a_retry_loop_answered_stays_and_only_the_failure_that_ended_the_run_goes() -> None:
    # A retry loop: task 0 failed, timer 1, task 2 succeeded; then plain task 3 failed the orchestration.
    history = [
        event(EventType.TaskScheduled, T, 0, Name="f", Input="1"),
        *failed_then_retried(0, 1),
        event(EventType.TaskScheduled, T, 2, Name="f", Input="1"),
        event(EventType.TaskCompleted, T, TaskScheduledId=2, Result='"ok"'),
        event(EventType.TaskScheduled, T, 3, Name="g", Input="2"),
        event(EventType.TaskFailed, T, TaskScheduledId=3, Reason="boom"),
    ]
    plan = plan_rewind(history, ExecutionBook(next_id=4, retried=[0]))
    assert kinds(plan.history) == [
        "TaskScheduled",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskScheduled",
        "TaskCompleted",
        "TaskScheduled",
    ]
    assert plan.rerun == [(3, "g", "2")] and plan.next_id == 4 and plan.retries == []


def test_unfinished_children_and_timers_are_resumed() -> None:
    history = [
        event(EventType.SubOrchestrationInstanceCreated, T, 0, Name="c", InstanceId="p-c", Input=None),
        event(EventType.SubOrchestrationInstanceFailed, T, TaskScheduledId=0, Reason="child failed"),
        event(EventType.TimerCreated, T, 1, FireAt="2030-01-01T00:00:00.000000Z"),
    ]
    plan = plan_rewind(history, ExecutionBook(next_id=2))
    assert [c.instance_id for c in plan.children] == ["p-c"]
    assert plan.timers == [(1, "2030-01-01T00:00:00.000000Z")]


def test_a_retry_loop_another_branch_interrupted_goes_on_where_it_was() -> None:
    # task 0 (retry loop, max 3) failed and its retry timer 2 was created; task 1 then failed the orchestration.
    history = [
        event(EventType.TaskScheduled, T, 0, Name="f", Input="1"),
        event(EventType.TaskScheduled, T, 1, Name="g", Input="2"),
        event(EventType.TaskFailed, T, TaskScheduledId=0, Reason="r"),
        event(EventType.TimerCreated, T, 2, FireAt="2030-01-01T00:00:00.000000Z"),
        event(EventType.TaskFailed, T, TaskScheduledId=1, Reason="boom"),
        event(EventType.ExecutionCompleted, T, OrchestrationStatus="Failed"),
    ]
    loop = retry_loop(
        name="f", input="1", max_attempts=3, interval_ms=500, attempts=1, task_id=0, timer_id=2, attempt_ids=[0]
    )
    plan = plan_rewind(history, ExecutionBook(next_id=3, interrupted_loops=[loop]))
    assert kinds(plan.history) == ["TaskScheduled", "TaskScheduled", "TaskFailed", "TimerCreated"]
    assert plan.rerun == [(1, "g", "2")] and plan.timers == [(2, "2030-01-01T00:00:00.000000Z")]
    assert plan.retries == [loop] and plan.next_id == 3


def test_ids_after_a_dropped_retry_timer_move_down_one() -> None:
    # Loop A (max 1): task 0 failed, timer 2, gave up when 2 fired. Loop B (max 3): task 1 failed, timer 3 fired,
    # attempt 4 still running when A's failure ended the run.
    history = [
        event(EventType.TaskScheduled, T, 0, Name="a", Input="1"),
        event(EventType.TaskScheduled, T, 1, Name="b", Input="2"),
        event(EventType.TaskFailed, T, TaskScheduledId=0, Reason="a"),
        event(EventType.TimerCreated, T, 2, FireAt=T),
        event(EventType.TaskFailed, T, TaskScheduledId=1, Reason="b"),
        event(EventType.TimerCreated, T, 3, FireAt=T),
        event(EventType.TimerFired, T, TimerId=3, FireAt=T),
        event(EventType.TaskScheduled, T, 4, Name="b", Input="2"),
        event(EventType.TimerFired, T, TimerId=2, FireAt=T),
        event(EventType.ExecutionCompleted, T, OrchestrationStatus="Failed"),
    ]
    gave_up = retry_loop(
        name="a", input="1", max_attempts=1, interval_ms=400, attempts=1, task_id=0, timer_id=2, attempt_ids=[0]
    )
    running = retry_loop(
        name="b", input="2", max_attempts=3, interval_ms=100, attempts=2, task_id=4, timer_id=None, attempt_ids=[1, 4]
    )
    plan = plan_rewind(
        history, ExecutionBook(next_id=5, failed_loops=[gave_up], interrupted_loops=[running], retried=[1])
    )
    assert [(kinds([ev])[0], ev["EventId"], ev.get("TaskScheduledId", ev.get("TimerId"))) for ev in plan.history] == [
        ("TaskScheduled", 0, None),
        ("TaskScheduled", 1, None),
        ("TaskFailed", -1, 1),
        ("TimerCreated", 2, None),
        ("TimerFired", -1, 2),
        ("TaskScheduled", 3, None),
    ]
    assert plan.rerun == [(0, "a", "1"), (3, "b", "2")] and plan.next_id == 4 and plan.retried == [1]
    assert [(loop.name, loop.task_id, loop.timer_id, loop.attempt_ids) for loop in plan.retries] == [
        ("a", 0, None, [0]),
        ("b", 3, None, [1, 3]),
    ]


def test_a_loop_interrupted_after_its_last_attempt_is_rewound_like_one_that_gave_up() -> None:
    # Loop (max 2): task 0 failed, timer 2 fired, task 3 failed, timer 4 pending; then task 1 failed the run.
    history = [
        event(EventType.TaskScheduled, T, 0, Name="f", Input="1"),
        event(EventType.TaskScheduled, T, 1, Name="g", Input="2"),
        *failed_then_retried(0, 2),
        event(EventType.TaskScheduled, T, 3, Name="f", Input="1"),
        event(EventType.TaskFailed, T, TaskScheduledId=3, Reason="r"),
        event(EventType.TimerCreated, T, 4, FireAt="2030-01-01T00:00:00.000000Z"),
        event(EventType.TaskFailed, T, TaskScheduledId=1, Reason="boom"),
    ]
    loop = retry_loop(
        name="f", input="1", max_attempts=2, interval_ms=0, attempts=2, task_id=3, timer_id=4, attempt_ids=[0, 3]
    )
    plan = plan_rewind(history, ExecutionBook(next_id=5, interrupted_loops=[loop], retried=[0]))
    assert plan.rerun == [(1, "g", "2"), (3, "f", "1")]  # its last attempt once more, as if it had given up
    assert plan.timers == [] and plan.next_id == 4
    assert [(r.task_id, r.timer_id, r.attempts) for r in plan.retries] == [(3, None, 2)]


def test_entity_calls_without_an_answer_are_awaited_signals_and_answered_calls_are_not() -> None:
    def sent(task_id: int, request_id: str, signal: bool = False) -> dict:
        message = {"op": "add", "input": "1", "id": request_id, "parent": "p", **({"signal": True} if signal else {})}
        return event(EventType.EventSent, T, task_id, InstanceId="@counter@k", Name="op", Input=json.dumps(message))

    history = [
        sent(0, "answered"),
        sent(1, "running"),
        sent(2, "fire-and-forget", signal=True),
        event(EventType.EventRaised, T, Name="answered", Input='{"result": "1"}'),
    ]
    assert plan_rewind(history, ExecutionBook(next_id=3)).awaited_calls == {"running"}
