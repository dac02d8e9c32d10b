"""The durable SDK's own cost for the episodes of a chain: the floor under the host's per-episode cost.

An episode cannot be cheaper than the SDK replaying it: `handle(request)` parses the history (a date parse per
event), replays the generator and encodes the actions. This module measures exactly that, in this process: it
records the requests the engine sends the SDK for one chain of the benchmark app (an engine on a scratch state
file, activities that return at once), then times the SDK's handle on each request alone: as shipped, and with
the host's two memos (helpers/host/engine/sdk_timestamps.py and sdk_executor_memo.py), which is what the host
pays -- first back to back (caches warm), then each call after an idle wait as long as the chain's activities
(`idle_seconds`), which is how the host calls it: once per episode, after the processor sat idle while the
activity ran. On a small virtual machine that cold call takes about twice as long. The benchmark sets the host's
measured per-episode time beside the cold floor; the difference is the host's own cost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.host.engine import DurableEngine, sdk_executor_memo, sdk_timestamps
from helpers.host.registry import DurableFunction, load_registry
from helpers.host.user_code import UserCodeRunner


@dataclass
class Floor:
    per_episode_ms: list[float]  # median SDK time of each episode of the chain, in order

    @property
    def total_ms(self) -> float:
        return sum(self.per_episode_ms)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / len(self.per_episode_ms)


def capture_requests(app_dir: Path, orchestrator: str, input_value: object) -> tuple[list[str], DurableFunction]:
    """The orchestrator requests of one run, in episode order, and the orchestrator they went to."""
    registry = load_registry(app_dir)
    fn = registry.orchestrator(orchestrator)
    assert fn is not None, orchestrator
    requests: list[str] = []

    def recording(request: str) -> str:
        requests.append(request)
        return fn.handler(request)

    registry.orchestrators[orchestrator.lower()] = DurableFunction(
        fn.kind, fn.name, fn.function_name, recording, fn.trigger_param
    )

    async def run() -> None:
        runner = UserCodeRunner(max_workers=4)
        with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
            engine = DurableEngine(
                registry, str(Path(scratch) / "state.db"), runner, "Floor", logging.getLogger("bench.floor")
            )
            await engine.start()
            try:
                instance_id = await engine.client.start_orchestration(orchestrator, None, json.dumps(input_value))
                status = await engine.client.wait_for_instance(instance_id, 30)
                assert status and status["runtimeStatus"] == "Completed", status
            finally:
                await engine.stop()
                runner.shutdown(wait=False)

    logging.getLogger("bench.floor").setLevel(logging.WARNING)
    asyncio.run(run())
    return requests, fn


def sdk_floor(
    app_dir: Path,
    orchestrator: str,
    input_value: object,
    repeats: int = 200,
    memoised: bool = True,
    idle_seconds: float = 0.0,
) -> Floor:
    """The floor of one orchestrator's episodes, measured one way (`time_requests`)."""
    requests, fn = capture_requests(app_dir, orchestrator, input_value)
    return time_requests(requests, fn, repeats, memoised, idle_seconds)


def time_requests(
    requests: list[str], fn: DurableFunction, repeats: int = 200, memoised: bool = True, idle_seconds: float = 0.0
) -> Floor:
    """Median time of the SDK's handle for each episode's request; `memoised` False times the SDK as shipped,
    True with the host's memos (then every timestamp is cached, a little below what the host pays: the new
    events of an episode are parsed once there). `idle_seconds` > 0: each timed call follows a sleep that long
    (a twentieth of the repeats, at least 5), as in the host; otherwise calls run back to back after a warm-up."""
    _use_memos(memoised)
    try:
        medians = []
        for request in requests:
            for _ in range(min(20, repeats)):
                fn.handler(request)
            samples = []
            for _ in range(repeats if idle_seconds <= 0 else max(5, repeats // 20)):
                if idle_seconds > 0:
                    time.sleep(idle_seconds)
                began = time.perf_counter()
                fn.handler(request)
                samples.append(time.perf_counter() - began)
            medians.append(statistics.median(samples) * 1000)
    finally:
        _use_memos(True)
    return Floor(medians)


def _use_memos(on: bool) -> None:
    for memo in (sdk_timestamps, sdk_executor_memo):
        if on:
            memo.install()
        else:
            memo.uninstall()
