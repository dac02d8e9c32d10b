"""DurableEngine: orchestration instances, replay episodes, activities, timers and sub-orchestrations.

Life of an instance: `start_orchestration` stores it with a pending ExecutionStarted event. An *episode*
takes pending events, appends them to the history after a fresh OrchestratorStarted, and hands the whole
history to the SDK's orchestrator handle, which replays the user's generator and answers with the cumulative
action list. Actions beyond those already handled are new: each gets the next sequence id (the SDK numbers
them the same way), a scheduling event in the history and real work (activity run, timer, child instance,
entity operation). Finished work comes back as a pending completion event, which triggers the next episode.

Everything runs on the caller's event loop; user code (orchestrator handles, activities, entities) runs
through UserCodeRunner so a slow function never blocks the loop. Episodes of one instance never overlap.
All state changes are written to the Store in the same loop step as the in-memory change.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..registry import Registry
from ..settings import DEFAULT_HUB_NAME
from ..user_code import UserCodeRunner
from .actions import ActionType, describe, flatten, signature
from .activities import ActivityRun, ActivityRunner
from .entities import Entities, unknown_entity_message
from .fan_in import outstanding_fan_in, worth_an_episode
from .errors import InstanceExists, NotFound, NotRunning, UnknownFunction
from .history import EventType, event, iso, iso_seconds, parse_iso, public_history, utcnow
from .store import Store

RUNNING_STATES = ("Pending", "Running")
ACTIVE_STATES = ("Pending", "Running", "Suspended")
TERMINAL_STATES = ("Completed", "Failed", "Terminated", "Canceled")
OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
DEFAULT_LOGGER = "helpers.host.durable"


@dataclass
class Instance:
    """An orchestration instance that is still active (kept in memory; mirrored row by row in the Store)."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    created: str
    updated: str
    parent_id: str | None = None
    parent_task_id: int | None = None
    output: str | None = None  # JSON text
    custom_status: str | None = None  # JSON text
    history: list[dict[str, Any]] = field(default_factory=list)
    pending: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row id, event)
    # episode count, next sequence id, signatures of handled actions, retry loops in progress
    book: dict[str, Any] = field(default_factory=lambda: {"episode": 0, "next_id": 0, "sigs": [], "retries": []})
    busy: bool = False
    timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)


def _unknown_function(name: str, kind: str) -> str:
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function."


def _parse_handle_failure(exc: BaseException) -> tuple[dict[str, Any], str]:
    """The SDK reports orchestrator failures as an exception carrying its state after a marker."""
    text = str(exc)
    if OUT_OF_PROC_MARKER in text:
        message, _, data = text.partition(OUT_OF_PROC_MARKER)
        try:
            state = json.loads(data)
            return state, str(state.get("error") or message)
        except ValueError:
            return {}, message
    return {}, f"{type(exc).__name__}: {text}"


def _jt_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class DurableEngine:
    """The durable orchestration + entity engine behind the embedded host (interface: the package docstring)."""

    def __init__(self, registry: Registry, store_path: str, runner: UserCodeRunner, hub_name: str = DEFAULT_HUB_NAME,
                 logger: logging.Logger | None = None, *, synchronous_full: bool = False) -> None:
        self.registry = registry
        self.hub_name = hub_name
        self.runner = runner
        self.log = logger or logging.getLogger(DEFAULT_LOGGER)
        self.store = Store(store_path, synchronous_full=synchronous_full)
        self._active: dict[str, Instance] = {}
        self._tasks: set[asyncio.Task] = set()
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._stopping = False
        self._started = False
        self.entities: Entities | None = None
        self.activities = ActivityRunner(registry, runner, self.log, self._spawn, self._activities_finished)

    # ================================================================================= lifecycle
    async def start(self) -> None:
        """Open and validate the state file, then resume every unfinished orchestration and entity queue."""
        self.store.open()
        self.entities = Entities(self.store, self.registry, self.runner, self.log, self._deliver)
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
        while (pending := [t for t in self._tasks if not t.done()]) and time.monotonic() < deadline:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        for task in self._tasks:
            task.cancel()
        self.store.close()
        self._started = False

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _resume_instances(self) -> None:
        rows = self.store.read(
            "SELECT instance_id, name, execution_id, status, input, output, custom_status, created, updated, "
            "parent_id, parent_task_id, book FROM instances WHERE status IN ('Pending', 'Running', 'Suspended')"
        )
        for row in rows:
            (instance_id, name, execution_id, status, input_json, output, custom_status, created, updated,
             parent_id, parent_task_id, book) = row
            inst = Instance(instance_id=instance_id, name=name, execution_id=execution_id, status=status,
                            input=input_json, output=output, custom_status=custom_status, created=created,
                            updated=updated, parent_id=parent_id, parent_task_id=parent_task_id,
                            book=json.loads(book))
            for (text,) in self.store.read("SELECT event FROM history WHERE instance_id = ? ORDER BY seq",
                                           (inst.instance_id,)):
                ev = json.loads(text)
                ev["IsPlayed"] = True
                inst.history.append(ev)
            for row_id, text in self.store.read("SELECT id, event FROM pending WHERE instance_id = ? ORDER BY id",
                                                (inst.instance_id,)):
                inst.pending.append((row_id, json.loads(text)))
            self._active[inst.instance_id] = inst
        for inst in list(self._active.values()):
            for work_id, kind, task_id, payload, fire_at, execution_id in self.store.read(
                "SELECT id, kind, task_id, payload, fire_at, execution_id FROM work WHERE instance_id = ? ORDER BY id",
                (inst.instance_id,),
            ):
                if execution_id != inst.execution_id:
                    self.store.write("DELETE FROM work WHERE id = ?", (work_id,))
                    continue
                data = json.loads(payload)
                if kind == "activity":
                    self.activities.start(ActivityRun(inst.instance_id, execution_id, task_id, data["name"],
                                                      data["input"], work_id))
                elif kind == "timer":
                    self._arm_timer(inst, task_id, fire_at, data["fireAt"], work_id)
            if inst.status in RUNNING_STATES:
                self._kick(inst)
        if self._active:
            self.log.info("Resumed %d unfinished orchestration(s) from %s.", len(self._active), self.store.path)

    # ================================================================================= client operations
    async def start_orchestration(self, name: str, instance_id: str | None = None, input_json: str | None = None) -> str:
        fn = self.registry.orchestrator(name)
        if fn is None:
            raise UnknownFunction(_unknown_function(name, "orchestrator") +
                                  " Additional info: the app defines no orchestrator with that name.")
        instance_id = instance_id or uuid.uuid4().hex
        if instance_id in self._active:
            raise InstanceExists(f"An orchestration with instance id '{instance_id}' is still "
                                 f"{self._active[instance_id].status.lower()}.")
        self._create_instance(fn.name, instance_id, input_json)
        self.store.commit()
        return instance_id

    async def get_status(self, instance_id: str, *, show_history: bool = False, show_history_output: bool = False,
                         show_input: bool = True) -> dict[str, Any] | None:
        self.store.commit()  # a client may act on what it reads: never show a state that is not on disk yet
        rows = self.store.read(
            "SELECT instance_id, name, status, input, output, custom_status, created, updated FROM instances "
            "WHERE instance_id = ?", (instance_id,))
        if not rows:
            return None
        status = self._status_from_row(rows[0], show_input)
        if show_history:
            events = [json.loads(text) for (text,) in self.store.read(
                "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,))]
            status["historyEvents"] = public_history(events, show_output=show_history_output, show_input=show_input)
        return status

    async def query_instances(self, *, runtime_status: list[str] | None = None, created_from: Any = None,
                              created_to: Any = None, instance_id_prefix: str | None = None, top: int | None = None,
                              show_input: bool = True) -> list[dict[str, Any]]:
        self.store.commit()  # as in get_status: report only what is on disk
        sql, params = self._filter_sql(runtime_status, created_from, created_to, instance_id_prefix)
        sql = ("SELECT instance_id, name, status, input, output, custom_status, created, updated FROM instances"
               + sql + " ORDER BY created")
        if top:
            sql += " LIMIT ?"
            params.append(int(top))
        return [self._status_from_row(row, show_input) for row in self.store.read(sql, params)]

    async def raise_event(self, instance_id: str, event_name: str, input_json: str | None) -> None:
        """Deliver an external event. `input_json` is stored verbatim as EventRaised.Input — the HTTP layer
        passes the request body text, as the real extension does (so SDK clients' payloads arrive JT-encoded)."""
        inst = self._require_active(instance_id)
        ev = event(EventType.EventRaised, iso(utcnow()), Name=event_name,
                   Input="null" if input_json is None else input_json)
        self._deliver(inst.instance_id, inst.execution_id, ev)
        self.store.commit()

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        now = iso(utcnow())
        reason = reason or ""
        self._append_history(inst, [event(EventType.ExecutionTerminated, now, Input=reason)])
        self._finish(inst, "Terminated", json.dumps(reason))
        self.store.commit()

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        if inst.status == "Suspended":
            return
        self._append_history(inst, [event(EventType.ExecutionSuspended, iso(utcnow()), Reason=reason or "")])
        inst.status = "Suspended"
        self._save(inst)
        self.store.commit()
        self.log.info("%s: Function '%s (Orchestrator)' suspended. Reason: %s", instance_id, inst.name, reason or "")

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        inst = self._require_active(instance_id)
        if inst.status != "Suspended":
            return
        self._append_history(inst, [event(EventType.ExecutionResumed, iso(utcnow()), Reason=reason or "")])
        inst.status = "Running"
        self._save(inst)
        self.store.commit()
        self.log.info("%s: Function '%s (Orchestrator)' resumed. Reason: %s", instance_id, inst.name, reason or "")
        self._kick(inst)

    async def restart(self, instance_id: str, new_id: bool = True) -> str:
        rows = self.store.read("SELECT name, input FROM instances WHERE instance_id = ?", (instance_id,))
        if not rows:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        name, input_json = rows[0]
        return await self.start_orchestration(name, None if new_id else instance_id, input_json)

    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; running instances are left alone (returns 0)."""
        if instance_id in self._active:
            return 0
        rows = self.store.read("SELECT status FROM instances WHERE instance_id = ?", (instance_id,))
        if not rows:
            return 0
        self._delete_instance_rows(instance_id)
        self.store.commit()
        return 1

    async def purge_by(self, *, runtime_status: list[str] | None = None, created_from: Any = None,
                       created_to: Any = None, instance_id_prefix: str | None = None) -> int:
        sql, params = self._filter_sql(runtime_status, created_from, created_to, instance_id_prefix)
        ids = [row[0] for row in self.store.read("SELECT instance_id FROM instances" + sql, params)
               if row[0] not in self._active]
        for iid in ids:
            self._delete_instance_rows(iid)
        self.store.commit()
        return len(ids)

    async def signal_entity(self, entity_name: str, key: str, operation: str, input_json: str | None) -> None:
        assert self.entities is not None
        from .entities import entity_id
        self.entities.enqueue(entity_id(entity_name, key), operation, input_json, signal=True)
        self.store.commit()

    async def read_entity(self, entity_name: str, key: str) -> tuple[bool, str | None]:
        assert self.entities is not None
        from .entities import entity_id
        self.store.commit()
        return self.entities.read_raw(entity_id(entity_name, key))

    async def list_entities(self, entity_name: str | None = None, fetch_state: bool = False) -> list[dict[str, Any]]:
        assert self.entities is not None
        self.store.commit()
        return self.entities.list(entity_name, fetch_state)

    async def wait_for_instance(self, instance_id: str, timeout: float) -> dict[str, Any] | None:
        """Wait until the instance reaches a terminal state; returns its status (or the last one on timeout)."""
        if instance_id in self._active:
            future = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(instance_id, []).append(future)
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout)
            except asyncio.TimeoutError:
                pass
        return await self.get_status(instance_id)

    # ================================================================================= helpers for queries
    def _require_active(self, instance_id: str) -> Instance:
        inst = self._active.get(instance_id)
        if inst is not None:
            return inst
        if self.store.read("SELECT 1 FROM instances WHERE instance_id = ?", (instance_id,)):
            raise NotRunning(f"The instance '{instance_id}' has already finished.")
        raise NotFound(f"No instance with ID '{instance_id}' found.")

    @staticmethod
    def _status_from_row(row: tuple, show_input: bool) -> dict[str, Any]:
        instance_id, name, status, input_json, output, custom_status, created, updated = row
        return {
            "name": name,
            "instanceId": instance_id,
            "runtimeStatus": status,
            "input": input_json if show_input else None,
            "customStatus": _jt_value(custom_status),
            "output": _jt_value(output),
            "createdTime": iso_seconds(created),
            "lastUpdatedTime": iso_seconds(updated),
        }

    @staticmethod
    def _filter_sql(runtime_status: list[str] | None, created_from: Any, created_to: Any,
                    prefix: str | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if runtime_status:
            wanted = [s.strip() for s in runtime_status if s and s.strip()]
            lowered = {s.lower(): s for s in ACTIVE_STATES + TERMINAL_STATES + ("ContinuedAsNew",)}
            wanted = [lowered.get(s.lower(), s) for s in wanted]
            clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        for bound, op in ((created_from, ">="), (created_to, "<=")):
            if bound:
                when = bound if isinstance(bound, datetime) else parse_iso(str(bound))
                clauses.append(f"created {op} ?")
                params.append(iso(when))
        if prefix:
            clauses.append("substr(instance_id, 1, ?) = ?")
            params.extend([len(prefix), prefix])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _delete_instance_rows(self, instance_id: str) -> None:
        for table in ("instances", "history", "pending", "work"):
            self.store.write(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))

    # ================================================================================= instance bookkeeping
    def _create_instance(self, name: str, instance_id: str, input_json: str | None,
                         parent: tuple[str, int] | None = None) -> Instance:
        self._delete_instance_rows(instance_id)  # replaces a finished instance with the same id
        now = iso(utcnow())
        inst = Instance(instance_id=instance_id, name=name, execution_id=uuid.uuid4().hex, status="Pending",
                        input=input_json, created=now, updated=now,
                        parent_id=parent[0] if parent else None, parent_task_id=parent[1] if parent else None)
        self._active[instance_id] = inst
        self._save(inst)
        self._queue_event(inst, self._execution_started(inst))
        self._kick(inst)
        return inst

    @staticmethod
    def _execution_started(inst: Instance) -> dict[str, Any]:
        parent = {"InstanceId": inst.parent_id, "TaskScheduleId": inst.parent_task_id} if inst.parent_id else None
        return event(EventType.ExecutionStarted, iso(utcnow()), Name=inst.name, Version="", Input=inst.input,
                     OrchestrationInstance={"InstanceId": inst.instance_id, "ExecutionId": inst.execution_id},
                     ParentInstance=parent)

    def _save(self, inst: Instance) -> None:
        inst.updated = iso(utcnow())
        self.store.write(
            "INSERT OR REPLACE INTO instances(instance_id, name, execution_id, status, input, output, custom_status, "
            "created, updated, parent_id, parent_task_id, book) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (inst.instance_id, inst.name, inst.execution_id, inst.status, inst.input, inst.output,
             inst.custom_status, inst.created, inst.updated, inst.parent_id, inst.parent_task_id,
             json.dumps(inst.book)),
        )

    def _append_history(self, inst: Instance, events: list[dict[str, Any]]) -> None:
        start = len(inst.history)
        for ev in events:
            ev["IsPlayed"] = True  # from now on these belong to an earlier episode
        inst.history.extend(events)
        self.store.write_many("INSERT INTO history(instance_id, seq, event) VALUES (?, ?, ?)",
                              [(inst.instance_id, start + i, json.dumps(ev)) for i, ev in enumerate(events)])

    def _queue_event(self, inst: Instance, ev: dict[str, Any]) -> None:
        row = self.store.write("INSERT INTO pending(instance_id, event) VALUES (?, ?)",
                               (inst.instance_id, json.dumps(ev)))
        inst.pending.append((row.lastrowid, ev))

    def _deliver(self, instance_id: str, execution_id: str, ev: dict[str, Any], work_id: int | None = None) -> None:
        """A completion or external event arrived for an instance: persist it and run an episode if allowed."""
        inst = self._record(instance_id, execution_id, ev, work_id)
        if inst is not None:
            self._kick(inst)

    def _activities_finished(self, outcomes: list[tuple[ActivityRun, dict[str, Any]]]) -> None:
        """Activity outcomes that arrived together: store them all, then decide once per instance."""
        touched: dict[str, Instance] = {}
        for run, ev in outcomes:
            inst = self._record(run.instance_id, run.execution_id, ev, run.work_id)
            if inst is not None:
                touched[inst.instance_id] = inst
        for inst in touched.values():
            self._kick(inst)

    def _record(self, instance_id: str, execution_id: str, ev: dict[str, Any],
                work_id: int | None = None) -> Instance | None:
        """Persist an arrived event as pending (clearing its work row); None when it is stale or we stopped."""
        if self._stopping and not self._store_open():
            return None
        if work_id is not None:
            self.store.write("DELETE FROM work WHERE id = ?", (work_id,))
        inst = self._active.get(instance_id)
        if inst is None or (execution_id and inst.execution_id != execution_id):
            return None  # the instance finished, was terminated or continued as new: drop the stale completion
        self._queue_event(inst, ev)
        return inst

    def _store_open(self) -> bool:
        return self.store._conn is not None

    def _kick(self, inst: Instance) -> None:
        if inst.busy or self._stopping or inst.status not in RUNNING_STATES or not worth_an_episode(inst):
            return
        inst.busy = True
        self._spawn(self._drive(inst))

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

    # ================================================================================= episodes
    async def _episode(self, inst: Instance) -> None:
        book = inst.book
        # Retry loops allocate ids while the SDK processes their events, so deliver one event at a time then.
        take = inst.pending[:1] if book["retries"] else list(inst.pending)
        delivered = [ev for _, ev in take]
        for ev in delivered:
            ev["IsPlayed"] = False
        started = event(EventType.OrchestratorStarted, iso(utcnow()))
        new_events = [started, *delivered]
        history = inst.history + new_events
        episode_no = book["episode"] + 1
        is_replay = bool(inst.history)
        self.log.info("%s: Function '%s (Orchestrator)' started. IsReplay: %s. Episode: %d. HistoryEvents: %d.",
                      inst.instance_id, inst.name, is_replay, episode_no, len(history))
        request = json.dumps({
            "history": history, "input": inst.input, "instanceId": inst.instance_id, "isReplaying": is_replay,
            "parentInstanceId": inst.parent_id, "upperSchemaVersion": 1, "upperSchemaVersionNew": 2,
        })
        execution_id = inst.execution_id
        fn = self.registry.orchestrator(inst.name)
        error: str | None = None
        if fn is None:
            state, error = {}, _unknown_function(inst.name, "orchestrator")
        else:
            try:
                state = json.loads(await self.runner.call(fn.handler, request))
            except Exception as exc:
                state, error = _parse_handle_failure(exc)
        if self._active.get(inst.instance_id) is not inst or inst.execution_id != execution_id \
                or inst.status in TERMINAL_STATES or self._stopping or not self._store_open():
            # Terminated, purged or replaced while the orchestrator ran -- or the host is stopping: then the
            # episode's decisions are dropped and its events stay pending, so the next start replays it.
            return

        # -- from here on no awaits: the episode's effects are applied (and committed) as one step --
        inst.pending = inst.pending[len(take):]
        self.store.write_many("DELETE FROM pending WHERE id = ?", [(row_id,) for row_id, _ in take])
        appended = list(new_events)
        for ev in delivered:
            self._advance_retries(inst, ev, appended)
        if "customStatus" in state:
            inst.custom_status = json.dumps(state["customStatus"])

        actions = flatten(state.get("actions") or [])
        sigs: list[list[Any]] = book["sigs"]
        failure = self._check_determinism(sigs, actions, allow_shorter=error is not None)
        continue_input: tuple[str | None] | None = None
        if failure is None:
            for action in actions[len(sigs):]:
                task_id = book["next_id"]
                book["next_id"] += 1
                sigs.append(signature(action))
                outcome = self._schedule(inst, action, task_id, appended)
                if outcome is not None:
                    kind, value = outcome
                    if kind == "continue":
                        continue_input = (value,)
                    else:
                        failure = value
                        break
        appended.append(event(EventType.OrchestratorCompleted, iso(utcnow())))
        book["episode"] = episode_no
        self._append_history(inst, appended)

        if failure is not None:
            self._finish(inst, "Failed", json.dumps(failure))
        elif error is not None:
            self._finish(inst, "Failed", json.dumps(f"Orchestrator function '{inst.name}' failed: {error}"))
        elif continue_input is not None:
            self._continue_as_new(inst, continue_input[0])
        elif state.get("isDone"):
            self._finish(inst, "Completed", json.dumps(state.get("output")))
        else:
            if inst.status == "Pending":
                inst.status = "Running"
            book["fan_in"] = outstanding_fan_in(state.get("actions") or [], actions, book, inst.history)
            self._save(inst)

    def _check_determinism(self, sigs: list[list[Any]], actions: list[dict[str, Any]],
                           allow_shorter: bool) -> str | None:
        """The replayed actions must match what earlier episodes scheduled (type and name, position by position)."""
        for task_id, (recorded, action) in enumerate(zip(sigs, actions)):
            if list(recorded) != signature(action):
                return (f"Non-Deterministic workflow detected: {recorded[0]}Event: {task_id} {recorded[0]} "
                        f"{recorded[1]}; on replay the orchestrator scheduled {describe(action)} at this position "
                        "instead. Was the orchestrator code changed while this instance was running?")
        if len(actions) < len(sigs) and not allow_shorter:
            recorded = sigs[len(actions)]
            return (f"Non-Deterministic workflow detected: {recorded[0]}Event: {len(actions)} {recorded[0]} "
                    f"{recorded[1]}; on replay the orchestrator no longer schedules it. Was the orchestrator code "
                    "changed while this instance was running?")
        return None

    def _schedule(self, inst: Instance, action: dict[str, Any], task_id: int,
                  appended: list[dict[str, Any]]) -> tuple[str, Any] | None:
        """Start the work for one new action. Returns ("continue", input) or ("fail", message) when relevant."""
        kind = ActionType(action["actionType"])
        now = iso(utcnow())
        if kind in (ActionType.CallActivity, ActionType.CallActivityWithRetry):
            name, input_json = action["functionName"], action.get("input")
            appended.append(event(EventType.TaskScheduled, now, task_id, Name=name, Version="", Input=input_json))
            self._queue_activity(inst, task_id, name, input_json)
            if kind is ActionType.CallActivityWithRetry:
                self._track_retry(inst, "activity", action, task_id)
        elif kind in (ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry):
            child_id = self._start_child(inst, action, task_id, appended)
            if kind is ActionType.CallSubOrchestratorWithRetry:
                self._track_retry(inst, "suborchestration", action, task_id, child_id)
        elif kind is ActionType.CreateTimer:
            fire_at = action["fireAt"]
            appended.append(event(EventType.TimerCreated, now, task_id, FireAt=fire_at))
            self._create_timer(inst, task_id, fire_at)
        elif kind in (ActionType.CallEntity, ActionType.SignalEntity):
            return self._send_to_entity(inst, action, task_id, appended, signal=kind is ActionType.SignalEntity)
        elif kind is ActionType.ContinueAsNew:
            return ("continue", action.get("input"))
        else:
            return ("fail", f"Orchestrator function '{inst.name}' failed: the action {kind.name} is not supported "
                            "by the embedded host.")
        return None

    # ---- activities -------------------------------------------------------------------------------------
    def _queue_activity(self, inst: Instance, task_id: int, name: str, input_json: str | None) -> None:
        row = self.store.write(
            "INSERT INTO work(instance_id, execution_id, kind, task_id, payload) VALUES (?, ?, 'activity', ?, ?)",
            (inst.instance_id, inst.execution_id, task_id, json.dumps({"name": name, "input": input_json})))
        self.activities.start(ActivityRun(inst.instance_id, inst.execution_id, task_id, name, input_json, row.lastrowid))

    # ---- timers -------------------------------------------------------------------------------------------
    def _create_timer(self, inst: Instance, task_id: int, fire_at: str) -> None:
        when = parse_iso(fire_at).timestamp()
        row = self.store.write(
            "INSERT INTO work(instance_id, execution_id, kind, task_id, payload, fire_at) "
            "VALUES (?, ?, 'timer', ?, ?, ?)",
            (inst.instance_id, inst.execution_id, task_id, json.dumps({"fireAt": fire_at}), when))
        self._arm_timer(inst, task_id, when, fire_at, row.lastrowid)

    def _arm_timer(self, inst: Instance, task_id: int, when: float, fire_at: str, work_id: int) -> None:
        delay = max(0.0, when - time.time())
        instance_id, execution_id = inst.instance_id, inst.execution_id

        def fire() -> None:
            inst.timers.pop(task_id, None)
            self._deliver(instance_id, execution_id,
                          event(EventType.TimerFired, iso(utcnow()), TimerId=task_id, FireAt=fire_at), work_id)

        inst.timers[task_id] = asyncio.get_running_loop().call_later(delay, fire)

    # ---- retries ------------------------------------------------------------------------------------------
    def _track_retry(self, inst: Instance, kind: str, action: dict[str, Any], task_id: int,
                     child_id: str | None = None) -> None:
        options = action.get("retryOptions") or {}
        inst.book["retries"].append({
            "kind": kind, "name": action.get("functionName"), "input": action.get("input"),
            "instanceId": action.get("instanceId"), "childId": child_id,
            "max": int(options.get("maxNumberOfAttempts") or 1),
            "intervalMs": int(options.get("firstRetryIntervalInMilliseconds") or 0),
            "attempts": 1, "taskId": task_id, "timerId": None,
        })

    def _advance_retries(self, inst: Instance, ev: dict[str, Any], appended: list[dict[str, Any]]) -> None:
        """Mirror the SDK's RetryAbleTask: a failure allocates a timer id, the timer allocates the next attempt."""
        retries: list[dict[str, Any]] = inst.book["retries"]
        kind = EventType(ev["EventType"])
        for loop in list(retries):
            if kind in (EventType.TaskCompleted, EventType.SubOrchestrationInstanceCompleted) \
                    and ev.get("TaskScheduledId") == loop["taskId"] and loop["timerId"] is None:
                retries.remove(loop)
            elif kind in (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed) \
                    and ev.get("TaskScheduledId") == loop["taskId"] and loop["timerId"] is None:
                timer_id = inst.book["next_id"]
                inst.book["next_id"] += 1
                fire_at = iso(utcnow() + timedelta(milliseconds=loop["intervalMs"]))
                appended.append(event(EventType.TimerCreated, iso(utcnow()), timer_id, FireAt=fire_at))
                self._create_timer(inst, timer_id, fire_at)
                loop["timerId"] = timer_id
            elif kind is EventType.TimerFired and ev.get("TimerId") == loop["timerId"]:
                loop["timerId"] = None
                if loop["attempts"] >= loop["max"]:
                    retries.remove(loop)  # the SDK now raises the last failure into the orchestrator
                    continue
                loop["attempts"] += 1
                task_id = inst.book["next_id"]
                inst.book["next_id"] += 1
                loop["taskId"] = task_id
                self.log.info("%s: retrying '%s', attempt %d of %d.", inst.instance_id, loop["name"],
                              loop["attempts"], loop["max"])
                if loop["kind"] == "activity":
                    appended.append(event(EventType.TaskScheduled, iso(utcnow()), task_id, Name=loop["name"],
                                          Version="", Input=loop["input"]))
                    self._queue_activity(inst, task_id, loop["name"], loop["input"])
                else:
                    action = {"functionName": loop["name"], "input": loop["input"], "instanceId": loop["instanceId"]}
                    self._start_child(inst, action, task_id, appended)

    # ---- sub-orchestrations ------------------------------------------------------------------------------
    def _start_child(self, inst: Instance, action: dict[str, Any], task_id: int,
                     appended: list[dict[str, Any]]) -> str:
        name, input_json = action["functionName"], action.get("input")
        child_id = action.get("instanceId") or uuid.uuid4().hex
        appended.append(event(EventType.SubOrchestrationInstanceCreated, iso(utcnow()), task_id, Name=name,
                              Version="", InstanceId=child_id, Input=input_json))
        fn = self.registry.orchestrator(name)
        reason = None
        if fn is None:
            reason = _unknown_function(name, "orchestrator")
        elif child_id in self._active:
            reason = f"An orchestration with instance id '{child_id}' is already running."
        if reason is not None:
            self._deliver(inst.instance_id, inst.execution_id, event(
                EventType.SubOrchestrationInstanceFailed, iso(utcnow()), TaskScheduledId=task_id,
                Reason=reason, Details=""))
            return child_id
        self._create_instance(fn.name, child_id, input_json, parent=(inst.instance_id, task_id))
        return child_id

    def _notify_parent(self, inst: Instance) -> None:
        parent = self._active.get(inst.parent_id or "")
        if parent is None or inst.parent_task_id is None:
            return
        now = iso(utcnow())
        if inst.status == "Completed":
            ev = event(EventType.SubOrchestrationInstanceCompleted, now, TaskScheduledId=inst.parent_task_id,
                       Result=inst.output)
        else:
            message = _jt_value(inst.output)
            ev = event(EventType.SubOrchestrationInstanceFailed, now, TaskScheduledId=inst.parent_task_id,
                       Reason=message if isinstance(message, str) else json.dumps(message),
                       Details=f"Sub-orchestration '{inst.instance_id}' {inst.status.lower()}.")
        self._deliver(parent.instance_id, parent.execution_id, ev)

    # ---- entities -----------------------------------------------------------------------------------------
    def _send_to_entity(self, inst: Instance, action: dict[str, Any], task_id: int,
                        appended: list[dict[str, Any]], *, signal: bool) -> tuple[str, Any] | None:
        assert self.entities is not None
        eid, operation = action["instanceId"], action["operation"]
        input_json = action.get("input")
        request_id = str(uuid.uuid4())
        message: dict[str, Any] = {"op": operation, "input": input_json, "id": request_id,
                                   "parent": inst.instance_id}
        if signal:
            message["signal"] = True
        appended.append(event(EventType.EventSent, iso(utcnow()), task_id, InstanceId=eid, Name="op",
                              Input=json.dumps(message)))
        try:
            self.entities.enqueue(eid, operation, input_json, signal=signal, caller=None if signal else inst.instance_id,
                                  caller_execution=inst.execution_id, request_id=request_id)
        except UnknownFunction as exc:
            if signal:
                return ("fail", f"Orchestrator function '{inst.name}' failed: {exc}")
            payload = {"result": json.dumps(str(exc)), "exceptionType": "EntityNotFound"}
            self._deliver(inst.instance_id, inst.execution_id, event(
                EventType.EventRaised, iso(utcnow()), Name=request_id, Input=json.dumps(payload)))
        return None

    # ================================================================================= endings
    def _continue_as_new(self, inst: Instance, input_json: str | None) -> None:
        """Start a fresh execution with the new input; external events not yet delivered carry over."""
        self.log.info("%s: Function '%s (Orchestrator)' continued as new.", inst.instance_id, inst.name)
        self._cancel_work(inst)
        self.store.write("DELETE FROM history WHERE instance_id = ?", (inst.instance_id,))
        inst.history = []
        carried = [(row_id, ev) for row_id, ev in inst.pending if ev["EventType"] == EventType.EventRaised]
        dropped = [(row_id,) for row_id, ev in inst.pending if ev["EventType"] != EventType.EventRaised]
        self.store.write_many("DELETE FROM pending WHERE id = ?", dropped)
        inst.pending = []
        inst.execution_id = uuid.uuid4().hex
        inst.input = input_json
        inst.book = {"episode": 0, "next_id": 0, "sigs": [], "retries": []}
        inst.status = "Running"
        self._queue_event(inst, self._execution_started(inst))
        for row_id, ev in carried:  # keep their order after the new ExecutionStarted
            self.store.write("DELETE FROM pending WHERE id = ?", (row_id,))
            self._queue_event(inst, ev)
        self._save(inst)

    def _cancel_work(self, inst: Instance) -> None:
        for handle in inst.timers.values():
            handle.cancel()
        inst.timers.clear()
        self.store.write("DELETE FROM work WHERE instance_id = ?", (inst.instance_id,))

    def _finish(self, inst: Instance, status: str, output_json: str) -> None:
        inst.status = status
        inst.output = output_json
        self._append_history(inst, [event(EventType.ExecutionCompleted, iso(utcnow()),
                                          OrchestrationStatus=status, Result=output_json)])
        self._cancel_work(inst)
        self.store.write("DELETE FROM pending WHERE instance_id = ?", (inst.instance_id,))
        inst.pending = []
        inst.book["retries"] = []
        self._save(inst)
        self._active.pop(inst.instance_id, None)
        if status == "Completed":
            self.log.info("%s: Function '%s (Orchestrator)' completed.", inst.instance_id, inst.name)
        else:
            self.log.info("%s: Function '%s (Orchestrator)' %s. %s", inst.instance_id, inst.name, status.lower(),
                          _jt_value(output_json))
        self._notify_parent(inst)
        for future in self._waiters.pop(inst.instance_id, []):
            if not future.done():
                future.set_result(status)
