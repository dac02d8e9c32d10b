"""Baseline for the throughput benchmark: durabletask's in-memory backend running the same orchestration shape.

`durabletask.testing.create_test_backend()` is Microsoft's in-process Durable Task sidecar for tests: a gRPC
server that keeps everything in memory (nothing survives a crash). We run the same 2-activity no-op chain on it,
started the same way (N concurrent clients), so the embedded host's figure has a side-by-side reference.

`python -m bench.durabletask_baseline --count 200 --concurrency 10` runs it in a process of its own (as the
embedded host has one) and prints `{"orchestrations_per_second": ...}` as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from durabletask import client as dt_client
from durabletask import task as dt_task
from durabletask import worker as dt_worker
from durabletask.testing import create_test_backend


def noop(ctx: dt_task.ActivityContext, value: int) -> int:
    return value


def chain_of_two(ctx: dt_task.OrchestrationContext, value: int):
    a = yield ctx.call_activity(noop, input=value)
    b = yield ctx.call_activity(noop, input=a)
    return b


def orchestrations_per_second(count: int, concurrency: int, port: int) -> float:
    """Start `count` chains from `concurrency` parallel clients, then wait for all; return completed per second.

    Waiting happens from one thread: the test backend serves gRPC from 10 threads, and every blocked
    `wait_for_orchestration_completion` holds one, so many concurrent waiters would starve the worker.
    """
    backend = create_test_backend(port=port)
    quiet = _quiet_logger()
    worker = dt_worker.TaskHubGrpcWorker(host_address=f"localhost:{port}", logger=quiet)
    worker.add_orchestrator(chain_of_two)
    worker.add_activity(noop)
    worker.start()
    client = dt_client.TaskHubGrpcClient(host_address=f"localhost:{port}", logger=quiet)
    try:

        def start_one(i: int) -> str:
            return client.schedule_new_orchestration(chain_of_two, input=i)

        def wait_for(instance_id: str) -> None:
            state = client.wait_for_orchestration_completion(instance_id, timeout=120)
            if state is None or state.runtime_status != dt_client.OrchestrationStatus.COMPLETED:
                raise RuntimeError(f"durabletask baseline: {instance_id} ended {state}")

        wait_for(start_one(-1))  # warm-up: gRPC channels, worker streams
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            instance_ids = list(pool.map(start_one, range(count)))
        for instance_id in instance_ids:
            wait_for(instance_id)
        return count / (time.perf_counter() - started)
    finally:
        worker.stop()
        backend.stop()


def _quiet_logger() -> logging.Logger:
    """Warnings only: by default worker and client make private INFO loggers that flood the output."""
    logger = logging.getLogger("durabletask-baseline")
    logger.setLevel(logging.WARNING)
    return logger


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.durabletask_baseline", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--port", type=int, default=0, help="gRPC port (default: a free one)")
    args = parser.parse_args(argv)
    if not args.port:
        from helpers.processes import free_port

        args.port = free_port()
    rate = orchestrations_per_second(args.count, args.concurrency, args.port)
    print(json.dumps({"orchestrations_per_second": rate, "count": args.count, "concurrency": args.concurrency}))


if __name__ == "__main__":
    main()
