"""Episodes: pending events -> one replay through the SDK -> the decisions applied, in one loop step.

An instance has at most one episode driver running (`Instance.busy`); it runs episodes while there is something
worth one (fan_in.worth_an_episode). The replay itself -- building the request, calling the SDK, deciding what is
new -- is replay.py's plain-data boundary; this module supplies the events and applies the answer: new work goes
to the Dispatcher, endings to Instances.

Where the replay runs: on the engine's loop thread, inline. Orchestrator code must not block (a Durable rule:
no I/O, no sleeping), so a replay is pure computation of a millisecond or two, and handing it to a worker
thread would cost two thread hops per episode -- about as much as the replay itself on a small machine. An
orchestrator that breaks the rule anyway (one replay longer than INLINE_REPLAY_LIMIT) is moved to the worker
threads from then on, with a warning, so it can hold up only itself, as on Azure.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from ...durable_vocabulary import FINISHED_STATUSES, RUNNABLE_STATUSES, EventType, RuntimeStatus
from ..registry import DurableFunction, Registry
from ..user_code import UserCodeRunner
from .actions import signature
from .contracts import Log
from .dispatch import ContinueAsNew, Dispatcher, FailOrchestration
from .errors import unknown_function_message
from .fan_in import outstanding_fan_in, worth_an_episode
from .history import Event, event, now_iso
from .instance import Instance, played_text
from .instances import Instances
from .replay import ReplayResult, orchestrator_request, plan_episode, run_orchestrator
from .store import Store
from .versioning import VERSION_MISMATCH_OUTPUT, Versioning

_UNPLAYED, _PLAYED = '"IsPlayed": false', '"IsPlayed": true'
INLINE_REPLAY_LIMIT = 0.05  # seconds


@dataclass
class PreparedEpisode:
    """An episode between building its request and applying the SDK's answer."""

    take: list[tuple[int | None, Event]]  # the pending events it delivers
    new_events: list[Event]  # its OrchestratorStarted marker and those events
    new_texts: list[str]  # the same, encoded with IsPlayed false
    request: str
    episode_no: int
    execution_id: str
    fn: DurableFunction | None  # the orchestrator; None when the app has none by that name (any more)


class Episodes:
    """Runs every active instance's episodes, one driver per instance."""

    def __init__(
        self,
        registry: Registry,
        versioning: Versioning,
        runner: UserCodeRunner,
        store: Store,
        instances: Instances,
        dispatcher: Dispatcher,
        log: Log,
        *,
        inline_replay: bool = True,
    ) -> None:
        self._registry = registry
        self._versioning = versioning
        self._runner = runner
        self._store = store
        self._instances = instances
        self._dispatcher = dispatcher
        self._log = log
        self._inline_replay = inline_replay  # replays run on the loop thread unless an orchestrator blocks
        self._threaded_orchestrators: set[str] = set()  # lower-cased names whose replays run in worker threads
        self._refusals_logged: set[str] = set()  # instances whose version this host refused, warned once each
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # ================================================================================= starting episodes
    def wake(self, inst: Instance, *, now: bool = False) -> None:
        """Start the instance's episode driver unless it runs, may not run, or has nothing worth an episode.
        `now`: run an inline episode within this call rather than in the next loop step -- for callers that
        are a loop step of their own, so no caller is half-way through changing the instance."""
        if inst.busy or not self._wants_episode(inst) or not self._version_accepted(inst):
            return
        inst.busy = True
        if self._inline_replay and inst.name.lower() not in self._threaded_orchestrators:
            if now:
                self._run_inline(inst)
            else:
                asyncio.get_running_loop().call_soon(self._run_inline, inst)
        else:
            self._spawn(self._drive(inst))

    def runs_in_worker_threads(self, orchestrator: str) -> bool:
        """Whether the orchestrator's replays were moved off the loop thread (it blocked; module docstring)."""
        return orchestrator.lower() in self._threaded_orchestrators or not self._inline_replay

    def stop(self) -> None:
        """Start no episode from now on; an episode that returns after this is dropped (its events stay pending)."""
        self._stopping = True

    def running(self) -> list[asyncio.Task[None]]:
        """The threaded drivers still running (an orderly stop waits for them)."""
        return [task for task in self._tasks if not task.done()]

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    def _wants_episode(self, inst: Instance) -> bool:
        return (
            not self._stopping
            and inst.status in RUNNABLE_STATUSES
            and worth_an_episode(inst.pending, inst.book.fan_in)
            and self._instances.is_current(inst)
        )

    def _version_accepted(self, inst: Instance) -> bool:
        """The DTFx dispatcher's versioning check; a refused instance is left as it is (with a warning, once per
        instance and host run) or failed, as versionFailureStrategy says."""
        if self._versioning.accepts(inst.version):
            return True
        if self._versioning.failure_strategy == "Fail":
            self._instances.finish(inst, RuntimeStatus.Failed, json.dumps(VERSION_MISMATCH_OUTPUT))
        elif inst.instance_id not in self._refusals_logged:
            self._refusals_logged.add(inst.instance_id)
            self._log.warning(
                "%s: Function '%s (Orchestrator)' not run: %s. versionFailureStrategy Reject leaves "
                "it %s until a host whose defaultVersion accepts it runs it.",
                inst.instance_id,
                inst.name,
                self._versioning.describe_refusal(inst.version),
                inst.status,
            )
        return False

    def _next_episode(self, inst: Instance) -> PreparedEpisode | None:
        """The instance's next episode, prepared; None when there is nothing worth one or it may not run."""
        if not self._wants_episode(inst) or not self._version_accepted(inst):
            return None
        return self._prepare(inst)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ================================================================================= the two drivers
    def _run_inline(self, inst: Instance) -> None:
        """The inline driver: each replay runs here, on the loop thread (module docstring)."""
        try:
            while (prepared := self._next_episode(inst)) is not None:
                fn = prepared.fn
                if fn is None:
                    self._conclude(inst, prepared, _orchestrator_missing(inst))
                    continue
                if fn.name.lower() in self._threaded_orchestrators:
                    self._spawn(self._drive(inst, prepared))  # it keeps `busy` and clears it when done
                    return
                started = time.perf_counter()
                result = run_orchestrator(fn.handler, prepared.request)
                elapsed = time.perf_counter() - started
                if elapsed > INLINE_REPLAY_LIMIT:
                    self._threaded_orchestrators.add(fn.name.lower())
                    self._log.warning(
                        "Orchestrator function '%s' held the host for %.0f ms in one replay: "
                        "orchestrator code must not block (no I/O, no sleeping). Its replays run in "
                        "worker threads from now on.",
                        fn.name,
                        elapsed * 1000,
                    )
                self._conclude(inst, prepared, result)
        except Exception as exc:  # an engine bug must fail this instance, never the engine
            self._engine_bug(inst, exc)
        inst.busy = False

    async def _drive(self, inst: Instance, prepared: PreparedEpisode | None = None) -> None:
        """The threaded driver: each replay runs in a worker thread while the loop carries on."""
        try:
            if prepared is None:
                prepared = self._next_episode(inst)
            while prepared is not None:
                if prepared.fn is None:
                    result = _orchestrator_missing(inst)
                else:
                    result = await self._runner.call(run_orchestrator, prepared.fn.handler, prepared.request)
                self._conclude(inst, prepared, result)
                prepared = self._next_episode(inst)
        except Exception as exc:  # an engine bug must fail this instance, never the engine
            self._engine_bug(inst, exc)
        finally:
            inst.busy = False

    def _engine_bug(self, inst: Instance, exc: Exception) -> None:
        self._log.exception("%s: episode failed inside the engine", inst.instance_id)
        if self._instances.is_current(inst) and self._store.is_open:
            self._instances.finish(
                inst,
                RuntimeStatus.Failed,
                json.dumps(
                    f"Orchestrator function '{inst.name}' failed: internal host error: {type(exc).__name__}: {exc}"
                ),
            )

    # ================================================================================= one episode
    def _prepare(self, inst: Instance) -> PreparedEpisode:
        book = inst.book
        # Retry loops allocate ids while the SDK processes their events, so deliver one event at a time then.
        take = inst.pending[:1] if book.retries else list(inst.pending)
        new_events = [event(EventType.OrchestratorStarted, now_iso()), *(ev for _, ev in take)]
        for ev in new_events:
            ev["IsPlayed"] = False
        new_texts = [json.dumps(ev) for ev in new_events]
        episode_no = book.episode + 1
        self._log.info(
            "%s: Function '%s (Orchestrator)' started. IsReplay: %s. Episode: %d. HistoryEvents: %d.",
            inst.instance_id,
            inst.name,
            bool(inst.history),
            episode_no,
            len(inst.history) + len(new_events),
        )
        request = orchestrator_request(
            inst.history_text, new_texts, instance_id=inst.instance_id, input_json=inst.input, parent_id=inst.parent_id
        )
        fn = self._registry.orchestrator(inst.name)
        return PreparedEpisode(take, new_events, new_texts, request, episode_no, inst.execution_id, fn)

    def _conclude(self, inst: Instance, prepared: PreparedEpisode, result: ReplayResult) -> None:
        if (
            not self._instances.is_current(inst)
            or inst.execution_id != prepared.execution_id
            or inst.status in FINISHED_STATUSES
            or self._stopping
            or not self._store.is_open
        ):
            # Terminated, purged or replaced while the orchestrator ran -- or the host is stopping: then the
            # episode's decisions are dropped and its events stay pending, so the next start replays it.
            return
        self._apply(inst, prepared, result)

    def _apply(self, inst: Instance, prepared: PreparedEpisode, result: ReplayResult) -> None:
        book = inst.book
        # The live entries, not `take`: a commit while a threaded replay ran may have written deferred ones since.
        self._instances.consume_pending(inst, len(prepared.take))
        made: list[Event] = []  # events this episode adds after the delivered ones
        for _, ev in prepared.take:
            self._dispatcher.advance_retries(inst, ev, made)
        if "customStatus" in result.state:
            inst.custom_status = json.dumps(result.state["customStatus"])

        plan = plan_episode(result, book)
        failure = plan.nondeterminism
        continued: ContinueAsNew | None = None
        if failure is None:
            for task_id, action in plan.new:
                book.next_id = task_id + 1
                book.signatures.append(signature(action))
                outcome = self._dispatcher.schedule(inst, action, task_id, made)
                if isinstance(outcome, ContinueAsNew):
                    continued = outcome
                elif isinstance(outcome, FailOrchestration):
                    failure = outcome.reason
                    break
        made.append(event(EventType.OrchestratorCompleted, now_iso()))
        book.episode = prepared.episode_no
        self._instances.append_history(
            inst,
            prepared.new_events + made,
            [text.replace(_UNPLAYED, _PLAYED, 1) for text in prepared.new_texts] + [played_text(ev) for ev in made],
        )

        if failure is not None:
            self._instances.finish(inst, RuntimeStatus.Failed, json.dumps(failure))
        elif result.error is not None:
            reason = f"Orchestrator function '{inst.name}' failed: {result.error}"
            self._instances.finish(inst, RuntimeStatus.Failed, json.dumps(reason))
        elif continued is not None:
            self._instances.continue_as_new(inst, continued.input)
        elif result.done:
            self._instances.finish(inst, RuntimeStatus.Completed, json.dumps(result.state.get("output")))
        else:
            if inst.status == RuntimeStatus.Pending:
                inst.status = RuntimeStatus.Running
            book.fan_in = outstanding_fan_in(
                result.actions, plan.actions, next_id=book.next_id, retrying=bool(book.retries), history=inst.history
            )
            self._instances.save(inst)


def _orchestrator_missing(inst: Instance) -> ReplayResult:
    """What replaying an instance whose orchestrator the app no longer has answers: it fails, naming it."""
    return ReplayResult({}, unknown_function_message(inst.name, "orchestrator"))
