"""Episodes: pending events -> one replay through the SDK -> the decisions applied, in one loop step.

A mixin of DurableEngine. An instance has at most one episode running (`Instance.busy`); it is run again while
there is something worth an episode (fan_in.worth_an_episode). The replay itself -- building the request,
calling the SDK, deciding what is new -- is replay.py's plain-data boundary; this module supplies the events
and applies the answer: new work goes to dispatch.py, endings to instances.py.

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
from dataclasses import dataclass
from typing import Any

from ...durable_vocabulary import FINISHED_STATUSES, RUNNABLE_STATUSES, EventType
from ..registry import DurableFunction
from .actions import signature
from .fan_in import outstanding_fan_in, worth_an_episode
from .history import event, now_iso
from .instance import Instance, played_text
from .instances import unknown_function
from .replay import ReplayResult, orchestrator_request, plan_episode, run_orchestrator

_UNPLAYED, _PLAYED = '"IsPlayed": false', '"IsPlayed": true'
INLINE_REPLAY_LIMIT = 0.05  # seconds


@dataclass
class _Prepared:
    """An episode between building its request and applying the SDK's answer."""

    take: list[tuple[int, dict[str, Any]]]
    new_events: list[dict[str, Any]]
    new_texts: list[str]
    request: str
    episode_no: int
    execution_id: str
    fn: DurableFunction | None


class EpisodeRunner:
    def _start_episodes(self, inst: Instance, *, now: bool = False) -> None:
        """Called by `_kick` with `inst.busy` set: run its episodes inline (`now`, or in the next loop step),
        or in a worker thread."""
        if self.inline_replay and inst.name.lower() not in self._threaded_orchestrators:
            if now:
                self._run_inline(inst)
            else:
                asyncio.get_running_loop().call_soon(self._run_inline, inst)
        else:
            self._spawn(self._drive(inst))

    def _wants_episode(self, inst: Instance) -> bool:
        return (
            not self._stopping
            and inst.status in RUNNABLE_STATUSES
            and worth_an_episode(inst.pending, inst.book.fan_in)
            and self._active.get(inst.instance_id) is inst
        )

    def _run_inline(self, inst: Instance) -> None:
        try:
            while self._wants_episode(inst):
                if not self.versioning.accepts(inst.version):
                    self._refuse_version(inst)
                    break
                prepared = self._prepare_episode(inst)
                fn = prepared.fn
                if fn is not None and fn.name.lower() in self._threaded_orchestrators:
                    self._spawn(self._drive(inst, prepared))  # it keeps `busy` and clears it when done
                    return
                started = time.perf_counter()
                result = (
                    run_orchestrator(fn.handler, prepared.request)
                    if fn is not None
                    else ReplayResult({}, unknown_function(inst.name, "orchestrator"))
                )
                elapsed = time.perf_counter() - started
                if fn is not None and elapsed > INLINE_REPLAY_LIMIT:
                    self._threaded_orchestrators.add(fn.name.lower())
                    self.log.warning(
                        "Orchestrator function '%s' held the host for %.0f ms in one replay: "
                        "orchestrator code must not block (no I/O, no sleeping). Its replays run in "
                        "worker threads from now on.",
                        fn.name,
                        elapsed * 1000,
                    )
                self._conclude_episode(inst, prepared, result)
        except Exception as exc:  # an engine bug must fail this instance, never the engine
            self._engine_bug(inst, exc)
        inst.busy = False

    async def _drive(self, inst: Instance, prepared: _Prepared | None = None) -> None:
        """The threaded driver: each replay runs in a worker thread while the loop carries on."""
        try:
            while prepared is not None or self._wants_episode(inst):
                if prepared is None:
                    if not self.versioning.accepts(inst.version):
                        self._refuse_version(inst)
                        break
                    prepared = self._prepare_episode(inst)
                if prepared.fn is None:
                    result = ReplayResult({}, unknown_function(inst.name, "orchestrator"))
                else:
                    result = await self.runner.call(run_orchestrator, prepared.fn.handler, prepared.request)
                self._conclude_episode(inst, prepared, result)
                prepared = None
        except Exception as exc:  # an engine bug must fail this instance, never the engine
            self._engine_bug(inst, exc)
        finally:
            inst.busy = False

    def _engine_bug(self, inst: Instance, exc: Exception) -> None:
        self.log.exception("%s: episode failed inside the engine", inst.instance_id)
        if self._active.get(inst.instance_id) is inst and self._store_open():
            self._finish(
                inst,
                "Failed",
                json.dumps(
                    f"Orchestrator function '{inst.name}' failed: internal host error: {type(exc).__name__}: {exc}"
                ),
            )

    def _prepare_episode(self, inst: Instance) -> _Prepared:
        book = inst.book
        # Retry loops allocate ids while the SDK processes their events, so deliver one event at a time then.
        take = inst.pending[:1] if book.retries else list(inst.pending)
        new_events = [event(EventType.OrchestratorStarted, now_iso()), *(ev for _, ev in take)]
        for ev in new_events:
            ev["IsPlayed"] = False
        new_texts = [json.dumps(ev) for ev in new_events]
        episode_no = book.episode + 1
        self.log.info(
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
        return _Prepared(
            take, new_events, new_texts, request, episode_no, inst.execution_id, self.registry.orchestrator(inst.name)
        )

    def _conclude_episode(self, inst: Instance, prepared: _Prepared, result: ReplayResult) -> None:
        if (
            self._active.get(inst.instance_id) is not inst
            or inst.execution_id != prepared.execution_id
            or inst.status in FINISHED_STATUSES
            or self._stopping
            or not self._store_open()
        ):
            # Terminated, purged or replaced while the orchestrator ran -- or the host is stopping: then the
            # episode's decisions are dropped and its events stay pending, so the next start replays it.
            return
        self._apply_episode(inst, prepared.take, prepared.new_events, prepared.new_texts, result, prepared.episode_no)

    def _apply_episode(
        self,
        inst: Instance,
        take: list[tuple[int, dict[str, Any]]],
        new_events: list[dict[str, Any]],
        new_texts: list[str],
        result: ReplayResult,
        episode_no: int,
    ) -> None:
        book = inst.book
        # The live entries, not `take`: a commit while a threaded replay ran may have written deferred ones since.
        consumed, inst.pending = inst.pending[: len(take)], inst.pending[len(take) :]
        written = [row_id for row_id, _ in consumed if row_id is not None]  # the rest never reached the table
        if written:  # the oldest pending rows of this instance, so one range delete
            self.store.delete_pending_through(inst.instance_id, written[-1])
        made: list[dict[str, Any]] = []  # events this episode adds after the delivered ones
        for _, ev in take:
            self._advance_retries(inst, ev, made)
        if "customStatus" in result.state:
            inst.custom_status = json.dumps(result.state["customStatus"])

        plan = plan_episode(result, book)
        failure = plan.nondeterminism
        continue_input: tuple[str | None] | None = None
        if failure is None:
            for task_id, action in plan.new:
                book.next_id = task_id + 1
                book.signatures.append(signature(action))
                outcome = self._schedule(inst, action, task_id, made)
                if outcome is not None:
                    kind, value = outcome
                    if kind == "continue":
                        continue_input = (value,)
                    else:
                        failure = value
                        break
        made.append(event(EventType.OrchestratorCompleted, now_iso()))
        book.episode = episode_no
        self._append_history(
            inst,
            new_events + made,
            [text.replace(_UNPLAYED, _PLAYED, 1) for text in new_texts] + [played_text(ev) for ev in made],
        )

        if failure is not None:
            self._finish(inst, "Failed", json.dumps(failure))
        elif result.error is not None:
            self._finish(inst, "Failed", json.dumps(f"Orchestrator function '{inst.name}' failed: {result.error}"))
        elif continue_input is not None:
            self._continue_as_new(inst, continue_input[0])
        elif result.done:
            self._finish(inst, "Completed", json.dumps(result.state.get("output")))
        else:
            if inst.status == "Pending":
                inst.status = "Running"
            book.fan_in = outstanding_fan_in(
                result.actions, plan.actions, next_id=book.next_id, retrying=bool(book.retries), history=inst.history
            )
            self._save(inst)
