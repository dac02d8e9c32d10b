"""DurableEngine: the durable engine behind the embedded host, put together from one module per concept.

Life of an instance: a client starts it (client.py), which stores it with a pending ExecutionStarted event
(instances.py). An *episode* (episodes.py) appends the pending events to the history after a fresh
OrchestratorStarted and replays the whole history through the SDK's orchestrator handle (replay.py: history
in -> SDK -> actions out). Actions beyond those already handled are new: each gets the next sequence id, a
scheduling event and real work (dispatch.py: activities, durable HTTP calls, timers, retries, children, entity
operations). Finished work comes back as a completion event, which triggers the next episode: usually in the
same loop step and the same commit, so the event goes straight into the history; an event that has to wait (a
fan-in still missing results, an instance whose episode runs in a worker thread) is written to `pending` by the
next commit (instances._queue_event).

This module holds what ties them together: construction, start-up (resuming unfinished work from the Store)
and an orderly stop. Everything runs on the caller's event loop; user code (orchestrator handles,
activities, entities, HTTP calls) runs through UserCodeRunner so a slow function never blocks the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from ...durable_vocabulary import RUNNABLE_STATUSES
from ..log_writer import deferring
from ..registry import Registry
from ..user_code import UserCodeRunner
from .activities import ActivityRun, ActivityRunner
from .client import ClientOperations
from .dispatch import WorkDispatcher
from .entities import Entities
from .episodes import EpisodeRunner
from .http_calls import DEFAULT_TIMEOUT_SECONDS, HttpCaller
from .in_flight import work_in_flight
from .instance import Instance
from .instances import InstanceBook
from .sdk_executor_memo import install as memoise_sdk_executor_class
from .sdk_timestamps import install as memoise_sdk_timestamps
from .store import Store
from .versioning import Versioning

DEFAULT_LOGGER = "helpers.host.durable"
DEFAULT_HUB_NAME = "TestHubName"  # settings.DEFAULT_HUB_NAME; not imported, settings imports engine.versioning


class DurableEngine(ClientOperations, EpisodeRunner, WorkDispatcher, InstanceBook):
    """The durable orchestration + entity engine behind the embedded host (interface: the package docstring)."""

    def __init__(
        self,
        registry: Registry,
        store_path: str,
        runner: UserCodeRunner,
        hub_name: str = DEFAULT_HUB_NAME,
        logger: logging.Logger | None = None,
        *,
        synchronous_full: bool = False,
        versioning: Versioning | None = None,
        http_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        inline_replay: bool = True,
    ) -> None:
        memoise_sdk_timestamps()  # sdk_timestamps.py: replays stop re-parsing the timestamps of old events
        memoise_sdk_executor_class()  # sdk_executor_memo.py: no class is compiled anew for every episode
        self.registry = registry
        self.hub_name = hub_name
        self.runner = runner
        # Its informational lines are built off the hot path (log_writer.py) when the host's LogWriter runs.
        self.log = deferring(logger or logging.getLogger(DEFAULT_LOGGER))
        self.versioning = versioning or Versioning()
        self.store = Store(store_path, synchronous_full=synchronous_full)
        self._active: dict[str, Instance] = {}
        self._tasks: set[asyncio.Task] = set()
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._refusals_logged: set[str] = set()
        self._unwritten: dict[str, Instance] = {}  # instances holding deferred events (instances._queue_event)
        self.inline_replay = inline_replay  # episodes.py: replays on the loop thread unless an orchestrator blocks
        self._threaded_orchestrators: set[str] = set()
        self._stopping = False
        self._started = False
        self.entities: Entities | None = None
        self.http = HttpCaller(http_timeout)
        self.activities = ActivityRunner(
            registry,
            runner,
            self.log,
            lambda start: self.store.after_commit(start),
            self._activities_finished,
            self.http,
        )

    # ================================================================================= lifecycle
    async def start(self) -> None:
        """Open and validate the state file, then resume every unfinished orchestration and entity queue."""
        self.store.open()
        self.store.set_before_commit(self._write_unwritten)
        self.entities = Entities(self.store, self.registry, self.runner, self.log, self._entity_answered)
        self._started = True
        self._resume_instances()
        self.entities.resume()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting work, give in-flight user code `timeout` seconds, commit and close the file."""
        if not self._started:
            return
        self._stopping = True
        for inst in self._active.values():
            for handle in inst.timers.values():
                handle.cancel()
        if self.entities is not None:
            await self.entities.drain(timeout)
        # Work that was running when the stop began finishes and is recorded. Nothing new starts: an episode
        # that returns now is discarded (its events stay pending for the next start), so no activity can be
        # scheduled after this point and then be cut off with its completion unrecorded.
        deadline = time.monotonic() + timeout
        while (
            pending := [t for t in self._tasks if not t.done()] + self.activities.in_flight()
        ) and time.monotonic() < deadline:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(0)  # let outcomes that just arrived reach their hand-over
        self.activities.flush()
        for task in self._tasks:
            task.cancel()
        self.store.close()
        try:
            await self.runner.call(self.http.aclose)
        except Exception:
            pass
        self._started = False

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _activities_finished(self, outcomes: list[tuple[ActivityRun, dict[str, Any]]]) -> None:
        """Activity outcomes that arrived together: store them all, then decide once per instance."""
        touched: dict[str, Instance] = {}
        for run, ev in outcomes:
            inst = self._record(run.instance_id, run.execution_id, ev)
            if inst is not None:
                touched[inst.instance_id] = inst
        for inst in touched.values():
            self._kick(inst, now=True)  # this is a loop step of its own: the episode needs no step of its own
        if touched and self.store.is_open:
            # Commit now rather than at the end of the loop iteration: the next activity starts after the commit
            # (store.after_commit), and nothing else in this step could join it.
            self.store.commit()

    def _entity_answered(self, instance_id: str, execution_id: str, ev: dict[str, Any]) -> None:
        """An entity operation's answer for the orchestration that called it. The entity driver calls this as the
        last thing of its step, with nothing half-changed, so the caller's episode runs at once.

        An answer for an execution that Failed while the operation ran is kept as a pending row: the operation
        ran, and a rewind hands its answer to the rewound instance (client.py `_rewind`)."""
        if (
            instance_id not in self._active
            and self.store.is_open
            and self.store.execution_failed(instance_id, execution_id)
        ):
            self._insert_pending(instance_id, ev)
            return
        self._deliver(instance_id, execution_id, ev, now=True)

    def _resume_instances(self) -> None:
        for record in self.store.unfinished_instances():
            inst = Instance.from_record(record)
            for text in self.store.history_texts(inst.instance_id):
                inst.history.append(json.loads(text))
                inst.history_text.append(text)
            inst.pending.extend(self.store.pending_events(inst.instance_id))
            self._active[inst.instance_id] = inst
        for inst in list(self._active.values()):
            in_flight = work_in_flight([*inst.history, *(ev for _, ev in inst.pending)])
            for task in in_flight.tasks:
                self.activities.start(
                    ActivityRun(inst.instance_id, inst.execution_id, task.task_id, task.name, task.input_json)
                )
            for timer in in_flight.timers:
                self._arm_timer(inst, timer.timer_id, timer.fire_at)
            if inst.status in RUNNABLE_STATUSES:
                self._kick(inst)
        if self._active:
            self.log.info("Resumed %d unfinished orchestration(s) from %s.", len(self._active), self.store.path)
