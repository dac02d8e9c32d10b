"""The words of Durable Functions, spelled once: history event types, orchestrator action types, runtime statuses
and their sets, entity ids and the agent entities' `dafx-` prefix.

The embedded host's engine, the lab's views and replay stepper, the tests and the benchmarks all read and write
these; every one of them imports the spelling from here. Nothing else is imported, so any process can use this
module without loading the host, the SDK or the lab.

The numbers are the wire format: a history event's `EventType` is the Durable Task Framework's enum as Newtonsoft
serialises it (the number, which the durable SDK's orchestrator handle reads), an action's `actionType` the
durable SDK's `ActionType`. The Durable HTTP API shows events by name (`EventType(n).name`).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class EventType(IntEnum):
    """DTFx `EventType`: the kind of a history event."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20
    ExecutionRewound = 21


def event_type_name(kind: object) -> str:
    """The name of an event type given as a number (the stored form) or already as a name (the HTTP API's)."""
    if isinstance(kind, int) and kind in EVENT_TYPE_NUMBERS:
        return EventType(kind).name
    return str(kind)


EVENT_TYPE_NUMBERS = frozenset(int(kind) for kind in EventType)

# Results an orchestration receives: each one can wake the orchestrator for an episode.
TASK_SUCCESS_EVENTS = frozenset({EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted})
TASK_FAILURE_EVENTS = frozenset({EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed})
TASK_OUTCOME_EVENTS = TASK_SUCCESS_EVENTS | TASK_FAILURE_EVENTS
COMPLETION_EVENTS = TASK_OUTCOME_EVENTS | {EventType.TimerFired, EventType.EventRaised}
# Events that come to an orchestration from outside its code: they are what a new episode delivers after its
# OrchestratorStarted marker (the start, results, external events, and the client's terminate/suspend/resume/rewind).
DELIVERED_EVENTS = COMPLETION_EVENTS | {
    EventType.ExecutionStarted,
    EventType.ExecutionTerminated,
    EventType.ExecutionSuspended,
    EventType.ExecutionResumed,
    EventType.ExecutionRewound,
}
# Events an orchestrator's own code writes: the work it scheduled, and the way it ended.
SCHEDULING_EVENTS = frozenset(
    {EventType.TaskScheduled, EventType.SubOrchestrationInstanceCreated, EventType.TimerCreated, EventType.EventSent}
)
ENDING_EVENTS = frozenset({EventType.ExecutionCompleted, EventType.ExecutionFailed, EventType.ExecutionTerminated})


class ActionType(IntEnum):
    """The durable SDK's `ActionType`: what an orchestrator asks for in its answer to an episode."""

    CallActivity = 0
    CallActivityWithRetry = 1
    CallSubOrchestrator = 2
    CallSubOrchestratorWithRetry = 3
    ContinueAsNew = 4
    CreateTimer = 5
    WaitForExternalEvent = 6
    CallEntity = 7
    CallHttp = 8
    SignalEntity = 9
    ScheduledSignalEntity = 10
    WhenAny = 11
    WhenAll = 12


ENTITY_ACTIONS = frozenset({ActionType.CallEntity, ActionType.SignalEntity, ActionType.ScheduledSignalEntity})

# The name of the extension's built-in activity that performs `context.call_http` (TaskHttpActivityShim).
HTTP_ACTIVITY = "BuiltIn::HttpActivity"


class RuntimeStatus(StrEnum):
    """`OrchestrationRuntimeStatus`: an instance's `runtimeStatus` in the Durable HTTP API."""

    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"


# The extension's IsCompletedStatus: nothing more happens to such an instance (HTTP 200 for its status).
FINISHED_STATUSES = frozenset(
    {RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated, RuntimeStatus.Canceled}
)
# Every other status: the instance still runs or waits (HTTP 202 for its status; terminate may end it).
UNFINISHED_STATUSES = frozenset(RuntimeStatus) - FINISHED_STATUSES
# The statuses in which an orchestrator's episodes run (a Suspended instance keeps its events for its resume).
RUNNABLE_STATUSES = frozenset({RuntimeStatus.Pending, RuntimeStatus.Running})


def canonical_status(text: str) -> str:
    """A runtime status named in any letter case, as the extension spells it; unknown text is returned as given."""
    return _STATUS_BY_LOWER_NAME.get(text.lower(), text)


_STATUS_BY_LOWER_NAME = {status.lower(): status.value for status in RuntimeStatus}


# ------------------------------------------------------------------------------------------------ entity ids


def entity_scheduler_id(name: str, key: str) -> str:
    """The id an entity has in histories and the scheduler: `@<lower-case name>@<key>` (EntityId.get_scheduler_id)."""
    return f"@{name.lower()}@{key}"


def parse_entity_id(text: object) -> tuple[str, str] | None:
    """(name, key) of a scheduler entity id such as `@dafx-writeragent@<key>`; None for anything else."""
    if not isinstance(text, str) or not text.startswith("@"):
        return None
    name, separator, key = text[1:].partition("@")
    if not separator or not name:
        return None
    return name, key


# Agent Framework names the durable functions it registers `dafx-<name>` (AgentFunctionApp): every agent is an
# entity `dafx-<AgentName>`, a workflow an orchestration `dafx-<workflow>` with executors `dafx-<workflow>-<executor>`.
AGENT_ENTITY_PREFIX = "dafx-"


def agent_entity_name(agent_name: str) -> str:
    """The entity name of an Agent Framework durable agent: `dafx-WriterAgent` for `WriterAgent`."""
    return AGENT_ENTITY_PREFIX + agent_name


def agent_entity_id(agent_name: str, session_key: str) -> str:
    """The scheduler id of one agent session's entity, as histories write it: `@dafx-<agent lower>@<key>`."""
    return entity_scheduler_id(agent_entity_name(agent_name), session_key)
