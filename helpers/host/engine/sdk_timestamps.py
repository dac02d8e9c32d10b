"""Memoised timestamp parsing for the durable SDK's history events -- the main speed-up the host gives the SDK
(the other: sdk_executor_memo.py).

Every replay hands the SDK the whole history again, and the SDK's `HistoryEvent` parses each event's
`Timestamp` with `dateutil.parser.parse`, a general-purpose parser that costs 50-100 µs per call: about three
quarters of the SDK's time per episode, growing with every completed step. The timestamps of earlier episodes
never change (they must not: `current_utc_datetime` and `new_uuid` are derived from them), so the host wraps
that one function in an LRU cache. Same input string, same (immutable) datetime: the SDK's results are
unchanged, only the repeated parsing is skipped. A first sight of a timestamp in the host's own format
(`2025-01-01T12:00:00.123456Z`, history.iso) is parsed by `datetime.fromisoformat` with the tzinfo dateutil
itself gives that format in this process (`tzutc()`, or `tzlocal()` when the machine's zone is UTC), which makes
the very datetime dateutil would (tests/engine/test_sdk_timestamps.py checks it); any other text goes to
dateutil. Nothing else of the SDK is touched; if a future SDK no longer parses through
`dt_parse`, `install()` leaves it alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from . import sdk_patch

_HISTORY_EVENT_MODULE = "azure.durable_functions.models.history.HistoryEvent"
CACHE_SIZE = 1 << 16  # timestamps; a few MiB at most
_HOST_FORMAT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_zone: dict[Any, Any] = {}  # fallback parser -> the tzinfo it gives "...Z"


def fast_parse(text: str, fallback: Any) -> datetime:
    """dateutil's result for `text`, without dateutil for the host's own timestamp format."""
    if _HOST_FORMAT.fullmatch(text):
        zone = _zone.get(fallback)
        if zone is None:
            zone = _zone[fallback] = fallback("2000-01-01T00:00:00.000000Z").tzinfo
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=zone)
    parsed: datetime = fallback(text)
    return parsed


def install() -> bool:
    """Wrap the SDK's timestamp parser (idempotent). True when the memo is in place."""
    return sdk_patch.install(_HISTORY_EVENT_MODULE, "dt_parse", _memoise)


def uninstall() -> None:
    """Put the SDK's own parser back (the benchmark times the SDK both ways)."""
    sdk_patch.uninstall(_HISTORY_EVENT_MODULE, "dt_parse")


def _memoise(current: Any) -> Any:
    cached = lru_cache(maxsize=CACHE_SIZE)(lambda text: fast_parse(text, current))

    def parse(text: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(text, str):
            return current(text, *args, **kwargs)
        return cached(text)

    return parse
