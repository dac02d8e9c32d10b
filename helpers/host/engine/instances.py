"""The active instances: creating them, persisting them, queueing the events that arrive for them, ending them.

Every state change here is written to the Store in the same loop step as the in-memory change; the Store commits
once per loop iteration. Instances knows nothing of episodes: it keeps an instance's events and says which
instance an event is for (`record`); running the episode that consumes them is Episodes' part.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

from ...durable_vocabulary import EventType, RuntimeStatus
from .book import ExecutionBook
from .contracts import Log, ParentLink
from .history import Event, event, json_value, now_iso
from .instance import Instance, played_text
from .store import Store


class Instances:
    """The instances that are Pending, Running or Suspended, by id, each mirrored in the Store.

    `on_finished` is told of every execution that ends (after it is stored): the engine reports it to a parent
    that awaits it.
    """

    def __init__(self, store: Store, log: Log, on_finished: Callable[[Instance], None]) -> None:
        self._store = store
        self._log = log
        self._on_finished = on_finished
        self._active: dict[str, Instance] = {}
        self._waiters: dict[str, list[asyncio.Future[str]]] = {}
        self._unwritten: dict[str, Instance] = {}  # instances holding deferred events (`queue_event`)

    # ================================================================================= looking up
    def get(self, instance_id: str) -> Instance | None:
        return self._active.get(instance_id)

    def __contains__(self, instance_id: str) -> bool:
        return instance_id in self._active

    def __len__(self) -> int:
        return len(self._active)

    def all(self) -> list[Instance]:
        return list(self._active.values())

    def is_current(self, inst: Instance) -> bool:
        """Whether `inst` is still the active instance of its id (not finished, purged or replaced since)."""
        return self._active.get(inst.instance_id) is inst

    # ================================================================================= creating and loading
    def create(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        *,
        parent: ParentLink | None = None,
        version: str | None = None,
        input_is_value: bool = False,
    ) -> Instance:
        """A new Pending instance with its ExecutionStarted event queued; a finished one with the id is replaced."""
        self._store.delete_instance(instance_id)
        now = now_iso()
        inst = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            status=RuntimeStatus.Pending,
            input=input_json,
            created=now,
            updated=now,
            book=ExecutionBook(version=version, input_is_value=input_is_value),
            parent_id=parent.instance_id if parent else None,
            parent_task_id=parent.task_id if parent else None,
        )
        self.activate(inst)
        self.save(inst)
        self._store.save_input(inst.instance_id, inst.input)
        self.queue_event(inst, _execution_started(inst))
        return inst

    def activate(self, inst: Instance) -> None:
        """Make `inst` the active instance of its id (created, resumed, or rewound)."""
        self._active[inst.instance_id] = inst

    def load_unfinished(self) -> list[Instance]:
        """Every unfinished instance of the state file, with its history and pending events, made active."""
        loaded = []
        for record in self._store.unfinished_instances():
            inst = Instance.from_record(record)
            for text in self._store.history_texts(inst.instance_id):
                inst.history.append(json.loads(text))
                inst.history_text.append(text)
            inst.pending.extend(self._store.pending_events(inst.instance_id))
            self.activate(inst)
            loaded.append(inst)
        return loaded

    def delete(self, instance_id: str) -> None:
        """Remove a finished instance and its history from the state file (purge)."""
        self._store.delete_instance(instance_id)

    # ================================================================================= persisting
    def save(self, inst: Instance) -> None:
        """Write the instance row (the input is written once per execution, by `create` and `continue_as_new`)."""
        inst.updated = now_iso()
        self._store.save_instance(inst)

    def append_history(self, inst: Instance, events: list[Event], texts: list[str] | None = None) -> None:
        """Append events (marked played from now on); `texts` may carry their encodings already."""
        start = len(inst.history)
        if texts is None:
            texts = [played_text(ev) for ev in events]
        else:
            for ev in events:
                ev["IsPlayed"] = True
        inst.history.extend(events)
        inst.history_text.extend(texts)
        self._store.append_history(inst.instance_id, start, texts)

    def replace_history(self, inst: Instance, events: list[Event]) -> None:
        self._store.delete_history(inst.instance_id)
        inst.history, inst.history_text = [], []
        if events:
            self.append_history(inst, events)

    # ================================================================================= pending events
    def queue_event(self, inst: Instance, ev: Event, *, deferred: bool = False) -> None:
        """Add an event for the instance's next episode. `deferred`: keep it in memory (row id None) and let
        the next commit write it, unless an episode has consumed it by then (group_commit.py, `before_commit`)."""
        if deferred:
            inst.pending.append((None, ev))
            self._unwritten[inst.instance_id] = inst
            self._store.defer_write()
            return
        self.write_unwritten(inst)  # rows keep arrival order: the table is read back ORDER BY id
        inst.pending.append((self._store.add_pending(inst.instance_id, ev), ev))

    def keep_for_later(self, instance_id: str, ev: Event) -> None:
        """Store an event for an instance that is not active (a rewind delivers it: Rewinder)."""
        self._store.add_pending(instance_id, ev)

    def write_unwritten(self, only: Instance | None = None) -> None:
        """Write deferred events no episode has consumed (all of them: the Store's `before_commit`)."""
        if only is not None:
            targets = [only] if self._unwritten.pop(only.instance_id, None) is not None else []
        else:
            targets, self._unwritten = list(self._unwritten.values()), {}
        for inst in targets:
            if not self.is_current(inst):
                continue  # finished, purged or replaced since: its events went with it
            for index, (row_id, ev) in enumerate(inst.pending):
                if row_id is None:
                    inst.pending[index] = (self._store.add_pending(inst.instance_id, ev, lazy=True), ev)

    def consume_pending(self, inst: Instance, count: int) -> None:
        """The first `count` pending events joined the history: drop them, in memory and (those written) on disk."""
        consumed, inst.pending = inst.pending[:count], inst.pending[count:]
        written = [row_id for row_id, _ in consumed if row_id is not None]  # the rest never reached the table
        if written:  # the oldest pending rows of this instance, so one range delete
            self._store.delete_pending_through(inst.instance_id, written[-1])

    def record(self, instance_id: str, execution_id: str, ev: Event) -> Instance | None:
        """Queue an arrived event for its instance; None when it is stale or the state file is closed.

        Lazily (group_commit.py): the event reaches the disk with the next commit -- inside the history of the
        episode that consumed it first, usually in this very loop step, or as a pending row. Until then the work
        it finishes is still in flight on disk (in_flight.py), so a crash in between only means the work runs
        again, as for any work in flight. Whoever acknowledges the event to a client (raise_event) commits
        explicitly.
        """
        if not self._store.is_open:
            return None
        inst = self._active.get(instance_id)
        if inst is None or (execution_id and inst.execution_id != execution_id):
            return None  # the instance finished, was terminated or continued as new: drop the stale completion
        self.queue_event(inst, ev, deferred=True)
        return inst

    # ================================================================================= endings
    def continue_as_new(self, inst: Instance, input_json: str | None) -> None:
        """Start a fresh execution with the new input; external events not yet delivered carry over."""
        self._log.info("%s: Function '%s (Orchestrator)' continued as new.", inst.instance_id, inst.name)
        inst.cancel_timers()  # activities already running finish; their results are dropped as stale
        self.replace_history(inst, [])
        carried = [(row_id, ev) for row_id, ev in inst.pending if ev["EventType"] == EventType.EventRaised]
        dropped = [
            row_id for row_id, ev in inst.pending if ev["EventType"] != EventType.EventRaised and row_id is not None
        ]
        self._store.delete_pending_rows(dropped)
        inst.pending = []
        inst.execution_id = uuid.uuid4().hex
        inst.input = input_json
        inst.book = ExecutionBook(version=inst.version)
        inst.status = RuntimeStatus.Running
        self.queue_event(inst, _execution_started(inst))
        for row_id, ev in carried:  # keep their order after the new ExecutionStarted
            if row_id is not None:
                self._store.delete_pending_rows([row_id])
            self.queue_event(inst, ev)
        self.save(inst)
        self._store.save_input(inst.instance_id, inst.input)

    def finish(self, inst: Instance, status: RuntimeStatus, output_json: str) -> None:
        """End the execution: store its completion, stop its timers, tell whoever waits for it."""
        inst.status = status
        inst.output = output_json
        self.append_history(
            inst, [event(EventType.ExecutionCompleted, now_iso(), OrchestrationStatus=status, Result=output_json)]
        )
        inst.cancel_timers()
        self._store.delete_pending(inst.instance_id)
        inst.pending = []
        if status == RuntimeStatus.Failed:  # loops another branch's failure cut short: a rewind resumes them
            inst.book.interrupted_loops = inst.book.retries
        inst.book.retries = []
        self.save(inst)
        self._active.pop(inst.instance_id, None)
        if status == RuntimeStatus.Completed:
            self._log.info("%s: Function '%s (Orchestrator)' completed.", inst.instance_id, inst.name)
        else:
            self._log.info(
                "%s: Function '%s (Orchestrator)' %s. %s",
                inst.instance_id,
                inst.name,
                status.lower(),
                json_value(output_json),
            )
        self._on_finished(inst)
        for future in self._waiters.pop(inst.instance_id, []):
            if not future.done():
                future.set_result(status)

    def finished(self, instance_id: str) -> asyncio.Future[str] | None:
        """A future that resolves with the status the active instance ends with; None when it is not active."""
        if instance_id not in self._active:
            return None
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(instance_id, []).append(future)
        return future


def _execution_started(inst: Instance) -> Event:
    parent = {"InstanceId": inst.parent_id, "TaskScheduleId": inst.parent_task_id} if inst.parent_id else None
    return event(
        EventType.ExecutionStarted,
        now_iso(),
        Name=inst.name,
        Version=inst.version,
        Input=inst.input,
        OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
        ParentInstance=parent,
    )
