"""The book, the engine's persisted bookkeeping of an execution: its JSON keeps the names state files hold, and a
book an older kit wrote reads with the meaning it had."""

from __future__ import annotations

import json

from helpers.host.engine.book import ExecutionBook, RetryLoop
from helpers.host.engine.fan_in import FanIn


def test_a_book_survives_its_json_unchanged() -> None:
    loop = RetryLoop.begin(
        "suborchestration",
        {
            "functionName": "child",
            "input": '"x"',
            "instanceId": "c-1",
            "version": "2.0",
            "retryOptions": {"maxNumberOfAttempts": 3, "firstRetryIntervalInMilliseconds": 250},
        },
        4,
        child_id="c-1",
    )
    book = ExecutionBook(
        episode=3,
        next_id=7,
        signatures=[("TaskScheduled", "hello"), ("SubOrchestrationInstanceCreated", "child")],
        retries=[loop],
        retried=[2],
        version="2.0",
        input_is_value=True,
        fan_in=FanIn(frozenset({5, 6})),
    )
    assert ExecutionBook.from_json(json.loads(json.dumps(book.to_json()))) == book
    assert (loop.max_attempts, loop.interval_ms, loop.attempt_ids) == (3, 250, [4])


def test_the_json_keeps_the_names_state_files_hold() -> None:
    stored = ExecutionBook(next_id=1, retries=[RetryLoop.begin("activity", {"functionName": "f"}, 0)]).to_json()
    assert set(stored) >= {"episode", "next_id", "sigs", "retries", "failed_loops", "version", "input_is_value"}
    assert set(stored["retries"][0]) == {
        "kind",
        "name",
        "input",
        "instanceId",
        "version",
        "childId",
        "max",
        "intervalMs",
        "attempts",
        "taskId",
        "timerId",
        "attemptIds",
    }


def test_a_book_an_older_kit_wrote_reads_with_its_meaning() -> None:
    older = {
        "episode": 2,
        "next_id": 2,
        "sigs": [["TaskScheduled", "f"]],
        "retries": [
            {
                "kind": "activity",
                "name": "f",
                "input": "1",
                "childId": None,
                "max": 2,
                "intervalMs": 10,
                "attempts": 1,
                "taskId": 0,
                "timerId": 1,
            }
        ],
    }
    book = ExecutionBook.from_json(older)
    assert book.failed_loops == [] and book.interrupted_loops == [] and book.retried == []
    assert book.version is None and book.input_is_value is False and book.fan_in is None
    assert book.retries[0].attempt_ids == [0] and book.retries[0].instance_id is None
