"""Agent orchestrations of `functions_app/` against the offline model with a fixed model latency.

The kit's two seed orchestrations, each run two ways:
- **awaited by the host** (the target figure): started with the Durable HTTP API's create-and-wait
  (`POST .../orchestrators/{name}/{id}?timeout=&pollingInterval=`), which answers the moment the instance
  completes -- as the chain and fan-out figures are measured, so no client poll sits between the orchestration's
  end and the clock;
- **through the app's own routes** (reported beside it): `POST /api/singleagent/run` (or `multiagent/run`), then
  the status polled through the Durable HTTP API every `POLL_INTERVAL` (5 ms), as a notebook does -- this adds
  the app's HTTP starter and on average half a polling interval.

The orchestrations:
- single-agent chaining: the writer agent is called twice, one call after the other -- ideal 2 x latency;
- multi-agent concurrency: physicist and chemist agents at once (task_all) -- ideal 1 x latency.
Everything above the ideal is the host, the entity and agent-framework plumbing, and the model server's own
work per call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.host_bench import BenchError, http_client, run_to_completion, wait_finished

# kind: (the app's start route, the orchestrator, its input, model calls on the critical path)
KINDS = {
    "single": ("/api/singleagent/run", "single_agent_orchestration", None, 2),
    "multi": ("/api/multiagent/run", "multi_agent_concurrent_orchestration", "What is heat?", 1),
}
WAYS = ("host", "app")  # awaited by the host (create-and-wait) / the app's routes and polling
POLL_INTERVAL = 0.005


@dataclass
class AgentRun:
    kind: str
    way: str  # "host" or "app" (see the module docstring)
    seconds: float
    latency_seconds: float
    instance_id: str = ""
    posted_at: float = 0.0  # wall clock (time.time()), to place the run in the host's log
    observed_at: float = 0.0

    @property
    def ratio(self) -> float:
        """Time over one model latency (ideal: 2.0 for chaining, 1.0 for concurrency)."""
        return self.seconds / self.latency_seconds


def run_agent_orchestration(
    base_url: str, kind: str, latency_ms: int, way: str = "host", timeout: float = 60.0
) -> AgentRun:
    route, orchestrator, prompt, _ = KINDS[kind]
    if way == "host":  # as the chain: create-and-wait on the Durable HTTP API
        run = run_to_completion(base_url, orchestrator, prompt, timeout)
        return AgentRun(kind, way, run.seconds, latency_ms / 1000, run.instance_id, run.posted_at, run.observed_at)
    with http_client() as client:
        client.get(f"{base_url}/admin/host/status")  # open the connection outside the measurement
        posted_at, began = time.time(), time.perf_counter()
        if prompt is None:
            response = client.post(f"{base_url}{route}")
        else:
            response = client.post(
                f"{base_url}{route}", content=prompt.encode(), headers={"Content-Type": "text/plain"}
            )
        if response.status_code != 202:
            raise BenchError(
                f"starting the {kind}-agent orchestration answered {response.status_code}: {response.text[:300]}"
            )
        instance_id = response.json()["instanceId"]
        wait_finished(client, base_url, instance_id, time.monotonic() + timeout, POLL_INTERVAL)
        seconds = time.perf_counter() - began
        return AgentRun(kind, way, seconds, latency_ms / 1000, instance_id, posted_at, posted_at + seconds)


def ideal_ratio(kind: str) -> float:
    return float(KINDS[kind][3])
