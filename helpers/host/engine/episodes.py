"""Episodes: pending events -> one replay through the SDK -> the decisions applied, in one loop step.

A mixin of DurableEngine. An instance has at most one episode running (`Instance.busy`); its driver loops
while there is something worth an episode (fan_in.worth_an_episode). The replay itself -- building the
request, calling the SDK, deciding what is new -- is replay.py's plain-data boundary; this module supplies the
events and applies the answer: new work goes to dispatch.py, endings to instances.py.
"""
from __future__ import annotations

import json
from typing import Any

from .actions import signature
from .fan_in import outstanding_fan_in, worth_an_episode
from .history import EventType, event, now_iso
from .instance import RUNNING_STATES, TERMINAL_STATES, Instance, played_text
from .instances import unknown_function
from .replay import ReplayResult, orchestrator_request, plan_episode, run_orchestrator

_UNPLAYED, _PLAYED = '"IsPlayed": false', '"IsPlayed": true'


class EpisodeRunner:
    async def _drive(self, inst: Instance) -> None:
        try:
            while (not self._stopping and inst.status in RUNNING_STATES and worth_an_episode(inst)
                   and self._active.get(inst.instance_id) is inst):
                await self._episode(inst)
        except Exception as exc:  # an engine bug must fail this instance, never the engine
            self.log.exception("%s: episode failed inside the engine", inst.instance_id)
            if self._active.get(inst.instance_id) is inst and self._store_open():
                self._finish(inst, "Failed", json.dumps(f"Orchestrator function '{inst.name}' failed: "
                                                        f"internal host error: {type(exc).__name__}: {exc}"))
        finally:
            inst.busy = False

    async def _episode(self, inst: Instance) -> None:
        book = inst.book
        # Retry loops allocate ids while the SDK processes their events, so deliver one event at a time then.
        take = inst.pending[:1] if book["retries"] else list(inst.pending)
        new_events = [event(EventType.OrchestratorStarted, now_iso()), *(ev for _, ev in take)]
        for ev in new_events:
            ev["IsPlayed"] = False
        new_texts = [json.dumps(ev) for ev in new_events]
        episode_no = book["episode"] + 1
        self.log.info("%s: Function '%s (Orchestrator)' started. IsReplay: %s. Episode: %d. HistoryEvents: %d.",
                      inst.instance_id, inst.name, bool(inst.history), episode_no,
                      len(inst.history) + len(new_events))
        request = orchestrator_request(inst.history_text, new_texts, instance_id=inst.instance_id,
                                       input_json=inst.input, parent_id=inst.parent_id)
        execution_id = inst.execution_id
        fn = self.registry.orchestrator(inst.name)
        if fn is None:
            result = ReplayResult({}, unknown_function(inst.name, "orchestrator"))
        else:
            result = await self.runner.call(run_orchestrator, fn.handler, request)
        if self._active.get(inst.instance_id) is not inst or inst.execution_id != execution_id \
                or inst.status in TERMINAL_STATES or self._stopping or not self._store_open():
            # Terminated, purged or replaced while the orchestrator ran -- or the host is stopping: then the
            # episode's decisions are dropped and its events stay pending, so the next start replays it.
            return
        # -- from here on no awaits: the episode's effects are applied (and committed) as one step --
        self._apply_episode(inst, take, new_events, new_texts, result, episode_no)

    def _apply_episode(self, inst: Instance, take: list[tuple[int, dict[str, Any]]], new_events: list[dict[str, Any]],
                       new_texts: list[str], result: ReplayResult, episode_no: int) -> None:
        book = inst.book
        inst.pending = inst.pending[len(take):]
        self.store.write_many("DELETE FROM pending WHERE id = ?", [(row_id,) for row_id, _ in take])
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
                book["next_id"] = task_id + 1
                book["sigs"].append(signature(action))
                outcome = self._schedule(inst, action, task_id, made)
                if outcome is not None:
                    kind, value = outcome
                    if kind == "continue":
                        continue_input = (value,)
                    else:
                        failure = value
                        break
        made.append(event(EventType.OrchestratorCompleted, now_iso()))
        book["episode"] = episode_no
        self._append_history(inst, new_events + made,
                             [text.replace(_UNPLAYED, _PLAYED, 1) for text in new_texts]
                             + [played_text(ev) for ev in made])

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
            book["fan_in"] = outstanding_fan_in(result.actions, plan.actions, book, inst.history)
            self._save(inst)
