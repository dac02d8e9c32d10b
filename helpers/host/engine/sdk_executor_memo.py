"""Memoised `namedtuple` for the durable SDK's replay executor -- the second speed-up the host gives the SDK.

The SDK builds a fresh `TaskOrchestrationExecutor` for every orchestrator call, and its `__init__` defines a
class each time: `namedtuple("SetTaskValuePayload", ("is_success", "task_id_key"))`, which compiles and
evaluates source code -- about 0.1 ms per episode, a quarter of the SDK's own time once timestamps are memoised
(sdk_timestamps.py). The arguments never change, so the host hands the SDK's module a `namedtuple` that returns
the class it built the first time for the same arguments. The executor's payloads are the same tuples with the
same fields; only the class object is shared between executors, and nothing compares those classes
(tests/engine/test_sdk_executor_memo.py checks the executor's table is equal). Nothing else of the SDK is
touched; if a future SDK no longer calls `namedtuple` from that module, `install()` leaves it alone.
"""

from __future__ import annotations

import collections
from functools import lru_cache
from typing import Any

from . import sdk_patch

_EXECUTOR_MODULE = "azure.durable_functions.models.TaskOrchestrationExecutor"


@lru_cache(maxsize=64)
def _cached(typename: str, field_names: tuple[str, ...]) -> type:
    return collections.namedtuple(typename, field_names)


def memoised_namedtuple(typename: Any, field_names: Any, **kwargs: Any) -> type:
    """`collections.namedtuple`, returning one class per (name, fields) when called the plain way."""
    if kwargs or not isinstance(typename, str) or not isinstance(field_names, (tuple, list)):
        return collections.namedtuple(typename, field_names, **kwargs)
    return _cached(typename, tuple(field_names))


def install() -> bool:
    """Give the SDK's executor module the memoised namedtuple (idempotent). True when it is in place."""
    return sdk_patch.install(_EXECUTOR_MODULE, "namedtuple", _memoise)


def uninstall() -> None:
    """Put `collections.namedtuple` back (the benchmark times the SDK both ways)."""
    sdk_patch.uninstall(_EXECUTOR_MODULE, "namedtuple")


def _memoise(current: Any) -> Any:
    return memoised_namedtuple if current is collections.namedtuple else None  # else: something else replaced it
