"""Baseline for the throughput benchmark: durabletask's in-memory backend running the same orchestration shape.

`durabletask.testing.create_test_backend()` is Microsoft's in-process Durable Task sidecar for tests: a gRPC
server that keeps everything in memory (nothing survives a crash). We run the same 2-activity no-op chain on it,
started the same way (N concurrent clients), so the embedded host's figure has a side-by-side reference.
"""
from __future__ import annotations

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
    logging.getLogger("durabletask-client").setLevel(logging.WARNING)
    logging.getLogger("durabletask-worker").setLevel(logging.WARNING)
    backend = create_test_backend(port=port)
    worker = dt_worker.TaskHubGrpcWorker(host_address=f"localhost:{port}")
    worker.add_orchestrator(chain_of_two)
    worker.add_activity(noop)
    worker.start()
    client = dt_client.TaskHubGrpcClient(host_address=f"localhost:{port}")
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
