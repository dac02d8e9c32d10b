"""The agent floor: the seed orchestrations' own work timed without the host, the anchor under the agent figures.

An agent orchestration cannot be faster than its agent entity operations -- agent-framework loading the
conversation, the openai client building the request, the model answering, the client reading the stream, the
entity storing the new conversation -- plus the durable SDK replaying the orchestrator once per episode. This
module measures both, in a process of its own, on the requests the host really sends:

1. it runs both seed orchestrations of `functions_app/` once on an in-process engine (scratch state file, the
   offline model answering at once) and records every request the engine hands the durable SDK;
2. it sets the offline model's latency to the benchmark's and calls the agent entities' SDK handles directly
   with the recorded operations: the writer's two one after the other (chaining), the physicist's and the
   chemist's at the same time from two threads (concurrency), each pattern `reps` times after an idle pause;
3. it times the SDK's orchestrator handle on each recorded episode after an idle wait (`bench.sdk_floor`), as
   the host calls it.

The benchmark prints operations + episodes beside the orchestrations' times; the difference is what the host
adds (the HTTP start, dispatching each operation, its own part of each episode, storing state) and the client's
polling.

    python -m bench.agent_floor --model-url URL --latency-ms 600 --reps 3   # prints one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from helpers.host.registry import DurableFunction, Registry

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_APP = REPO_ROOT / "functions_app"
ORCHESTRATIONS = {
    "single": ("single_agent_orchestration", None),
    "multi": ("multi_agent_concurrent_orchestration", "What is heat?"),
}


@dataclass
class Captured:
    operations: list[tuple[str, str]]  # (entity, request) in the order the engine sent them
    episodes: list[str]  # the orchestrator's requests, one per episode
    orchestrator: DurableFunction


def capture_requests(model_url: str) -> tuple[dict[str, Captured], Registry]:
    """Run each seed orchestration once on an in-process engine; per kind, the requests it sent the SDK."""
    from helpers.host.engine import DurableEngine
    from helpers.host.registry import DurableFunction, load_registry
    from helpers.host.user_code import UserCodeRunner
    from helpers.offline_settings import offline_host_env

    os.environ.update(offline_host_env(model_url, "floor"))
    registry = load_registry(FUNCTIONS_APP)
    originals = {**registry.entities, **registry.orchestrators}
    recorded: list[tuple[str, str]] = []
    for table in (registry.entities, registry.orchestrators):
        for key, fn in list(table.items()):

            def recording(request: str, _fn: DurableFunction = fn, _key: str = key) -> str:
                recorded.append((_key, request))
                return _fn.handler(request)

            table[key] = DurableFunction(fn.kind, fn.name, fn.function_name, recording, fn.trigger_param)

    async def run(orchestrator: str, input_value: object) -> None:
        runner = UserCodeRunner(max_workers=4)
        with tempfile.TemporaryDirectory(prefix="bench-agent-floor-") as scratch:
            engine = DurableEngine(
                registry, str(Path(scratch) / "state.db"), runner, "Floor", logging.getLogger("bench.agent_floor")
            )
            await engine.start()
            try:
                instance_id = await engine.client.start_orchestration(orchestrator, None, json.dumps(input_value))
                status = await engine.client.wait_for_instance(instance_id, 60)
                assert status and status["runtimeStatus"] == "Completed", status
            finally:
                await engine.stop()
                runner.shutdown(wait=False)

    logging.getLogger("bench.agent_floor").setLevel(logging.WARNING)
    captured: dict[str, Captured] = {}
    for kind, (orchestrator, input_value) in ORCHESTRATIONS.items():
        recorded.clear()
        asyncio.run(run(orchestrator, input_value))
        captured[kind] = Captured(
            operations=[(key, request) for key, request in recorded if key in registry.entities],
            episodes=[request for key, request in recorded if key == orchestrator],
            orchestrator=originals[orchestrator],
        )
    registry.entities.update({key: fn for key, fn in originals.items() if key in registry.entities})
    return captured, registry


def _set_latency(model_url: str, latency_ms: float) -> float:
    """Set the offline model's latency; returns the one it had."""
    with httpx.Client(timeout=10, trust_env=False) as client:
        before = client.get(f"{model_url}/admin/latency").raise_for_status().json()["latency_ms"]
        client.post(f"{model_url}/admin/latency", json={"latency_ms": latency_ms}).raise_for_status()
    return before


def _call(registry, entity: str, request: str) -> None:
    response = json.loads(registry.entities[entity].handler(request))
    outcome = (response.get("results") or [{}])[0]
    if outcome.get("isError") or '"error"' in str(outcome.get("result", ""))[:200]:
        raise RuntimeError(f"{entity} failed in the floor run: {str(outcome)[:300]}")


def time_chaining(registry, requests: list[tuple[str, str]]) -> float:
    began = time.perf_counter()
    for entity, request in requests:
        _call(registry, entity, request)
    return time.perf_counter() - began


def time_concurrency(registry, requests: list[tuple[str, str]]) -> float:
    errors: list[BaseException] = []

    def one(entity: str, request: str) -> None:
        try:
            _call(registry, entity, request)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=pair) for pair in requests]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


def agent_floor(model_url: str, latency_ms: float, reps: int, idle_seconds: float = 0.05) -> dict[str, object]:
    """Per kind: the agent operations' seconds in each repetition and their median, and the SDK's time for each
    of the orchestration's episodes after an idle wait (`bench.sdk_floor.time_requests`, as for the chain)."""
    from bench.sdk_floor import time_requests

    before = _set_latency(model_url, 0)
    captured, registry = capture_requests(model_url)
    _set_latency(model_url, latency_ms)
    timers = {"single": time_chaining, "multi": time_concurrency}
    result: dict[str, object] = {}
    try:
        for kind, run in captured.items():
            timers[kind](registry, run.operations)  # warm-up at this latency
            samples = []
            for _ in range(reps):
                time.sleep(latency_ms / 1000)
                samples.append(timers[kind](registry, run.operations))
            episodes = time_requests(run.episodes, run.orchestrator, repeats=100, idle_seconds=idle_seconds)
            result[kind] = {
                "operations": [entity for entity, _ in run.operations],
                "seconds": samples,
                "median_seconds": statistics.median(samples),
                "episode_sdk_ms": [round(ms, 3) for ms in episodes.per_episode_ms],
            }
    finally:
        _set_latency(model_url, before)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-url", required=True, help="a running offline model (its latency is changed)")
    parser.add_argument("--latency-ms", type=float, required=True)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(agent_floor(args.model_url, args.latency_ms, args.reps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
