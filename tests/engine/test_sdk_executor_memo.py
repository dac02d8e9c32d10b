"""The host's memo of the SDK executor's namedtuple leaves the executor exactly as it was, only cheaper."""

from __future__ import annotations

import collections

from azure.durable_functions.models import TaskOrchestrationExecutor as executor_module

from helpers.host.engine import sdk_executor_memo


def _table() -> dict:
    executor = executor_module.TaskOrchestrationExecutor()
    return {
        kind: (type(payload).__name__, payload._fields, tuple(payload))
        for kind, payload in executor.event_to_SetTaskValuePayload.items()
    }


def test_the_executor_table_is_the_same_with_and_without_the_memo() -> None:
    sdk_executor_memo.uninstall()
    try:
        shipped = _table()
        assert sdk_executor_memo.install()
        assert _table() == shipped
    finally:
        sdk_executor_memo.install()


def test_executors_share_one_class_once_installed() -> None:
    assert sdk_executor_memo.install()
    first = executor_module.TaskOrchestrationExecutor().event_to_SetTaskValuePayload
    second = executor_module.TaskOrchestrationExecutor().event_to_SetTaskValuePayload
    assert type(next(iter(first.values()))) is type(next(iter(second.values())))


def test_other_calls_behave_like_namedtuple() -> None:
    point = sdk_executor_memo.memoised_namedtuple("Point", ["x", "y"])
    assert point(1, 2).y == 2 and point is sdk_executor_memo.memoised_namedtuple("Point", ("x", "y"))
    with_defaults = sdk_executor_memo.memoised_namedtuple("Pair", ("a", "b"), defaults=(0,))
    assert with_defaults(1).b == 0
    assert sdk_executor_memo.memoised_namedtuple("Spaced", "a b")._fields == collections.namedtuple("S", "a b")._fields


def test_install_is_idempotent_and_reversible() -> None:
    assert sdk_executor_memo.install() and sdk_executor_memo.install()
    sdk_executor_memo.uninstall()
    assert executor_module.namedtuple is collections.namedtuple
    sdk_executor_memo.install()
    assert getattr(executor_module.namedtuple, "memoised", False)
