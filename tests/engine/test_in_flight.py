"""Work in flight, read from events alone (in_flight.py): what a restart starts again -- as plain data."""

from __future__ import annotations

from helpers.durable_vocabulary import EventType
from helpers.host.engine.history import event
from helpers.host.engine.in_flight import ArmedTimer, InFlight, ScheduledTask, work_in_flight

T = "2026-12-05T10:00:00.000000Z"


def scheduled(task_id: int, name: str = "say", input_json: str | None = '"x"') -> dict:
    return event(EventType.TaskScheduled, T, task_id, Name=name, Version="", Input=input_json)


def completed(task_id: int) -> dict:
    return event(EventType.TaskCompleted, T, TaskScheduledId=task_id, Result='"done"')


def failed(task_id: int) -> dict:
    return event(EventType.TaskFailed, T, TaskScheduledId=task_id, Reason="no", Details="")


def timer(timer_id: int, fire_at: str = "2026-12-05T10:05:00.000000Z") -> dict:
    return event(EventType.TimerCreated, T, timer_id, FireAt=fire_at)


def fired(timer_id: int) -> dict:
    return event(EventType.TimerFired, T, TimerId=timer_id, FireAt="2026-12-05T10:05:00.000000Z")


def test_scheduled_work_without_a_finishing_event_is_in_flight() -> None:
    history = [
        event(EventType.ExecutionStarted, T),
        scheduled(0),
        completed(0),
        scheduled(1, "lookup", '{"c": 1}'),
        scheduled(2),
        failed(2),
        timer(3),
        timer(4),
        fired(4),
    ]
    assert work_in_flight(history) == InFlight(
        [ScheduledTask(1, "lookup", '{"c": 1}')], [ArmedTimer(3, "2026-12-05T10:05:00.000000Z")]
    )


def test_a_result_waiting_in_pending_finishes_its_work() -> None:
    """A fan-in's early result is committed as a pending row: the activity is done, it must not run again."""
    history = [scheduled(0), scheduled(1)]
    assert work_in_flight([*history, completed(1)]).tasks == [ScheduledTask(0, "say", '"x"')]
    assert work_in_flight([*history, completed(1), completed(0)]) == InFlight([], [])


def test_durable_http_calls_and_retry_attempts_are_tasks_like_any_other() -> None:
    request = '{"method": "GET", "uri": "http://127.0.0.1:1/x"}'
    history = [
        scheduled(0, "BuiltIn::HttpActivity", request),
        scheduled(1, "flaky"),
        failed(1),
        timer(2),
        fired(2),
        scheduled(3, "flaky"),
    ]  # the retry loop's second attempt, scheduled after its timer
    assert work_in_flight(history).tasks == [
        ScheduledTask(0, "BuiltIn::HttpActivity", request),
        ScheduledTask(3, "flaky", '"x"'),
    ]
    assert work_in_flight(history).timers == []


def test_nothing_is_in_flight_for_a_finished_or_empty_history() -> None:
    assert work_in_flight([]) == InFlight([], [])
    assert work_in_flight([scheduled(0), completed(0), event(EventType.ExecutionCompleted, T)]) == InFlight([], [])
