"""Activity runs: the user's function in a worker, its outcome as a history event, outcomes handed back in batches.

Why it looks like this:
- Everything that belongs to one run — decoding the input, calling the function, encoding its result or
  failure, and the 'started' / 'completed' log lines with the real duration — happens where the function runs
  (a worker thread, or the user-code loop for `async def` activities). The engine's event loop, which also
  answers HTTP and runs episodes, only has to store the finished event.
- Outcomes that come back close together are handed to the engine in one loop step (one commit, one
  scheduling decision per instance) rather than one step each: the ten activities of a fan-out finish within a
  millisecond or two of each other.

Encoding follows the Python worker: input through `ActivityTriggerConverter.decode`, result
through `ActivityTriggerConverter.encode`, failures as `TaskFailed` with the extension's reason (`failure_reason`)
and, as details, the Python exception line (the extension puts its own serialised .NET exception there).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from ...durable_vocabulary import HTTP_ACTIVITY, EventType
from ..registry import Registry
from ..user_code import UserCodeRunner
from .contracts import Log
from .errors import unknown_function_message
from .history import event, now_iso
from .http_calls import HttpCaller, HttpCallFailed


@dataclass(frozen=True)
class ActivityRun:
    """One scheduled activity and where its outcome goes."""

    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input_json: str | None


Outcome = tuple[ActivityRun, dict[str, Any]]


class ActivityRunner:
    """Starts activity runs and reports their outcomes to `on_outcomes` on the event loop, in batches.

    A run starts only once the transaction that recorded it (its TaskScheduled event) is committed: `after_commit`
    (Store.after_commit) runs the start right after that commit, in the same loop step, so a crash can never
    lose the record of work that already began. Runs go straight to the worker threads (sync activities) or the
    user-code loop (async ones, HTTP calls) and report back with one `call_soon_threadsafe` -- no asyncio task per
    run, no extra loop iteration on either side.
    """

    def __init__(
        self,
        registry: Registry,
        runner: UserCodeRunner,
        log: Log,
        after_commit: Callable[[Callable[[], None]], None],
        on_outcomes: Callable[[list[Outcome]], None],
        http: HttpCaller | None = None,
    ) -> None:
        self._registry = registry
        self._http = http or HttpCaller()
        self._runner = runner
        self._log = log
        self._after_commit = after_commit
        self._on_outcomes = on_outcomes
        self._finished: list[tuple[ActivityRun, dict[str, Any], Any]] = []  # outcomes not yet handed over
        self._hand_over_scheduled = False
        self._lock = threading.Lock()
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, run: ActivityRun) -> None:
        """Begin the run once its record is committed; must be called on the engine's event loop."""
        self._loop = asyncio.get_running_loop()
        self._after_commit(lambda: self._submit(run))

    def _submit(self, run: ActivityRun) -> None:
        fn = self._registry.activity(run.name)
        if run.name == HTTP_ACTIVITY:
            future = self._runner.submit_coroutine(self._call_http(run))
        elif fn is None:
            reason = unknown_function_message(run.name, "activity")
            self._log.info(
                "%s: Function '%s (Activity)' failed. TaskId: %d. %s", run.instance_id, run.name, run.task_id, reason
            )
            self._arrived(
                run, event(EventType.TaskFailed, now_iso(), TaskScheduledId=run.task_id, Reason=reason, Details="")
            )
            return
        elif inspect.iscoroutinefunction(fn.handler):
            future = self._runner.submit_coroutine(self._call_async(fn, run))
        else:
            future = self._runner.submit_sync(self._call_sync, fn, run)
        self._in_flight.add(future)

        def done(f: concurrent.futures.Future[Any]) -> None:
            try:
                outcome = f.result()
                if inspect.isawaitable(outcome):  # a sync wrapper handed back a coroutine: finish it there
                    self._runner.submit_coroutine(_awaited(outcome)).add_done_callback(done)
                    return
            except BaseException as exc:
                outcome = event(
                    EventType.TaskFailed,
                    now_iso(),
                    TaskScheduledId=run.task_id,
                    Reason=failure_reason(run.name, exc),
                    Details=repr(exc),
                )
            self._arrived(run, outcome, f)

        future.add_done_callback(done)

    def _arrived(self, run: ActivityRun, outcome: dict[str, Any], future: Any = None) -> None:
        """Keep an outcome for the next hand-over, from any thread; only the first one since the last hand-over
        wakes the loop, so outcomes that arrive while it wakes are handed over together."""
        with self._lock:
            self._finished.append((run, outcome, future))
            if self._hand_over_scheduled:
                return
            self._hand_over_scheduled = True
        loop = self._loop
        assert loop is not None  # set by start(), which every run goes through
        try:
            loop.call_soon_threadsafe(self._hand_over)
        except RuntimeError:
            pass  # the loop is gone: the host is exiting, the work stays in flight for the next start

    def _hand_over(self) -> None:
        with self._lock:
            batch, self._finished = self._finished, []
            self._hand_over_scheduled = False
        for _, _, future in batch:
            self._in_flight.discard(future)
        if batch:
            self._on_outcomes([(run, outcome) for run, outcome, _ in batch])

    def in_flight(self) -> list[asyncio.Future[Any]]:
        """Runs still executing, as awaitables (for an orderly stop)."""
        return [asyncio.wrap_future(f) for f in self._in_flight if not f.done()]

    def flush(self) -> None:
        """Hand over outcomes that arrived but were not yet handed over (an orderly stop calls it last)."""
        self._hand_over()

    # -- where the function runs ------------------------------------------------------------------------
    async def _call_http(self, run: ActivityRun) -> dict[str, Any]:
        """The extension's built-in HTTP activity (http_calls.py), on the user-code loop like async activities."""
        self._log.info("%s: Function '%s (Activity)' started. TaskId: %d.", run.instance_id, HTTP_ACTIVITY, run.task_id)
        started = time.perf_counter()
        try:
            result = await self._http.perform(run.input_json)
        except HttpCallFailed as failure:
            self._log.info(
                "%s: Function '%s (Activity)' failed. TaskId: %d. %s",
                run.instance_id,
                HTTP_ACTIVITY,
                run.task_id,
                failure.reason,
            )
            return event(
                EventType.TaskFailed,
                now_iso(),
                TaskScheduledId=run.task_id,
                Reason=failure.reason,
                Details=failure.details,
            )
        self._log.info(
            "%s: Function '%s (Activity)' completed. TaskId: %d. Duration: %.0f ms.",
            run.instance_id,
            HTTP_ACTIVITY,
            run.task_id,
            (time.perf_counter() - started) * 1000,
        )
        return event(EventType.TaskCompleted, now_iso(), TaskScheduledId=run.task_id, Result=result)

    def _call_sync(self, fn: Any, run: ActivityRun) -> Any:
        started = self._started(fn, run)
        try:
            result = fn.handler(**{fn.trigger_param: _decode(run.input_json)})
        except Exception as exc:
            return self._failed(fn, run, exc)
        if inspect.isawaitable(result):  # a sync wrapper around a coroutine: UserCodeRunner awaits this one
            return self._finish(fn, run, result, started)
        return self._completed(fn, run, result, started)

    async def _call_async(self, fn: Any, run: ActivityRun) -> dict[str, Any]:
        started = self._started(fn, run)
        try:
            awaitable = fn.handler(**{fn.trigger_param: _decode(run.input_json)})
        except Exception as exc:
            return self._failed(fn, run, exc)
        return await self._finish(fn, run, awaitable, started)

    async def _finish(self, fn: Any, run: ActivityRun, awaitable: Awaitable[Any], started: float) -> dict[str, Any]:
        try:
            result = await awaitable
        except Exception as exc:
            return self._failed(fn, run, exc)
        return self._completed(fn, run, result, started)

    def _started(self, fn: Any, run: ActivityRun) -> float:
        self._log.info("%s: Function '%s (Activity)' started. TaskId: %d.", run.instance_id, fn.name, run.task_id)
        return time.perf_counter()

    def _completed(self, fn: Any, run: ActivityRun, result: Any, started: float) -> dict[str, Any]:
        try:
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as exc:  # a result that cannot be serialised fails the activity, as on the worker
            return self._failed(fn, run, exc)
        self._log.info(
            "%s: Function '%s (Activity)' completed. TaskId: %d. Duration: %.0f ms.",
            run.instance_id,
            fn.name,
            run.task_id,
            (time.perf_counter() - started) * 1000,
        )
        return event(EventType.TaskCompleted, now_iso(), TaskScheduledId=run.task_id, Result=encoded)

    def _failed(self, fn: Any, run: ActivityRun, exc: Exception) -> dict[str, Any]:
        details = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._log.info(
            "%s: Function '%s (Activity)' failed. TaskId: %d. %s", run.instance_id, fn.name, run.task_id, details
        )
        return event(
            EventType.TaskFailed,
            now_iso(),
            TaskScheduledId=run.task_id,
            Reason=failure_reason(fn.name, exc),
            Details=details,
        )


def failure_reason(name: str, exc: BaseException) -> str:
    """TaskFailed's reason as on Azure: TaskActivityShim's `Activity function '<name>' failed: <message>`, where
    the message is what follows "Exception:" in the Functions host's RpcException text -- the Python worker's
    `<type>: <text>` after a space, hence the two spaces."""
    return f"Activity function '{name}' failed:  {type(exc).__name__}: {exc}"


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _decode(input_json: str | None) -> Any:
    return ActivityTriggerConverter.decode(meta.Datum(value=input_json, type="json"), trigger_metadata=None)
