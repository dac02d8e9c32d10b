"""Notebook 09's views of an Agent Framework workflow on Durable Functions: its graph, supersteps, runs, replays.

`AgentFunctionApp` runs a `Workflow` as the orchestration `dafx-<workflow>`: in each **superstep** the
orchestrator schedules every executor that has a message — agent executors as calls to their entity
(`dafx-<workflow>-<agent>`), the others as activities (`dafx-<workflow>-<executor>`) — waits for all of them
(`task_all`), routes their messages along the edges, and starts the next superstep. These functions read that
back from what the kit hands out:

- `graph(kit, name)`: the workflow drawn by Agent Framework's `WorkflowViz` (the app's `/api/graphs/{name}`
  route), shown as Mermaid in JupyterLab, with what each executor runs as;
- `supersteps(history, workflow)`: the real history (Durable HTTP API, `showHistory=true`) regrouped into
  supersteps — the work each orchestrator episode scheduled together;
- `executor_runs(log_lines, instance_id, workflow)`: how often each executor started and completed, from the
  host log (a crash shows as a start without a completion).

Like `views`, these are pure functions of JSON and log lines, so their tables hold no timestamps or ports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from ..durable_vocabulary import AGENT_ENTITY_PREFIX, COMPLETION_EVENTS, EventType, parse_entity_id
from .errors import LabError
from .views import Table, event_type, is_entity_answer

ACTIVITY = "activity"
AGENT = "agent entity"
# Events that bring something into the orchestration: each can wake an episode.
ARRIVALS = frozenset(kind.name for kind in (EventType.ExecutionStarted, *COMPLETION_EVENTS))


@dataclass
class WorkflowGraph:
    """A hosted workflow's graph: Mermaid text from Agent Framework's `WorkflowViz`, and its executors.

    In JupyterLab it renders as a Mermaid diagram (a Markdown code block tagged `mermaid`); as text it is the
    Mermaid source.
    """

    name: str
    mermaid: str
    executors: Table

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.mermaid}\n```"

    def __repr__(self) -> str:
        return self.mermaid

    @property
    def executor_ids(self) -> list[str]:
        return self.executors.column("executor")


def graph(kit: Any, name: str) -> WorkflowGraph:
    """The graph of workflow `name` as the running app draws it (`GET /api/graphs/{name}`)."""
    response = httpx.get(f"{kit.base_url}/api/graphs/{quote(name, safe='')}", timeout=30, trust_env=False)
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or "mermaid" not in body:
        raise LabError(f"The app's graph route answered {response.status_code}: {response.text[:300]}")
    executors = Table(
        ("executor", "runs as", "function"), list(body.get("executors") or []), title=f"{name}: executors"
    )
    return WorkflowGraph(name, body["mermaid"], executors)


# ------------------------------------------------------------------------------------------ supersteps


def supersteps(history: Iterable[dict[str, Any]], workflow: str, executors: Sequence[str] = ()) -> Table:
    """The history regrouped into supersteps: which executors the orchestrator scheduled together, and how.

    The Durable HTTP API folds each `TaskScheduled` into its `TaskCompleted` (which keeps `ScheduledTime`),
    and writes an agent call as `EventSent` to the agent's entity. Work scheduled after the same arrival (a
    result, an answer, an external event) and before the next one was scheduled by one orchestrator episode:
    one superstep, since a workflow's orchestrator schedules a superstep only once the last one is complete.
    An external event that is not an agent's answer (a person's reply, say) gets a row of its own.
    `executors` (e.g. `graph.executor_ids`) restores their case in agent names, which entity ids lower-case.
    """
    prefix = f"{AGENT_ENTITY_PREFIX}{workflow}-".lower()
    proper = {name.lower(): name for name in executors}
    timeline: list[tuple[datetime, int, str, str]] = []  # (when, 0 = an arrival / 1 = scheduled work, what, how)
    for event in history:
        kind = event_type(event)
        at = _time(event.get("Timestamp"))
        if kind in (EventType.TaskCompleted.name, EventType.TaskFailed.name):
            name = str(event.get("FunctionName") or event.get("Name") or "")
            scheduled = _time(event.get("ScheduledTime")) or at
            if name.lower().startswith(prefix) and scheduled is not None:
                executor = name[len(prefix) :]
                timeline.append((scheduled, 1, proper.get(executor.lower(), executor), ACTIVITY))
        elif kind == EventType.EventSent.name:
            target = parse_entity_id(event.get("InstanceId"))
            if target and target[0].lower().startswith(prefix) and at is not None:
                executor = target[0][len(prefix) :]
                timeline.append((at, 1, proper.get(executor.lower(), executor), AGENT))
        if kind in ARRIVALS and at is not None:
            external = kind == EventType.EventRaised.name and not is_entity_answer(event.get("Input"))
            timeline.append((at, 0, f"external event {event.get('Name')}" if external else "", ""))
    rows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    waits: list[str] = []
    for _, order, what, runs_as in sorted(timeline, key=lambda item: (item[0], item[1])):
        if order == 0:  # something arrived: the next work belongs to a new episode, so a new superstep
            current = None
            if what:
                waits.append(what)
            continue
        if current is None:
            rows.extend(
                {"superstep": "", "executors scheduled together": f"(waits for {w})", "runs as": ""} for w in waits
            )
            waits = []
            current = {"superstep": 1 + sum(1 for row in rows if row["superstep"] != ""), "executors": [], "how": []}
            rows.append(current)
        current["executors"].append(what)
        current["how"].append(runs_as)
    for row in rows:
        if row["superstep"] != "":
            row["executors scheduled together"] = ", ".join(row.pop("executors"))
            row["runs as"] = ", ".join(row.pop("how"))
    return Table(("superstep", "executors scheduled together", "runs as"), rows, title=f"supersteps of {workflow}")


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(value: Any) -> datetime | None:
    """An ISO timestamp as a datetime; the extension writes 7 fraction digits, which Python reads only up to 6."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- executor runs

_ACTIVITY_LINE = re.compile(
    r"(?P<instance>[^\s:]+): Function '(?P<function>[^']+) \(Activity\)' (?P<what>started|completed|failed)"
)
_ENTITY_LINE = re.compile(
    r"@(?P<entity>[^@\s]+)@(?P<key>[^\s:]+): Function '(?P<function>[^']+) \(Entity\)' operation '[^']+' "
    r"(?P<what>started|completed|failed)"
)


def executor_runs(log_lines: Iterable[str], instance_id: str, workflow: str, executors: Sequence[str] = ()) -> Table:
    """How often each executor of one workflow run started and completed, from the host log.

    Activities are logged with the orchestration's instance id; an agent executor's turns with its entity id,
    whose key is that same instance id. A run cut off by a crash has a start and no completion. Rows follow
    `executors` (e.g. `graph.executor_ids`), then first appearance: executors of one superstep run at the same
    time, so their log lines come in any order.
    """
    prefix = f"{AGENT_ENTITY_PREFIX}{workflow}-"
    counts: dict[str, dict[str, Any]] = {}
    for line in log_lines:
        match = _ACTIVITY_LINE.search(line)
        runs_as = ACTIVITY
        if match is None or match["instance"] != instance_id:
            match = _ENTITY_LINE.search(line)
            runs_as = AGENT
            if match is None or match["key"] != instance_id:
                continue
        function = match["function"]
        if not function.lower().startswith(prefix.lower()):
            continue
        row = counts.setdefault(
            function, {"executor": function[len(prefix) :], "runs as": runs_as, "started": 0, "completed": 0}
        )
        if match["what"] == "started":
            row["started"] += 1
        elif match["what"] == "completed":
            row["completed"] += 1
    order = {name: index for index, name in enumerate(executors)}
    rows = sorted(counts.values(), key=lambda row: order.get(row["executor"], len(order)))
    return Table(("executor", "runs as", "started", "completed"), rows, title=f"{workflow} executors")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
