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


def swimlane_plot(
    steps: Any, model_calls: Iterable[dict[str, Any]] = (), *, title: str = "Episodes, agent turns and model calls"
) -> Any:
    """One time axis, one lane each for the orchestrator's episodes, each entity (an agent's turns), activities,
    and the model calls: who was busy when. `steps` is `kit.replay_steps(...)` (its `spans` come from the
    history's timestamps); `model_calls` are `kit.model_calls()` records, kept when they fall inside the run.

    What to look for: the orchestrator's episodes are short bars (milliseconds) between long waits; each agent
    turn contains its model call; nothing runs in the orchestrator lane while the model works.
    """
    import matplotlib.pyplot as plt

    spans = list(steps.spans)
    if not spans:
        raise ValueError("No spans to draw: the instance has no recorded episodes yet.")
    begin, finish = min(s.start for s in spans), max(s.end for s in spans)
    calls = [c for c in as_calls(model_calls, label="model") if c.start >= begin - 0.5 and c.end <= finish + 0.5]
    lanes: list[str] = []
    for span in spans:
        if span.lane not in lanes:
            lanes.append(span.lane)
    lanes.sort(key=lambda lane: (lane != "orchestrator", lane == "activities"))
    if calls:
        lanes.append("model calls")
    origin = min([begin, *(c.start for c in calls)])

    fig, ax = plt.subplots(figsize=(9, 0.7 * len(lanes) + 1.5))
    plt.close(fig)  # shown once, as the cell's result (see timeline_plot)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    minimum = (finish - origin) / 300  # an episode of a few ms would be invisible at the scale of seconds
    items = [(s.lane, s.label, s.start, s.end) for s in spans] + [
        ("model calls", c.label, c.start, c.end) for c in calls
    ]
    for lane, label, start, end in items:
        y = lanes.index(lane)
        width = max(end - start, minimum)
        ax.broken_barh(
            [(start - origin, width)],
            (y - 0.35, 0.7),
            facecolors=colours[y % len(colours)],
            edgecolor="black",
            linewidth=0.5,
        )
        if lane == "orchestrator":
            ax.annotate(
                label.replace("episode ", ""),
                (start - origin + width / 2, y - 0.42),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_yticks(range(len(lanes)), lanes)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the instance started")
    ax.set_title(title)
    ax.grid(axis="x", linestyle=":")
    fig.tight_layout()
    return fig
