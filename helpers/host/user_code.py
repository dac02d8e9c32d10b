"""Where user code runs: a thread pool for blocking calls, one long-lived event loop for coroutines.

Why two places:
- Orchestrator and entity handles from the durable SDK are synchronous and may block for a long time (an
  agent entity waits for a model reply), so they run in worker threads and never stall the HTTP server.
- Async user functions must all run on **one** persistent event loop: the durable SDK client keeps a
  module-global aiohttp session bound to the first loop it saw, so a fresh `asyncio.run()` per call breaks
  the second call with "Event loop is closed". The Python worker in real Azure Functions also keeps one loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class UserCodeRunner:
    """Runs user callables without blocking the caller's event loop."""

    def __init__(self, max_workers: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="user-code")
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="user-code-loop", daemon=True)
        self._loop_thread.start()

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call `fn` (sync or async) and await its result from any event loop."""
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):  # noqa: B004 (an object whose __call__ is async)
            future = asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self._loop)
            return await asyncio.wrap_future(future)
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        if inspect.isawaitable(result):  # a sync wrapper that returned a coroutine
            future = asyncio.run_coroutine_threadsafe(_await(result), self._loop)
            return await asyncio.wrap_future(future)
        return result

    def submit_sync(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        """Run a blocking callable in a worker thread; the caller attaches a done-callback (no asyncio task)."""
        ctx = contextvars.copy_context()
        return self._pool.submit(ctx.run, fn, *args)

    def submit_coroutine(self, coro: Any) -> concurrent.futures.Future:
        """Run a coroutine on the user-code loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(timeout=5)


async def _await(awaitable: Any) -> Any:
    return await awaitable
