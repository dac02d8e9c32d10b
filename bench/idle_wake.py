"""The machine's own price for handing work between threads through an idle event loop.

`wake_after_idle_ms`: waking the idle loop from a worker thread, paid once per activity.
`round_trip_after_idle_ms`: a whole empty step -- one job's end, the loop woken, the next job started on a worker.

When an activity finishes in a worker thread, it wakes the host's event loop, which has been idle for as long
as the activity ran. On a laptop that costs microseconds; on a small virtual machine the idle processor has
to be woken first and it costs a few hundred. No host can avoid it short of spinning the processor, so the
benchmark reports it beside the host's per-episode cost, as the part of that cost that belongs to the machine.
Measured with the same loop the host uses (uvloop when installed) and a plain thread pool.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def wake_after_idle_ms(idle_seconds: float = 0.05, samples: int = 30) -> float:
    """Median time from a worker's `call_soon_threadsafe` to the callback running on the idle loop, in ms."""

    async def measure() -> float:
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            for _ in range(samples):
                arrived: asyncio.Future[float] = loop.create_future()

                def work(arrived: asyncio.Future[float] = arrived) -> None:
                    time.sleep(idle_seconds)
                    sent = time.perf_counter()
                    loop.call_soon_threadsafe(arrived.set_result, sent)

                pool.submit(work)
                sent = await arrived
                lags.append(time.perf_counter() - sent)
        return statistics.median(lags) * 1000

    return _run(measure())


def round_trip_after_idle_ms(idle_seconds: float = 0.05, samples: int = 30) -> float:
    """Median time from one worker job's end to the next one's start when the idle loop hands over between them:
    the job wakes the loop (`call_soon_threadsafe`), the loop submits the next job to the pool at once. This is a
    step of a chain with nothing in it -- no store, no replay -- the least any thread-pool host pays per step."""

    async def measure() -> float:
        loop = asyncio.get_running_loop()
        gaps: list[float] = []
        with ThreadPoolExecutor(max_workers=4) as pool:

            def work() -> tuple[float, float]:
                began = time.perf_counter()
                time.sleep(idle_seconds)
                return began, time.perf_counter()

            ended = None
            for _ in range(samples + 1):
                done: asyncio.Future[tuple[float, float]] = loop.create_future()
                pool.submit(work).add_done_callback(
                    lambda job, done=done: loop.call_soon_threadsafe(done.set_result, job.result())
                )
                began, finished = await done
                if ended is not None:
                    gaps.append(began - ended)
                ended = finished
        return statistics.median(gaps) * 1000

    return _run(measure())


def _run(coroutine: Coroutine[Any, Any, float]) -> float:
    """On the loop the host uses: uvloop when installed, asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
