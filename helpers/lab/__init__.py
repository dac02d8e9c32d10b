"""What the notebooks call: start and stop the kit, poll with a progress bar, show durable state and model calls.

    from helpers import lab
    kit = lab.start()                            # offline model + model gateway + embedded host, fresh state
    started = httpx.post(f"{kit.base_url}/api/singleagent/run").json()
    status = lab.poll(started["statusQueryGetUri"], desc="chaining")
    kit.history_table(started["instanceId"])     # the orchestration's history, one row per event
    kit.model_calls()                            # the model calls the agents really made, any backend
    kit.stop()

The package, one module per concept:
- `session`: the running kit (`Lab`) — start, stop, crash and restart the services;
- `durable_client`: durable state read through the public Durable Functions HTTP API;
- `model_calls`, `model_errors`: the gateway's records of every model call, fault injection, the one-call
  backend check, and one clear message when a model call fails;
- `polling`: wait for an instance with a progress bar;
- `checks`: the exercises' self-checks (one module per lesson), each answering with a `Verdict`;
- `stepper`: re-run an orchestrator episode by episode on its real history (`kit.replay_steps`): the history
  comes from the embedded host's history route, and the replay, in a process of its own, goes through the
  engine's documented replay API (`helpers.host.engine`: the request the engine builds, the SDK's answer);
- `deploy`: run orchestrators and activities written in a notebook on the kit's host (`kit.deploy`);
- `streams`: read an app's server-sent-event stream route from a cursor (lesson 10's reliable streaming);
- `views`, `replay`, `plots`: tables of history, conversations and episodes; replay walk-throughs; timelines;
- `workflows`: an Agent Framework workflow on Durable Functions: its graph, supersteps, executor runs, replays;
- `environment`: which Python, packages, model and host the kit will use (secrets masked);
- `azure_plan`: notebook 11's deployment rehearsal (`helpers.rehearsal`), settings table and `az` commands.

Everything a notebook learns about an orchestration comes through the public HTTP surface: the app's own
routes (`/api/...`) and the Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`). Only starting,
stopping and crashing processes, and reading the host log, are local — so the same notebooks run against a
real `func start` (`lab.start(host="func")`). "Session" always means an Agent Framework session here (an
agent's conversation, keyed by its session key); the running services are "the kit".

Module-level helpers (`history_table`, `entity_conversation`, ...) act on the most recently started kit, for
scripts that never name it; notebooks call the same methods on the `kit` that `lab.start()` returns.
"""

from __future__ import annotations

from typing import Any

from . import azure_plan, checks, environment, plots, replay, streams, views, workflows
from .deploy import activity, orchestrator, workflow
from .environment import KIT_ROOT, TEACHING_APP, TOOLS_AND_STREAMS_APP, WORKFLOWS_APP, describe_environment
from .errors import LabError
from .model_calls import ModelCheck
from .model_errors import ModelBackendError
from .plots import ModelCall, OverlapSummary, as_calls, overlap_summary, swimlane_plot, timeline_plot
from .polling import poll
from .session import Lab, current, host_environment, model_settings, start, with_task_hub
from .views import LoggedEpisode, Table, agent_text, episode_table, episodes, replay_counts

__all__ = [
    "KIT_ROOT",
    "TEACHING_APP",
    "TOOLS_AND_STREAMS_APP",
    "WORKFLOWS_APP",
    "Lab",
    "LabError",
    "LoggedEpisode",
    "ModelBackendError",
    "ModelCall",
    "ModelCheck",
    "OverlapSummary",
    "Table",
    "activity",
    "agent_text",
    "as_calls",
    "azure_plan",
    "check_model",
    "checks",
    "current",
    "describe_environment",
    "entity_calls_of",
    "entity_conversation",
    "entity_state",
    "environment",
    "episode_table",
    "episodes",
    "find_agent_sessions",
    "history",
    "history_table",
    "host_environment",
    "host_log",
    "model_calls",
    "model_settings",
    "model_stats",
    "orchestrator",
    "overlap_summary",
    "plots",
    "poll",
    "replay",
    "replay_counts",
    "set_model_faults",
    "start",
    "streams",
    "swimlane_plot",
    "timeline_plot",
    "views",
    "with_task_hub",
    "workflow",
    "workflows",
]


def history(instance_id: str) -> list[dict[str, Any]]:
    return current().history(instance_id)


def history_table(instance_id: str, *, timestamps: bool = False) -> Table:
    return current().history_table(instance_id, timestamps=timestamps)


def entity_calls_of(instance_id: str) -> list[dict[str, str]]:
    return current().entity_calls_of(instance_id)


def entity_state(entity_name: str, key: str) -> Any:
    return current().entity_state(entity_name, key)


def entity_conversation(agent_name: str, session_key: str) -> Table:
    return current().entity_conversation(agent_name, session_key)


def find_agent_sessions(agent_name: str) -> list[str]:
    return current().find_agent_sessions(agent_name)


def host_log(instance_id: str | None = None) -> list[str]:
    return current().host_log(instance_id)


def model_stats() -> dict[str, Any]:
    return current().model_stats()


def model_calls(since: int = 0) -> list[dict[str, Any]]:
    return current().model_calls(since)


def set_model_faults(**faults: Any) -> dict[str, Any]:
    return current().set_model_faults(**faults)


def check_model() -> ModelCheck:
    return current().check_model()


def _show_kit_errors_without_traceback() -> None:
    """In IPython/Jupyter, show a `LabError` as its message only.

    A `LabError` says what happened and what to fix; the frames inside the kit that raised it would only bury
    that sentence. Other exceptions keep their full traceback.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show_message_only(shell: Any, etype: type, value: BaseException, _tb: Any, **_options: Any) -> list[str]:
        # IPython calls a custom handler instead of showing the error, so the handler shows it: an error
        # output (name and message, no frames), which Jupyter and nbval see as the cell's error.
        structured = shell.InteractiveTB.get_exception_only(etype, value)
        shell._showtraceback(etype, value, structured)
        return structured

    shell.set_custom_exc((LabError,), show_message_only)


_show_kit_errors_without_traceback()
