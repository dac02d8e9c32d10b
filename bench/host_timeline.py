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

`agent_timeline` does the same for an agent orchestration, whose work is agent entity operations (a model call
each) instead of activities: the operations run on entities whose ids are not the orchestration's, so every
operation logged between the POST and the answer counts (the benchmark runs one orchestration at a time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

_LINE = re.compile(
    r"^\[(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \w+ [\w.]+: (?P<iid>[0-9a-f]{32}): (?P<msg>.*)$"
)
_EPISODE = re.compile(r"Function '.+ \(Orchestrator\)' started\. IsReplay: \w+\. Episode: (\d+)")
_ACTIVITY_START = re.compile(r"Function '.+ \(Activity\)' started\. TaskId: (\d+)")
_ACTIVITY_DONE = re.compile(r"Function '.+ \(Activity\)' completed\. TaskId: (\d+)\. Duration: (\d+) ms")
_COMPLETED = re.compile(r"Function '.+ \(Orchestrator\)' completed\.")
_ENTITY_LINE = re.compile(
    r"^\[(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \w+ [\w.]+: (?P<eid>@[^:]+): "
    r"Function '.+ \(Entity\)' operation '[^']+' (?P<what>started|completed|failed)\."
)


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
    orchestration = _Orchestration()
    intervals: list[tuple[float, float]] = []
    starts: dict[int, float] = {}
    oversleep = 0.0
    for when, msg in _instance_lines(log_text, instance_id):
        if orchestration.see(when, msg):
            continue
        if (started := _ACTIVITY_START.match(msg)) is not None:
            starts[int(started[1])] = when
        elif (done := _ACTIVITY_DONE.match(msg)) is not None:
            task_id = int(done[1])
            intervals.append((starts.pop(task_id, when), when))
            oversleep += int(done[2]) - sleep_ms
    first_episode, completed = orchestration.span(instance_id)
    busy, gaps = _busy_and_gaps(intervals, first_episode, completed)
    return Timeline(
        start_to_first_episode_ms=(first_episode - posted_at) * 1000,
        activities_busy_ms=busy * 1000,
        activity_oversleep_ms=oversleep,
        engine_gaps_ms=sum(gaps) * 1000,
        completed_to_observed_ms=(observed_at - completed) * 1000,
        episodes=orchestration.episodes,
        activities=len(intervals),
        gaps_ms=[round(gap * 1000, 1) for gap in gaps],
    )


def _instance_lines(log_text: str, instance_id: str) -> Iterator[tuple[float, str]]:
    """(time, message) of every log line about `instance_id`."""
    for line in log_text.splitlines():
        match = _LINE.match(line)
        if match is not None and match["iid"] == instance_id:
            yield _stamp(match["when"]), match["msg"]


@dataclass
class _Orchestration:
    """The orchestrator's own lines of one instance: its episodes and its completion."""

    first_episode: float | None = None
    completed: float | None = None
    episodes: int = 0

    def see(self, when: float, msg: str) -> bool:
        """Note an episode or the completion; True when `msg` was one of them."""
        if _EPISODE.match(msg):
            self.episodes += 1
            self.first_episode = when if self.first_episode is None else self.first_episode
            return True
        if _COMPLETED.match(msg):
            self.completed = when
            return True
        return False

    def span(self, instance_id: str) -> tuple[float, float]:
        """First episode and completion; ValueError when the log does not hold a complete run."""
        if self.first_episode is None or self.completed is None:
            raise ValueError(f"the host log has no complete run of {instance_id}")
        return self.first_episode, self.completed


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


@dataclass
class AgentTimeline:
    """Phases of one agent orchestration in milliseconds (see the module docstring)."""

    start_to_first_operation_ms: float  # HTTP start through the app's route, the first episode, the entity op
    operations_busy_ms: float  # wall time while at least one agent entity operation ran
    operations_above_latency_ms: float  # that, less the model latency on the critical path
    engine_gaps_ms: float  # inside the instance with no operation running: delivering answers, episodes
    completed_to_observed_ms: float  # the client's status polling
    episodes: int
    operations: int
    gaps_ms: list[float] = field(default_factory=list)
    # Inside each operation, from the model server's own record of the call (`model_calls`), medians:
    before_model_call_ms: float | None = None  # operation started -> request at the model: agent-framework, openai
    model_over_latency_ms: float | None = None  # the model server's own work beyond the latency it was told
    after_model_answer_ms: float | None = None  # answer fully sent -> operation completed: parsing, entity state

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def agent_timeline(
    log_text: str,
    instance_id: str,
    posted_at: float,
    observed_at: float,
    critical_latency_ms: float,
    model_calls: list[dict[str, Any]] | None = None,
    latency_ms: float = 0.0,
) -> AgentTimeline:
    """Split [posted_at, observed_at] for one agent orchestration; `critical_latency_ms` is the model latency
    on its critical path (2 x latency for two calls in turn, 1 x for two at once). `model_calls`: the offline
    model's `/stats` records (`start`/`end`, wall clock), each matched to the operation it ran in."""
    orchestration = _Orchestration()
    for when, msg in _instance_lines(log_text, instance_id):
        orchestration.see(when, msg)
    _, completed = orchestration.span(instance_id)
    starts: dict[str, float] = {}
    intervals: list[tuple[float, float]] = []
    for line in log_text.splitlines():
        if (op := _ENTITY_LINE.match(line)) is None:
            continue
        when = _stamp(op["when"])
        if not posted_at - 0.001 <= when <= observed_at + 0.001:
            continue
        if op["what"] == "started":
            starts[op["eid"]] = when
        elif op["eid"] in starts:
            intervals.append((starts.pop(op["eid"]), when))
    if not intervals:
        raise ValueError(f"the host log has no agent operation of {instance_id}")
    first_operation = min(start for start, _ in intervals)
    busy, gaps = _busy_and_gaps(intervals, first_operation, completed)
    inside = _inside_operations(intervals, model_calls or [], latency_ms)
    return AgentTimeline(
        start_to_first_operation_ms=(first_operation - posted_at) * 1000,
        operations_busy_ms=busy * 1000,
        operations_above_latency_ms=busy * 1000 - critical_latency_ms,
        engine_gaps_ms=sum(gaps) * 1000,
        completed_to_observed_ms=(observed_at - completed) * 1000,
        episodes=orchestration.episodes,
        operations=len(intervals),
        gaps_ms=[round(gap * 1000, 1) for gap in gaps],
        **inside,
    )


def _inside_operations(
    intervals: list[tuple[float, float]], calls: list[dict[str, Any]], latency_ms: float
) -> dict[str, float]:
    """Match each model call to the operation that made it (the earliest-ending one that contains it; the log's
    1 ms steps get 1 ms of slack) and take medians of the three parts of an operation."""
    free = sorted(intervals, key=lambda op: op[1])
    before, over, after = [], [], []
    for call in sorted((c for c in calls if c.get("end")), key=lambda c: c["end"]):
        for op in free:
            if op[0] - 0.001 <= call["start"] and call["end"] <= op[1] + 0.001:
                free.remove(op)
                before.append((call["start"] - op[0]) * 1000)
                over.append((call["end"] - call["start"]) * 1000 - latency_ms)
                after.append((op[1] - call["end"]) * 1000)
                break
    if not before:
        return {}
    return {
        "before_model_call_ms": median(before),
        "model_over_latency_ms": median(over),
        "after_model_answer_ms": median(after),
    }
