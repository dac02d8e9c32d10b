"""The host's memo of the SDK's timestamp parsing returns exactly what dateutil returns."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dateutil.parser import parse as dateutil_parse

from helpers.host.engine import sdk_timestamps
from helpers.host.engine.history import iso


def test_fast_path_equals_dateutil_for_the_host_format() -> None:
    rng = random.Random(7)
    start = datetime(2000, 1, 1, tzinfo=UTC)
    for _ in range(500):
        text = iso(start + timedelta(seconds=rng.uniform(0, 3e9), microseconds=rng.randrange(10**6)))
        ours, theirs = sdk_timestamps.fast_parse(text, dateutil_parse), dateutil_parse(text)
        assert ours == theirs and ours.utcoffset() == theirs.utcoffset() and type(ours.tzinfo) is type(theirs.tzinfo)


def test_other_formats_go_to_dateutil() -> None:
    for text in ("2025-01-01T12:00:00.0000000Z", "2025-01-01T12:00:00Z", "2025-01-01T12:00:00+02:00"):
        assert sdk_timestamps.fast_parse(text, dateutil_parse) == dateutil_parse(text)


def test_the_sdk_parses_through_the_memo() -> None:
    from azure.durable_functions.models.history import HistoryEvent as module  # noqa: F401

    assert sdk_timestamps.install()
    import importlib

    history_event = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    assert getattr(history_event.dt_parse, "memoised", False)
    event = history_event.HistoryEvent(
        EventType=12, EventId=-1, IsPlayed=False, Timestamp="2025-01-01T12:00:00.250000Z"
    )
    assert event.timestamp == dateutil_parse("2025-01-01T12:00:00.250000Z")
