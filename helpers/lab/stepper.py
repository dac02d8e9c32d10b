"""A replay stepper: re-run an orchestrator, with the real durable SDK, on each prefix of its real history.

    steps = kit.replay_steps(instance_id)
    steps            # one row per episode: woken by, is_replaying at each yield, actions returned, custom status
                     # (the custom status column only when some episode set one)

An orchestrator runs in *episodes*: each time a result arrives, Durable Functions runs the function again from
the top over the history so far. The stepper does exactly that, here in the notebook's process, for every
episode the instance really had: it takes the history the host fed that episode (up to its
`OrchestratorStarted` marker, plus the events that woke it), hands it to the SDK's orchestrator handle — the
same code the host calls — around the app's own orchestrator function, and records what happened:

- the new events the episode was woken by (a result, an answer, a fired timer, an external event);
- at each `yield`, the task the code waited for and `context.is_replaying` at that moment (True while the
  SDK answers the code from history, False once the code reaches work that is new);
- the actions the SDK returned that were new in this episode (call an activity or entity, start a timer,
  complete), and the custom status.

The history comes from the embedded host's own route (`/admin/instances/{id}/history`): Durable's public
HTTP API leaves out the episode markers the replay needs. The app's module is imported in a Python process of
its own, with the kit's settings, so its agents exist; nothing is called on them — replay answers from history.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..durable_vocabulary import (
    DELIVERED_EVENTS,
    ENTITY_ACTIONS,
    ActionType,
    EventType,
    event_type_name,
    parse_entity_id,
)
from ..host.engine import flatten_actions, orchestrator_request, run_orchestrator
from .errors import LabError
from .replay import label_keys
from .views import Table, agent_text, excerpt

SEPARATOR = "\x1f"  # between table cells while their keys are labelled together (never in a description)
STEP_COLUMNS = ("episode", "woken by", "yields (is_replaying)", "new actions", "custom status")


@dataclass
class Span:
    """Something that took time, for the swimlane picture: an episode, an agent's turn, an activity."""

    lane: str
    label: str
    start: float  # epoch seconds
    end: float


@dataclass
class ReplayedEpisode:
    number: int
    woken_by: list[str]
    yields: list[tuple[bool, str]]  # (context.is_replaying at the yield, what the code waited for)
    new_actions: list[str]
    custom_status: Any = None
    done: bool = False
    output: Any = None
    error: str | None = None


@dataclass
class ReplaySteps:
    """Every episode of one instance, as the stepper replayed it. Prints as a table; `.episodes` holds the data."""

    instance_id: str
    name: str
    episodes: list[ReplayedEpisode] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)  # from the history's timestamps (see `history_spans`)

    def table(self) -> Table:
        """The episodes as rows. Session keys (random on every run) become `key-1`, `key-2`, ... in order of
        first use, the same label everywhere in the table, so two different keys stay visibly different. The
        custom status column is left out when no episode set one (it would be empty on every row)."""
        rows: list[dict[str, Any]] = []
        for ep in self.episodes:
            yields = "; ".join(f"{what} ({replaying})" for replaying, what in ep.yields) or "—"
            actions = "; ".join(ep.new_actions) or "—"
            if ep.error:
                actions += f"; failed: {excerpt(ep.error, 80)}"
            rows.append(
                {
                    "episode": ep.number,
                    "woken by": "; ".join(ep.woken_by),
                    "yields (is_replaying)": yields,
                    "new actions": actions,
                    "custom status": "" if ep.custom_status is None else excerpt(json.dumps(ep.custom_status), 60),
                }
            )
        keyed = ("yields (is_replaying)", "new actions")
        cells = [str(row[column]) for row in rows for column in keyed]
        labelled = iter(label_keys(SEPARATOR.join(cells)).split(SEPARATOR))  # one numbering for the whole table
        for row in rows:
            for column in keyed:
                row[column] = next(labelled)
        columns = STEP_COLUMNS if any(row["custom status"] for row in rows) else STEP_COLUMNS[:-1]
        return Table(columns, rows, title=f"replay steps of {self.name} instance {self.instance_id}")

    def __repr__(self) -> str:
        return repr(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def episode_inputs(history: list[dict[str, Any]]) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(earlier events, new events) for each episode: the history up to its OrchestratorStarted marker, and the
    marker plus the input events that follow it (what woke the episode)."""
    starts = [i for i, ev in enumerate(history) if ev.get("EventType") == EventType.OrchestratorStarted]
    for start in starts:
        end = start + 1
        while end < len(history) and history[end].get("EventType") in DELIVERED_EVENTS:
            end += 1
        yield history[:start], history[start:end]


def describe_event(ev: dict[str, Any]) -> str:
    kind = event_type_name(ev.get("EventType"))
    if kind == EventType.ExecutionStarted.name:
        return "start" + (f" (input {excerpt(ev.get('Input'), 30)})" if ev.get("Input") not in (None, "null") else "")
    if kind == EventType.EventRaised.name:
        text = agent_text(ev.get("Input"))
        if text is not None:
            return f"entity answer: {excerpt(text, 40)}"
        return f"event {ev.get('Name')}"
    if kind in (EventType.TaskCompleted.name, EventType.TaskFailed.name):
        return f"{kind} #{ev.get('TaskScheduledId')}"
    if kind == EventType.TimerFired.name:
        return f"timer #{ev.get('TimerId')} fired"
    return kind


def describe_action(action: dict[str, Any]) -> str:
    kind = ActionType(action["actionType"])
    if kind in ENTITY_ACTIONS:
        name_key = parse_entity_id(action.get("instanceId", ""))
        target = f"{name_key[0]}/{name_key[1]}" if name_key else action.get("instanceId", "")
        verb = "call" if kind is ActionType.CallEntity else "signal"
        return f"{verb} entity {target}.{action.get('operation')}"  # entity/key.operation
    if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
        return f"call activity {action.get('functionName')}" + (
            " (with retry)" if kind is ActionType.CallActivityWithRetry else ""
        )
    if kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
        return f"start sub-orchestration {action.get('functionName')}"
    if kind is ActionType.CreateTimer:
        return f"timer until {str(action.get('fireAt', ''))[11:19]}"
    if kind is ActionType.CallHttp:
        return f"call HTTP {(action.get('httpRequest') or {}).get('method', '')}".rstrip()
    return kind.name


def describe_task(task: Any) -> str:
    """What the orchestrator waited for at one `yield`: an activity, an agent's turn, a timer, an event, a group.

    A durable agent's `run(...)` is a group of one (an entity call the agent framework wraps): it is named by
    its one member. `task_all` / `task_any` of several are named by their size.
    """
    children = list(getattr(task, "children", None) or [])
    if len(children) == 1:
        return describe_task(children[0])
    if children:
        group = "task_any" if "any" in type(task).__name__.lower() else "task_all"
        return f"{group} of {len(children)}"
    action = getattr(task, "action_repr", None)
    action = action[0] if isinstance(action, list) and action else action
    data = action.to_json() if action is not None and hasattr(action, "to_json") else {}
    if data.get("actionType") == ActionType.WaitForExternalEvent:
        return f"event {data.get('externalEventName')}"
    return describe_action(data) if "actionType" in data else type(task).__name__


def traced(function: Any, record: list[tuple[bool, str]]) -> Any:
    """The orchestrator function, recording `is_replaying` and the awaited task at every yield."""

    def orchestrator(context: Any) -> Any:
        result = function(context)
        if not inspect.isgenerator(result):
            return result
        generator = result
        try:
            task = next(generator)
        except StopIteration as stop:
            return stop.value
        while True:
            record.append((bool(context.is_replaying), describe_task(task)))
            try:
                value = yield task
            except GeneratorExit:
                generator.close()
                raise
            except BaseException as failure:  # a failed task: the SDK throws it into the code
                try:
                    task = generator.throw(failure)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    task = generator.send(value)
                except StopIteration as stop:
                    return stop.value

    return orchestrator


# ------------------------------------------------------------------------------------- the app's code


def orchestrator_function(app_dir: Path, name: str) -> Any:
    """The app's orchestrator function `name` (case-insensitive), from importing its function_app.py."""
    spec = importlib.util.spec_from_file_location("function_app", app_dir / "function_app.py")
    if spec is None or spec.loader is None:
        raise LabError(f"No function_app.py in {app_dir}.")
    sys.path.insert(0, str(app_dir))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    for function in module.app.get_functions():
        trigger = function.get_trigger()
        if getattr(trigger, "type", "") == "orchestrationTrigger":
            registered = getattr(trigger, "orchestration", None) or function.get_function_name()
            if registered.lower() == name.lower():
                return function.get_user_function().orchestrator_function
    raise LabError(f"The app in {app_dir} has no orchestrator named {name!r}.")


def replay(
    name: str, instance_id: str, input_json: str | None, history: list[dict[str, Any]], function: Any
) -> ReplaySteps:
    """Re-run `function` on each episode's prefix of `history` and describe every episode."""
    import azure.durable_functions as df

    steps = ReplaySteps(instance_id, name)
    actions_before = 0
    for number, (earlier, new) in enumerate(episode_inputs(history), start=1):
        record: list[tuple[bool, str]] = []
        handle = df.Orchestrator.create(traced(function, record))
        played = [json.dumps({**ev, "IsPlayed": True}) for ev in earlier]
        fresh = [json.dumps({**ev, "IsPlayed": False}) for ev in new]
        request = orchestrator_request(played, fresh, instance_id=instance_id, input_json=input_json, parent_id=None)
        result = run_orchestrator(handle, request)
        actions = flatten_actions(result.actions)
        state = result.state
        episode = ReplayedEpisode(
            number,
            [describe_event(ev) for ev in new[1:]],
            record,
            [describe_action(a) for a in actions[actions_before:]],
            state.get("customStatus"),
            result.done,
            state.get("output"),
            result.error,
        )
        if result.done:
            episode.new_actions.append(f"complete: {excerpt(json.dumps(state.get('output')), 50)}")
        actions_before = max(actions_before, len(actions))
        steps.episodes.append(episode)
    return steps


def _epoch(timestamp: Any) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def history_spans(history: list[dict[str, Any]]) -> list[Span]:
    """When each episode ran (its OrchestratorStarted to its OrchestratorCompleted), and when each entity call
    (an agent's turn) and activity ran (sent or scheduled, to its answer), from the history's own timestamps."""
    spans: list[Span] = []
    episode_start: float | None = None
    episode_number = 0
    pending: dict[Any, tuple[str, str, float]] = {}  # request id / task id -> (lane, label, start)
    for ev in history:
        kind, at = ev.get("EventType"), _epoch(ev.get("Timestamp"))
        if at is None:
            continue
        if kind == EventType.OrchestratorStarted:
            episode_number += 1
            episode_start = at
        elif kind == EventType.OrchestratorCompleted and episode_start is not None:
            spans.append(Span("orchestrator", f"episode {episode_number}", episode_start, max(at, episode_start)))
            episode_start = None
        elif kind == EventType.EventSent:  # an entity call; its answer is an EventRaised named after the request id
            request = decode_request(ev.get("Input"))
            target = parse_entity_id(ev.get("InstanceId", "")) or (ev.get("InstanceId", ""), "")
            if request.get("id"):
                pending[request["id"]] = (target[0], f"{target[0]}.{request.get('op', '')}", at)
        elif kind == EventType.TaskScheduled:
            pending[("task", ev.get("EventId"))] = ("activities", str(ev.get("Name")), at)
        elif kind == EventType.EventRaised and ev.get("Name") in pending:
            lane, label, start = pending.pop(ev["Name"])
            spans.append(Span(lane, label, start, at))
        elif kind in (EventType.TaskCompleted, EventType.TaskFailed) and ("task", ev.get("TaskScheduledId")) in pending:
            lane, label, start = pending.pop(("task", ev["TaskScheduledId"]))
            spans.append(Span(lane, label + (" (failed)" if kind == EventType.TaskFailed else ""), start, at))
    return spans


def decode_request(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def run_in_subprocess(app_dir: Path, stored: dict[str, Any], environment: dict[str, str]) -> ReplaySteps:
    """Replay in a Python process of its own: importing the app there keeps the notebook's kernel untouched
    (no app modules, agents, warnings or sys.path entries left behind), and every call sees the app's code
    as it is on disk."""
    import subprocess

    request = json.dumps({"app_dir": str(app_dir), **stored})
    completed = subprocess.run(
        [sys.executable, "-m", "helpers.lab.stepper"],
        input=request,
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        timeout=120,
    )
    if completed.returncode != 0:
        raise LabError(f"The replay stepper failed: {completed.stderr.strip()[-1500:]}")
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    episodes = [ReplayedEpisode(**{**ep, "yields": [tuple(y) for y in ep["yields"]]}) for ep in data["episodes"]]
    return ReplaySteps(data["instance_id"], data["name"], episodes, history_spans(stored["history"]))


def main() -> int:
    """`python -m helpers.lab.stepper` < {"app_dir", "instanceId", "name", "input", "history"}: steps as JSON."""
    import dataclasses
    import logging

    logging.disable(logging.CRITICAL)  # the app's import-time logging is not the stepper's output
    stored = json.loads(sys.stdin.read())
    function = orchestrator_function(Path(stored["app_dir"]), stored["name"])
    steps = replay(stored["name"], stored["instanceId"], stored.get("input"), stored["history"], function)
    print(json.dumps(dataclasses.asdict(steps), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
