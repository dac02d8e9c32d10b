"""The machine's own price for waking an idle event loop from a worker thread -- paid once per activity.

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
from concurrent.futures import ThreadPoolExecutor


def wake_after_idle_ms(idle_seconds: float = 0.05, samples: int = 30) -> float:
    """Median time from a worker's `call_soon_threadsafe` to the callback running on the idle loop, in ms."""

    async def measure() -> float:
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            for _ in range(samples):
                arrived: asyncio.Future[float] = loop.create_future()

                def work() -> None:
                    time.sleep(idle_seconds)
                    sent = time.perf_counter()
                    loop.call_soon_threadsafe(arrived.set_result, sent)

                pool.submit(work)
                sent = await arrived
                lags.append(time.perf_counter() - sent)
        return statistics.median(lags) * 1000

    try:
        import uvloop
    except ImportError:
        return asyncio.run(measure())
    return uvloop.run(measure())
