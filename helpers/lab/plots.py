"""Model-call timelines: when each model call started and ended, drawn and measured.

The offline model records every call it serves (`GET /stats`, `recent` calls with start and end times).
Drawing them as horizontal bars makes concurrency visible: calls that ran at the same time overlap, calls
that ran one after another sit end to end. `overlap_summary` puts a number on it — the wall-clock span of
a group of calls divided by the sum of their durations is ≈ 1 for a chain and ≈ 1/n for n parallel calls —
so a notebook can print a ratio or a boolean instead of raw seconds (which differ on every run).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_START_KEYS = ("start", "started", "started_at", "start_time", "startedAt")
_END_KEYS = ("end", "ended", "ended_at", "finished_at", "end_time", "endedAt", "finishedAt")
_LABEL_KEYS = ("label", "agent", "persona", "name")


@dataclass(frozen=True)
class ModelCall:
    """One model call, times in seconds (any common origin)."""

    label: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"Not a time: {value!r}")


def _first(record: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if record.get(key) is not None:
            return record[key]
    return None


def as_calls(records: Iterable[dict[str, Any] | ModelCall], label: str | None = None) -> list[ModelCall]:
    """Normalise call records (from the offline model's `/stats`) into `ModelCall`s, ordered by start."""
    calls = []
    for number, record in enumerate(records):
        if isinstance(record, ModelCall):
            calls.append(record)
            continue
        start, end = _first(record, _START_KEYS), _first(record, _END_KEYS)
        if start is None or end is None:
            raise ValueError(f"A model call record needs start and end times; got keys {sorted(record)}")
        name = label or _first(record, _LABEL_KEYS) or f"call {number + 1}"
        calls.append(ModelCall(str(name), _seconds(start), _seconds(end)))
    return sorted(calls, key=lambda call: call.start)


@dataclass(frozen=True)
class OverlapSummary:
    """How a group of calls used the clock."""

    calls: int
    span: float  # first start to last end, seconds
    total: float  # sum of the durations, seconds
    overlapped: bool  # did any two calls run at the same time?
    longest: float = 0.0  # the longest call, seconds

    @property
    def span_over_total(self) -> float:
        """≈ 1.0 (or more) when the calls ran one after another, < 1 when some ran side by side (≈ 1/n for n
        calls of equal length)."""
        return self.span / self.total if self.total else 1.0

    @property
    def span_over_longest(self) -> float:
        """≈ 1.0 when every call ran inside the longest one (all at once), ≈ n for n equal calls in a row."""
        return self.span / self.longest if self.longest else 1.0


def overlap_summary(calls: Iterable[dict[str, Any] | ModelCall]) -> OverlapSummary:
    items = as_calls(calls)
    if not items:
        raise ValueError("No model calls to summarise")
    span = max(c.end for c in items) - min(c.start for c in items)
    total = sum(c.duration for c in items)
    overlapped = any(b.start < a.end for a, b in itertools.pairwise(items))
    return OverlapSummary(len(items), span, total, overlapped, max(c.duration for c in items))


def timeline_plot(
    groups: dict[str, Iterable[dict[str, Any] | ModelCall]] | Iterable[dict[str, Any] | ModelCall],
    *,
    title: str = "Model calls over time",
    ax: Any = None,
) -> Any:
    """Draw one horizontal bar per model call; returns the matplotlib Figure.

    `groups` is either a list of calls or `{"group name": calls, ...}` (e.g. one group per orchestration).
    All groups share one time axis, starting at the first call of any group, so calls that ran at different
    times never look simultaneous. A bar's label is the agent that made the call, or — for an agent's first
    call, before its name is in the conversation — the field its instructions name (e.g. "physics lens").
    """
    import matplotlib.pyplot as plt  # imported here: only notebooks that plot pay for matplotlib

    if not isinstance(groups, dict):
        groups = {"": groups}
    rows: list[tuple[str, ModelCall, int]] = []
    grouped = {group: as_calls(records) for group, records in groups.items()}
    origin = min((c.start for calls in grouped.values() for c in calls), default=0.0)
    for group_number, (group, calls) in enumerate(grouped.items()):
        for number, call in enumerate(calls, start=1):
            name = f"{group}: {number}. {call.label}" if group else f"{number}. {call.label}"
            rows.append((name, ModelCall(call.label, call.start - origin, call.end - origin), group_number))

    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(rows), 2) + 1.2))
        # Shown once, as the cell's result. Left open, Jupyter's inline backend would also draw it when the
        # cell ends, and the figure would appear twice.
        plt.close(fig)
    else:
        fig = ax.figure
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for y, (_name, call, group_number) in enumerate(rows):
        ax.barh(y, call.duration, left=call.start, color=colours[group_number % len(colours)], edgecolor="black")
    ax.set_yticks(range(len(rows)), [name for name, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first model call shown")
    ax.set_title(title)
    ax.grid(axis="x", linestyle=":")
    fig.tight_layout()
    return fig


# A model call belongs to the instance when it ran inside one of the instance's own agent turns (from the turn's
# EventSent to its answer's EventRaised). The gateway and the host stamp times on the same machine; this much
# slack covers the rounding of the history's timestamps.
TURN_SLACK_SECONDS = 0.1
EPISODE_LABEL_GAP = 0.045  # closer episode labels than this share one label ("2–3"), as a share of the time axis


def calls_in_turns(model_calls: Iterable[dict[str, Any]], turns: Sequence[Any]) -> list[ModelCall]:
    """The finished model calls that ran inside one of `turns` (spans with `start` and `end`), ordered by start.

    `kit.model_calls()` holds every call the host made, other instances' included; the calls inside this
    instance's own agent turns are its own (two instances calling agents at the very same time would share).
    """
    finished = [record for record in model_calls if _first(record, _END_KEYS) is not None]
    return [
        call
        for call in as_calls(finished, label="model")
        if any(
            turn.start - TURN_SLACK_SECONDS <= call.start and call.end <= turn.end + TURN_SLACK_SECONDS
            for turn in turns
        )
    ]


def episode_labels(episodes: Sequence[tuple[int, float]], min_gap: float) -> list[tuple[str, float]]:
    """(label, x) for episodes given as (number, x), ordered by x: episodes closer than `min_gap` to the first
    of their group share one label ("5–7"), so labels never overlap; each label sits at its group's first x."""
    labels: list[tuple[str, float]] = []
    group: list[tuple[int, float]] = []
    for number, x in sorted(episodes, key=lambda item: item[1]):
        if group and x - group[0][1] >= min_gap:
            labels.append(_group_label(group))
            group = []
        group.append((number, x))
    if group:
        labels.append(_group_label(group))
    return labels


def _group_label(group: list[tuple[int, float]]) -> tuple[str, float]:
    first, last = group[0][0], group[-1][0]
    return (str(first) if first == last else f"{first}–{last}"), group[0][1]


def swimlane_plot(
    steps: Any, model_calls: Iterable[dict[str, Any]] = (), *, title: str = "Episodes, agent turns and model calls"
) -> Any:
    """One time axis, one lane each for the orchestrator's episodes, each entity (an agent's turns), activities,
    and the model calls: who was busy when. `steps` is `kit.replay_steps(...)` (its `spans` come from the
    history's timestamps); of `model_calls` (`kit.model_calls()` records) only the instance's own are drawn:
    those that ran inside one of its agent turns.

    What to look for: the orchestrator's episodes are short bars (milliseconds) between long waits, numbered
    above the lane (episodes too close to tell apart share a label, "2–3"); each agent turn contains its model
    call; nothing runs in the orchestrator lane while the model works.
    """
    import matplotlib.pyplot as plt

    spans = list(steps.spans)
    if not spans:
        raise ValueError("No spans to draw: the instance has no recorded episodes yet.")
    begin, finish = min(s.start for s in spans), max(s.end for s in spans)
    turns = [s for s in spans if s.lane not in ("orchestrator", "activities")]
    calls = calls_in_turns(model_calls, turns)
    lanes: list[str] = []
    for span in spans:
        if span.lane not in lanes:
            lanes.append(span.lane)
    lanes.sort(key=lambda lane: (lane != "orchestrator", lane == "activities"))
    if calls:
        lanes.append("model calls")
    origin = min([begin, *(c.start for c in calls)])
    length = max([finish, *(c.end for c in calls)]) - origin

    fig, ax = plt.subplots(figsize=(9, 0.7 * len(lanes) + 1.6))
    plt.close(fig)  # shown once, as the cell's result (see timeline_plot)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    minimum = length / 300  # an episode of a few ms would be invisible at the scale of seconds
    items = [(s.lane, s.start, s.end) for s in spans] + [("model calls", c.start, c.end) for c in calls]
    for lane, start, end in items:
        y = lanes.index(lane)
        ax.broken_barh(
            [(start - origin, max(end - start, minimum))],
            (y - 0.3, 0.6),
            facecolors=colours[y % len(colours)],
            edgecolor="black",
            linewidth=0.5,
        )
    episodes = [
        (int(s.label.removeprefix("episode ")), s.start - origin + max(s.end - s.start, minimum) / 2)
        for s in spans
        if s.lane == "orchestrator" and s.label.removeprefix("episode ").isdigit()
    ]
    for label, x in episode_labels(episodes, EPISODE_LABEL_GAP * length):
        # above the orchestrator's bars, inside the frame (the y axis is inverted: lane 0 is on top)
        ax.annotate(label, (x, -0.36), ha="center", va="bottom", fontsize=9)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_ylim(len(lanes) - 0.5, -0.85)  # inverted, with room above the top lane for the episode numbers
    ax.set_xlabel("seconds since the instance started")
    ax.set_title(title)
    ax.grid(axis="x", linestyle=":")
    fig.tight_layout()
    return fig
