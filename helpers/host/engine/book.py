"""What the engine keeps of an execution besides its history: the book, persisted as JSON in the instance row.

The book is typed here and written out explicitly (`to_json`), so its JSON keeps the names files already hold;
`from_json` reads what older kits wrote too: a key that a file of an earlier version may lack gets the value such
a file meant (listed at each `from_json`). Every other key is always there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .fan_in import FanIn

# What must stay the same on replay for each id-consuming action: (history event kind, name); actions.signature.
ActionSignature = tuple[str, str]
RetryKind = Literal["activity", "suborchestration"]


@dataclass
class RetryLoop:
    """A `call_activity_with_retry` / `call_sub_orchestrator_with_retry` in progress: the SDK's RetryAbleTask,
    mirrored by the engine (dispatch.py), because the SDK hands out a sequence id for each retry timer and each
    new attempt while it processes the failure before."""

    kind: RetryKind
    name: str  # the activity or orchestrator called
    input: str | None  # JSON text, the same for every attempt
    instance_id: str | None  # the child instance id the orchestrator named (sub-orchestrations), else None
    version: str | None  # the child's version the orchestrator named (sub-orchestrations)
    child_id: str | None  # the current attempt's child instance (sub-orchestrations)
    max_attempts: int
    interval_ms: int  # the first retry interval (the SDK waits this long before every retry)
    attempts: int  # attempts started so far
    task_id: int  # the current attempt's task id
    timer_id: int | None  # the retry timer the loop waits for after a failure, None while an attempt runs
    attempt_ids: list[int]  # every attempt's task id, in order (rewind keeps the failures it answered)

    @classmethod
    def begin(cls, kind: RetryKind, action: dict[str, Any], task_id: int, child_id: str | None = None) -> RetryLoop:
        """The loop of a `*WithRetry` action whose first attempt just got `task_id`."""
        options = action.get("retryOptions") or {}
        return cls(
            kind=kind,
            name=action["functionName"],
            input=action.get("input"),
            instance_id=action.get("instanceId"),
            version=action.get("version"),
            child_id=child_id,
            max_attempts=int(options.get("maxNumberOfAttempts") or 1),
            interval_ms=int(options.get("firstRetryIntervalInMilliseconds") or 0),
            attempts=1,
            task_id=task_id,
            timer_id=None,
            attempt_ids=[task_id],
        )

    @property
    def out_of_attempts(self) -> bool:
        return self.attempts >= self.max_attempts

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "input": self.input,
            "instanceId": self.instance_id,
            "version": self.version,
            "childId": self.child_id,
            "max": self.max_attempts,
            "intervalMs": self.interval_ms,
            "attempts": self.attempts,
            "taskId": self.task_id,
            "timerId": self.timer_id,
            "attemptIds": list(self.attempt_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryLoop:
        """Older files may lack `instanceId` and `version` (none named) and `attemptIds` (only the current one)."""
        return cls(
            kind=data["kind"],
            name=data["name"],
            input=data["input"],
            instance_id=data.get("instanceId"),
            version=data.get("version"),
            child_id=data["childId"],
            max_attempts=int(data["max"]),
            interval_ms=int(data["intervalMs"]),
            attempts=int(data["attempts"]),
            task_id=int(data["taskId"]),
            timer_id=data["timerId"],
            attempt_ids=[int(i) for i in data.get("attemptIds") or [data["taskId"]]],
        )


@dataclass
class ExecutionBook:
    """The per-execution bookkeeping persisted with the instance row (the history says the rest)."""

    episode: int = 0  # episodes run so far
    next_id: int = 0  # the next sequence id the SDK will hand out
    # The signature of every id-consuming action handled, by position: the non-determinism check (replay.py).
    signatures: list[ActionSignature] = field(default_factory=list)
    retries: list[RetryLoop] = field(default_factory=list)  # retry loops in progress
    # What a rewind needs (rewind_plan.py): loops that gave up; loops another branch's failure cut short; the task ids
    # of failures a retry loop answered with another attempt.
    failed_loops: list[RetryLoop] = field(default_factory=list)
    interrupted_loops: list[RetryLoop] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    version: str | None = None  # the orchestration version (versioning.py)
    input_is_value: bool = False  # the input was posted as plain JSON, so a status shows it as that value
    fan_in: FanIn | None = None  # the task_all the orchestrator waits on, while results are held back (fan_in.py)

    def take_id(self) -> int:
        """The next sequence id, as the SDK hands it out."""
        task_id = self.next_id
        self.next_id += 1
        return task_id

    def to_json(self) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "next_id": self.next_id,
            "sigs": [list(signature) for signature in self.signatures],
            "retries": [loop.to_json() for loop in self.retries],
            "failed_loops": [loop.to_json() for loop in self.failed_loops],
            "interrupted_loops": [loop.to_json() for loop in self.interrupted_loops],
            "retried": list(self.retried),
            "version": self.version,
            "input_is_value": self.input_is_value,
            "fan_in": self.fan_in.to_json() if self.fan_in is not None else [],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionBook:
        """Older files may lack `failed_loops`, `interrupted_loops`, `retried` and `fan_in` (none), `version` (no
        version) and `input_is_value` (the input shown as text)."""
        return cls(
            episode=int(data["episode"]),
            next_id=int(data["next_id"]),
            signatures=[(str(kind), str(name)) for kind, name in data["sigs"]],
            retries=[RetryLoop.from_json(loop) for loop in data["retries"]],
            failed_loops=[RetryLoop.from_json(loop) for loop in data.get("failed_loops") or []],
            interrupted_loops=[RetryLoop.from_json(loop) for loop in data.get("interrupted_loops") or []],
            retried=[int(task_id) for task_id in data.get("retried") or []],
            version=data.get("version"),
            input_is_value=bool(data.get("input_is_value")),
            fan_in=FanIn.from_json(data.get("fan_in") or []),
        )
