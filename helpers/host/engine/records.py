"""The rows of the state file as the store hands them out and takes them in (store/store.py holds their SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .book import ExecutionBook


@dataclass
class InstanceRecord:
    """An orchestration instance as the `instances` table (and `inputs`, for `input`) keeps it."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None  # JSON text, in the `inputs` table (written when an execution starts)
    created: str
    updated: str
    parent_id: str | None = None
    parent_task_id: int | None = None
    output: str | None = None  # JSON text
    custom_status: str | None = None  # JSON text
    book: ExecutionBook = field(default_factory=ExecutionBook)


@dataclass(frozen=True)
class StatusRow:
    """What a Durable HTTP API status shows of a finished or running instance (status.py renders it)."""

    instance_id: str
    name: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created: str
    updated: str
    input_is_value: bool


@dataclass(frozen=True)
class InstanceFilter:
    """The list and purge filters of the Durable HTTP API: any of runtime statuses, a creation window, an id prefix."""

    runtime_status: list[str] | None = None
    created_from: datetime | str | None = None
    created_to: datetime | str | None = None
    instance_id_prefix: str | None = None


@dataclass(frozen=True)
class EntityRow:
    """An entity that exists, as `GET .../entities` lists it."""

    name: str
    key: str
    state: str | None  # JSON text
    last_operation: str  # the time of its last operation


@dataclass(frozen=True)
class QueuedOperation:
    """An entity operation in the queue: its row id, the entity it is for, and its payload as stored."""

    row_id: int
    entity_id: str
    payload: str  # JSON text
