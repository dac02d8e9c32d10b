"""Where an orchestration's time went, read from the host's own log lines (1 ms resolution).

The host logs every orchestrator episode and every activity start/completion with the instance id (like real
`func` does), so the time between a client's POST and its observing `Completed` splits into phases without
instrumenting the host:

    start -> first episode            HTTP start + instance creation + the first commit
    activities (busy)                 wall time while at least one activity ran
    activity oversleep                reported activity durations minus the time the activity asked to sleep
    engine gaps                       time inside the instance with no activity running: episodes (SDK replay,
                                      history JSON, SQLite writes) and scheduling between one step and the next
    completed -> observed             the client's status polling
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

_LINE = re.compile(r"^\[(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \w+ [\w.]+: (?P<iid>[0-9a-f]{32}): (?P<msg>.*)$")
_EPISODE = re.compile(r"Function '.+ \(Orchestrator\)' started\. IsReplay: \w+\. Episode: (\d+)")
_ACTIVITY_START = re.compile(r"Function '.+ \(Activity\)' started\. TaskId: (\d+)")
_ACTIVITY_DONE = re.compile(r"Function '.+ \(Activity\)' completed\. TaskId: (\d+)\. Duration: (\d+) ms")
_COMPLETED = re.compile(r"Function '.+ \(Orchestrator\)' completed\.")


@dataclass
class Timeline:
    """Phases of one instance in milliseconds (see the module docstring)."""

    start_to_first_episode_ms: float
    activities_busy_ms: float
    activity_oversleep_ms: float
    engine_gaps_ms: float
    completed_to_observed_ms: float
    episodes: int
    activities: int
    gaps_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stamp(text: str) -> float:
    # logging's asctime is local time, as is datetime.timestamp() of a naive value: the clocks agree.
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def timeline(log_text: str, instance_id: str, posted_at: float, observed_at: float, sleep_ms: float) -> Timeline:
    """Split [posted_at, observed_at] (wall-clock seconds, `time.time()`) for one instance into phases."""
    first_episode = completed = None
    episodes = 0
    intervals: list[tuple[float, float]] = []
    starts: dict[int, float] = {}
    oversleep = 0.0
    for line in log_text.splitlines():
        match = _LINE.match(line)
        if match is None or match["iid"] != instance_id:
            continue
        when, msg = _stamp(match["when"]), match["msg"]
        if _EPISODE.match(msg):
            episodes += 1
            first_episode = when if first_episode is None else first_episode
        elif (started := _ACTIVITY_START.match(msg)) is not None:
            starts[int(started[1])] = when
        elif (done := _ACTIVITY_DONE.match(msg)) is not None:
            task_id = int(done[1])
            intervals.append((starts.pop(task_id, when), when))
            oversleep += int(done[2]) - sleep_ms
        elif _COMPLETED.match(msg):
            completed = when
    if first_episode is None or completed is None:
        raise ValueError(f"the host log has no complete run of {instance_id}")
    busy, gaps = _busy_and_gaps(intervals, first_episode, completed)
    return Timeline(
        start_to_first_episode_ms=(first_episode - posted_at) * 1000,
        activities_busy_ms=busy * 1000,
        activity_oversleep_ms=oversleep,
        engine_gaps_ms=sum(gaps) * 1000,
        completed_to_observed_ms=(observed_at - completed) * 1000,
        episodes=episodes,
        activities=len(intervals),
        gaps_ms=[round(gap * 1000, 1) for gap in gaps],
    )


def _busy_and_gaps(intervals: list[tuple[float, float]], begin: float, end: float) -> tuple[float, list[float]]:
    """Union length of the activity intervals, and the idle gaps between `begin`, them and `end`."""
    busy, gaps, cursor = 0.0, [], begin
    for start, stop in sorted(intervals):
        if start > cursor:
            gaps.append(start - cursor)
        if stop > cursor:
            busy += stop - max(start, cursor)
            cursor = stop
    gaps.append(max(0.0, end - cursor))
    return busy, gaps
