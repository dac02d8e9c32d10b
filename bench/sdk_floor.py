"""The durable SDK's own cost for the episodes of a chain: the floor under the host's per-episode cost.

An episode cannot be cheaper than the SDK replaying it: `handle(request)` parses the history (a date parse per
event), replays the generator and encodes the actions. This module measures exactly that, in this process: it
records the requests the engine sends the SDK for one chain of the benchmark app (an engine on a scratch state
file, activities that return at once), then times the SDK's handle on each request alone -- twice: as shipped,
and with the host's timestamp memo (helpers/host/engine/sdk_timestamps.py), which is what the host pays. The
benchmark sets the host's measured per-episode time beside the latter; the difference is the host's own cost.
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

from helpers.host.engine import DurableEngine, sdk_timestamps
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

    registry.orchestrators[orchestrator.lower()] = DurableFunction(fn.kind, fn.name, fn.function_name, recording,
                                                                   fn.trigger_param)

    async def run() -> None:
        runner = UserCodeRunner(max_workers=4)
        with tempfile.TemporaryDirectory(prefix="bench-floor-") as scratch:
            engine = DurableEngine(registry, str(Path(scratch) / "state.db"), runner, "Floor",
                                   logging.getLogger("bench.floor"))
            await engine.start()
            try:
                instance_id = await engine.start_orchestration(orchestrator, None, json.dumps(input_value))
                status = await engine.wait_for_instance(instance_id, 30)
                assert status and status["runtimeStatus"] == "Completed", status
            finally:
                await engine.stop()
                runner.shutdown(wait=False)

    logging.getLogger("bench.floor").setLevel(logging.WARNING)
    asyncio.run(run())
    return requests, fn


def sdk_floor(app_dir: Path, orchestrator: str, input_value: object, repeats: int = 200,
              memoised: bool = True) -> Floor:
    """Median time of the SDK's handle for each episode's request (warmed up first); `memoised` False times the
    SDK as shipped, True with the host's timestamp memo (then every timestamp is cached, a little below what the
    host pays: the new events of an episode are parsed once there)."""
    requests, fn = capture_requests(app_dir, orchestrator, input_value)
    if memoised:
        sdk_timestamps.install()
    else:
        sdk_timestamps.uninstall()
    try:
        medians = []
        for request in requests:
            for _ in range(20):
                fn.handler(request)
            samples = []
            for _ in range(repeats):
                began = time.perf_counter()
                fn.handler(request)
                samples.append(time.perf_counter() - began)
            medians.append(statistics.median(samples) * 1000)
    finally:
        sdk_timestamps.install()
    return Floor(medians)
