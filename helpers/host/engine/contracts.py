"""What the engine's parts may ask of one another, declared once.

The parts (engine.py builds them) are each constructed with exactly what they use. Most of it is another part;
where two parts need each other -- an episode schedules work whose result later starts an episode -- one of them
gets a callable instead, spelled here, which the engine wires to the part that does it:

    deliver(instance_id, execution_id, event, now=False)   an event for an instance: keep it, run an episode
                                                          (DurableEngine._deliver: Instances.record + Episodes.wake)
    start_instance(name, instance_id, input_json, ...)    a new instance that runs at once
                                                          (DurableEngine._start_instance: Instances.create + wake)
    wake(instance)                                        run the instance's episodes if it is worth it (Episodes.wake)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from .history import Event
from .instance import Instance

Log: TypeAlias = "logging.Logger | logging.LoggerAdapter[Any]"


@dataclass(frozen=True)
class ParentLink:
    """Where a sub-orchestration reports its end: its parent instance, and the task id the parent awaits."""

    instance_id: str
    task_id: int


class Deliver(Protocol):
    def __call__(self, instance_id: str, execution_id: str, ev: Event, *, now: bool = False) -> None: ...


class StartInstance(Protocol):
    def __call__(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        *,
        parent: ParentLink | None = None,
        version: str | None = None,
        input_is_value: bool = False,
    ) -> Instance: ...


class Wake(Protocol):
    def __call__(self, inst: Instance, *, now: bool = False) -> None: ...
