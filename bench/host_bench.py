"""Benchmarks of the embedded Functions host, driven over real HTTP exactly as a notebook or `curl` would.

Each function starts nothing itself except where it says so: the caller hands in a running host's base URL
(see `bench.run_all`), so one host serves several measurements and its start-up cost is measured separately
(`cold_start_seconds`). Every wait is bounded by a deadline; a run that does not finish raises `BenchError`.

Orchestrations are started with the standard Durable HTTP API
(`POST /runtime/webhooks/durabletask/orchestrators/{name}`). Latency runs let the host wait for the result
(create-and-wait: `?timeout=&pollingInterval=`), so the answer arrives when the instance completes and no client
poll competes with the engine for the CPU; the agent runs and the throughput waiter poll the status URL (every
`LATENCY_POLL_INTERVAL`, 2 ms, and `POLL_INTERVAL`).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpers.durable_vocabulary import FINISHED_STATUSES
from helpers.processes import REPO_ROOT, free_port

BENCH_APP = Path(__file__).resolve().parent / "apps" / "durable_bench"
DURABLE = "/runtime/webhooks/durabletask"
POLL_INTERVAL = 0.01
LATENCY_POLL_INTERVAL = 0.002


class BenchError(RuntimeError):
    """A benchmark could not produce a figure (an orchestration failed or a deadline passed)."""


def http_client(timeout: float = 30.0) -> httpx.Client:
    # trust_env=False: a proxy configured in the environment must never see loopback traffic.
    return httpx.Client(timeout=timeout, trust_env=False)


# ------------------------------------------------------------------------------------------ orchestrations


def start_orchestration(client: httpx.Client, base_url: str, name: str, payload: Any) -> str:
    response = client.post(f"{base_url}{DURABLE}/orchestrators/{name}", json=payload)
    if response.status_code != 202:
        raise BenchError(f"starting {name} answered {response.status_code}: {response.text[:300]}")
    return response.json()["id"]


def wait_finished(
    client: httpx.Client, base_url: str, instance_id: str, deadline: float, poll_interval: float = POLL_INTERVAL
) -> dict[str, Any]:
    """Poll the instance status until it is finished; raise unless it Completed."""
    url = f"{base_url}{DURABLE}/instances/{instance_id}"
    while True:
        status = client.get(url).json()
        if status.get("runtimeStatus") in FINISHED_STATUSES:
            if status["runtimeStatus"] != "Completed":
                raise BenchError(f"{instance_id} ended {status['runtimeStatus']}: {status.get('output')}")
            return status
        if time.monotonic() > deadline:
            raise BenchError(f"{instance_id} still {status.get('runtimeStatus')} at the deadline")
        time.sleep(poll_interval)


@dataclass
class Run:
    """One orchestration from POST to observed Completed; wall-clock stamps line up with the host log."""

    instance_id: str
    seconds: float
    posted_at: float  # time.time()
    observed_at: float
    output: Any = None  # the orchestration's output


def run_to_completion(
    base_url: str, name: str, payload: Any, timeout: float = 60.0, poll_interval: float | None = None
) -> Run:
    """Start and wait. By default the host waits (`?timeout=&pollingInterval=` on the start route, the Durable
    API's create-and-wait): the answer comes the moment the instance completes and no poll competes with the
    engine. With `poll_interval` the client polls the status URL instead, as most apps do."""
    with http_client() as client:
        client.get(f"{base_url}/admin/host/status")  # open the connection outside the measurement
        posted_at, started = time.time(), time.perf_counter()
        if poll_interval is None:
            instance_id = uuid.uuid4().hex  # the client's id: a create-and-wait answers with the output only
            response = client.post(
                f"{base_url}{DURABLE}/orchestrators/{name}/{instance_id}",
                json=payload,
                params={"timeout": str(timeout), "pollingInterval": str(timeout)},
            )
            if response.status_code != 200:
                raise BenchError(
                    f"{name} did not complete within {timeout:.0f} s: {response.status_code} {response.text[:300]}"
                )
            seconds = time.perf_counter() - started
            output = response.json()
        else:
            instance_id = start_orchestration(client, base_url, name, payload)
            status = wait_finished(client, base_url, instance_id, time.monotonic() + timeout, poll_interval)
            seconds = time.perf_counter() - started
            output = status.get("output")
        return Run(instance_id, seconds, posted_at, posted_at + seconds, output)


@dataclass
class LatencyResult:
    run: Run
    ideal_seconds: float
    sleep_ms: int

    @property
    def seconds(self) -> float:
        return self.run.seconds

    @property
    def ratio(self) -> float:
        return self.run.seconds / self.ideal_seconds


def chain_latency(base_url: str, count: int = 10, sleep_ms: int = 200) -> LatencyResult:
    """N sleeping activities in sequence; ideal is N x sleep (the host adds nothing between steps)."""
    run = run_to_completion(
        base_url, "sleep_chain", {"count": count, "ms": sleep_ms}, timeout=30 + count * sleep_ms / 1000 * 3
    )
    return LatencyResult(run, count * sleep_ms / 1000, sleep_ms)


def step_gaps_ms(chain: LatencyResult) -> list[float]:
    """The host's steps between the chain's activities as the activities clock them: each one's start less the
    previous one's return (`sleep_ms` reports both), in milliseconds -- one episode and both hand-overs each."""
    ran = chain.run.output or []
    return [(after["began"] - before["ended"]) * 1000 for before, after in itertools.pairwise(ran)]


def fan_out_latency(base_url: str, count: int = 10, sleep_ms: int = 200) -> LatencyResult:
    """N sleeping activities at once (task_all); ideal is one sleep (they all run in parallel)."""
    run = run_to_completion(
        base_url, "sleep_fan_out", {"count": count, "ms": sleep_ms}, timeout=30 + count * sleep_ms / 1000 * 3
    )
    return LatencyResult(run, sleep_ms / 1000, sleep_ms)


def orchestrations_per_second(base_url: str, count: int, concurrency: int, timeout: float = 60.0) -> float:
    """`concurrency` HTTP clients start `count` 2-activity no-op chains; wait for all; completed per second.

    Waiting mirrors the durabletask baseline: one waiter, oldest instance first, so finished instances cost one
    status request each and the host is not flooded with polls of instances that cannot be done yet.
    """
    run_to_completion(base_url, "noop_chain_of_two", -1)  # warm-up: first SDK calls, connection set-up
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def start_one(i: int) -> str:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = http_client()
            with lock:
                clients.append(client)
        return start_orchestration(client, base_url, "noop_chain_of_two", i)

    deadline = time.monotonic() + timeout
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            instance_ids = list(pool.map(start_one, range(count)))
        with http_client() as waiter:
            for instance_id in instance_ids:
                wait_finished(waiter, base_url, instance_id, deadline)
        return count / (time.perf_counter() - started)
    finally:
        for client in clients:
            client.close()


# -------------------------------------------------------------------------------------------- cold start


def cold_start_seconds(
    app_dir: Path, env: Mapping[str, str] | None = None, state_db: Path | None = None, timeout: float = 60.0
) -> float:
    """Spawn `python -m helpers.host APP_DIR` and time until `GET /admin/host/status` answers 200 Running.

    Deliberately not `helpers.processes.start_host`: that polls every 50 ms, too coarse for this figure.
    The state file is fresh unless given, so schema creation is part of the measured start.
    """
    import tempfile

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        db = state_db or Path(scratch) / "state.sqlite3"
        log = Path(scratch) / "host.log"
        child_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        with open(log, "wb") as log_file:
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "helpers.host", str(app_dir), "--port", str(port), "--state-db", str(db)],
                cwd=REPO_ROOT,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}/admin/host/status"
            deadline = time.monotonic() + timeout
            with http_client(timeout=2.0) as client:
                while True:
                    if process.poll() is not None:
                        raise BenchError(
                            f"host for {app_dir} exited with {process.returncode}:\n"
                            f"{log.read_text(errors='replace')[-2000:]}"
                        )
                    try:
                        response = client.get(url)
                        if response.status_code == 200 and response.json().get("state") == "Running":
                            return time.perf_counter() - started
                    except httpx.HTTPError:
                        pass  # not listening yet
                    if time.monotonic() > deadline:
                        raise BenchError(f"host for {app_dir} not ready within {timeout:.0f}s")
                    time.sleep(0.005)
        finally:
            _stop(process)


def import_seconds(app_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> float:
    """A fresh interpreter that only imports the app (`python -c "import function_app"` in its folder)."""
    return _time_python(["-c", "import function_app"], app_dir, env, timeout)


def bare_python_seconds(timeout: float = 30.0) -> float:
    """Interpreter start-up alone (`python -c pass`): the floor under both figures above."""
    return _time_python(["-c", "pass"], REPO_ROOT, None, timeout)


def _time_python(args: list[str], cwd: Path, env: Mapping[str, str] | None, timeout: float) -> float:
    child_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise BenchError(
            f"`python {' '.join(args)}` in {cwd} failed:\n{result.stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
