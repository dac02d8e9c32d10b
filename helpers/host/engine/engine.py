"""DurableEngine: the durable engine behind the embedded host, put together from its parts.

Life of an instance: a client starts it (client.py), which stores it with a pending ExecutionStarted event
(instances.py). An *episode* (episodes.py) appends the pending events to the history after a fresh
OrchestratorStarted and replays the whole history through the SDK's orchestrator handle (replay.py: history
in -> SDK -> actions out). Actions beyond those already handled are new: each gets the next sequence id, a
scheduling event and real work (dispatch.py: activities, durable HTTP calls, timers, retries, children, entity
operations). Finished work comes back as a completion event, which triggers the next episode: usually in the
same loop step and the same commit, so the event goes straight into the history; an event that has to wait (a
fan-in still missing results, an instance whose episode runs in a worker thread) is written to `pending` by the
next commit (Instances.queue_event).

This module builds the parts, each with exactly what it uses, and holds the few verbs that join two of them
(contracts.py): delivering an event (Instances.record, then Episodes.wake), starting an instance (Instances.create,
then Episodes.wake), reporting an ended sub-orchestration to its parent, and handing over activity outcomes and
entity answers. It also starts the engine (resuming unfinished work from the Store) and stops it in order.
Everything runs on the caller's event loop; user code (orchestrator handles, activities, entities, HTTP calls)
runs through UserCodeRunner so a slow function never blocks the loop.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..log_writer import deferring
from ..registry import Registry
from ..user_code import UserCodeRunner
from .activities import ActivityRun, ActivityRunner
from .client import Client
from .contracts import Log, ParentLink
from .dispatch import Dispatcher
from .entities import Entities
from .episodes import Episodes
from .history import Event, child_outcome
from .http_calls import DEFAULT_TIMEOUT_SECONDS, HttpCaller
from .in_flight import work_in_flight
from .instance import Instance
from .instances import Instances
from .rewind import Rewinder
from .sdk_executor_memo import install as memoise_sdk_executor_class
from .sdk_timestamps import install as memoise_sdk_timestamps
from .store import Store
from .timers import Timers
from .versioning import Versioning

DEFAULT_LOGGER = "helpers.host.durable"
DEFAULT_HUB_NAME = "TestHubName"  # settings.DEFAULT_HUB_NAME; not imported, settings imports engine.versioning


class DurableEngine:
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
        self.hub_name = hub_name
        self._runner = runner
        # Its informational lines are built off the hot path (log_writer.py) when the host's LogWriter runs.
        log: Log = deferring(logger or logging.getLogger(DEFAULT_LOGGER))
        self._log = log
        versioning = versioning or Versioning()
        self.store = Store(store_path, synchronous_full=synchronous_full)
        self._http = HttpCaller(http_timeout)
        self.activities = ActivityRunner(
            registry, runner, log, self.store.after_commit, self._activities_finished, self._http
        )
        self.entities = Entities(self.store, registry, runner, log, self._entity_answered)
        self.instances = Instances(self.store, log, self._report_to_parent)
        timers = Timers(self._deliver)
        dispatcher = Dispatcher(
            registry,
            versioning,
            self.instances,
            self.activities,
            self.entities,
            timers,
            self._deliver,
            self._start_instance,
            log,
        )
        self.episodes = Episodes(
            registry, versioning, runner, self.store, self.instances, dispatcher, log, inline_replay=inline_replay
        )
        self._timers = timers
        self._dispatcher = dispatcher
        rewinder = Rewinder(
            self.store, self.instances, dispatcher, timers, self.entities, self._deliver, self.episodes.wake, log
        )
        self.client = Client(
            self.store,
            registry,
            versioning,
            self.instances,
            self.entities,
            rewinder,
            self._start_instance,
            self._deliver,
            self.episodes.wake,
            log,
            hub_name,
        )
        self._started = False

    # ================================================================================= lifecycle
    async def start(self) -> None:
        """Open and validate the state file, then resume every unfinished orchestration and entity queue."""
        self.store.open()
        self.store.set_before_commit(self.instances.write_unwritten)
        self._started = True
        resumed = self.instances.load_unfinished()
        for inst in resumed:
            in_flight = work_in_flight([*inst.history, *(ev for _, ev in inst.pending)])
            for task in in_flight.tasks:
                self._dispatcher.run_activity(inst, task.task_id, task.name, task.input_json)
            for timer in in_flight.timers:
                self._timers.arm(inst, timer.timer_id, timer.fire_at)
            self.episodes.wake(inst)
        if resumed:
            self._log.info("Resumed %d unfinished orchestration(s) from %s.", len(resumed), self.store.path)
        self.entities.resume()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting work, give in-flight user code `timeout` seconds, commit and close the file."""
        if not self._started:
            return
        self.episodes.stop()
        for inst in self.instances.all():
            inst.cancel_timers()
        await self.entities.drain(timeout)
        # Work that was running when the stop began finishes and is recorded. Nothing new starts: an episode
        # that returns now is discarded (its events stay pending for the next start), so no activity can be
        # scheduled after this point and then be cut off with its completion unrecorded.
        deadline = time.monotonic() + timeout
        while (pending := [*self.episodes.running(), *self.activities.in_flight()]) and time.monotonic() < deadline:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            await asyncio.sleep(0)  # let outcomes that just arrived reach their hand-over
        self.activities.flush()
        self.episodes.cancel()
        self.store.close()
        try:
            await self._runner.call(self._http.aclose)
        except Exception:
            pass
        self._started = False

    def abandon(self) -> None:
        """Stop at once, as `kill -9` stops a host: nothing further runs, and what is not committed is lost.
        (A state file is left exactly as a crash leaves it, for a restart to recover: the crash tests use it.)"""
        self.episodes.stop()
        self.entities.stop()
        for inst in self.instances.all():
            inst.cancel_timers()
        self.store.abandon()
        self._started = False

    # ================================================================================= joining the parts
    def _deliver(self, instance_id: str, execution_id: str, ev: Event, *, now: bool = False) -> None:
        """An event arrived for an instance: keep it, and run an episode if one is due (`now`: within this call,
        for callers that are a loop step of their own -- Episodes.wake)."""
        inst = self.instances.record(instance_id, execution_id, ev)
        if inst is not None:
            self.episodes.wake(inst, now=now)

    def _start_instance(
        self,
        name: str,
        instance_id: str,
        input_json: str | None,
        *,
        parent: ParentLink | None = None,
        version: str | None = None,
        input_is_value: bool = False,
    ) -> Instance:
        inst = self.instances.create(
            name, instance_id, input_json, parent=parent, version=version, input_is_value=input_is_value
        )
        self.episodes.wake(inst)
        return inst

    def _report_to_parent(self, inst: Instance) -> None:
        """An execution ended: a parent that awaits it as a sub-orchestration gets its outcome."""
        parent = self.instances.get(inst.parent_id or "")
        if parent is None or inst.parent_task_id is None:
            return
        ev = child_outcome(inst.parent_task_id, inst.instance_id, inst.status, inst.output)
        self._deliver(parent.instance_id, parent.execution_id, ev)

    def _activities_finished(self, outcomes: list[tuple[ActivityRun, Event]]) -> None:
        """Activity outcomes that arrived together: store them all, then decide once per instance."""
        touched: dict[str, Instance] = {}
        for run, ev in outcomes:
            inst = self.instances.record(run.instance_id, run.execution_id, ev)
            if inst is not None:
                touched[inst.instance_id] = inst
        for inst in touched.values():
            self.episodes.wake(inst, now=True)  # this is a loop step of its own: the episode needs no step of its own
        if touched and self.store.is_open:
            # Commit now rather than at the end of the loop iteration: the next activity starts after the commit
            # (Store.after_commit), and nothing else in this step could join it.
            self.store.commit()

    def _entity_answered(self, instance_id: str, execution_id: str, ev: Event) -> None:
        """An entity operation's answer for the orchestration that called it. The entity driver calls this as the
        last thing of its step, with nothing half-changed, so the caller's episode runs at once.

        An answer for an execution that Failed while the operation ran is kept as a pending row: the operation
        ran, and a rewind hands its answer to the rewound instance (Rewinder)."""
        if (
            instance_id not in self.instances
            and self.store.is_open
            and self.store.execution_failed(instance_id, execution_id)
        ):
            self.instances.keep_for_later(instance_id, ev)
            return
        self._deliver(instance_id, execution_id, ev, now=True)
