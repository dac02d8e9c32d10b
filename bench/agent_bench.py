"""Agent orchestrations of `functions_app/` against the offline model with a fixed model latency.

The kit's two seed orchestrations, started through the app's own routes and awaited through the Durable HTTP
API (polled every `POLL_INTERVAL`, 5 ms: at most 0.8% of one 600 ms model call late, and few enough requests not to
compete with the host):
- single-agent chaining: the writer agent is called twice, one call after the other -- ideal 2 x latency;
- multi-agent concurrency: physicist and chemist agents at once (task_all) -- ideal 1 x latency.
Everything above the ideal is the host, the entity and agent-framework plumbing, and the model server's own
work per call.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from bench.host_bench import BenchError, http_client, wait_finished

KINDS = {"single": ("/api/singleagent/run", 2), "multi": ("/api/multiagent/run", 1)}
POLL_INTERVAL = 0.005


@dataclass
class AgentRun:
    kind: str
    seconds: float
    latency_seconds: float
    instance_id: str = ""
    posted_at: float = 0.0  # wall clock (time.time()), to place the run in the host's log
    observed_at: float = 0.0

    @property
    def ratio(self) -> float:
        """Time over one model latency (ideal: 2.0 for chaining, 1.0 for concurrency)."""
        return self.seconds / self.latency_seconds


def run_agent_orchestration(base_url: str, kind: str, latency_ms: int, timeout: float = 60.0) -> AgentRun:
    route, _ = KINDS[kind]
    with http_client() as client:
        client.get(f"{base_url}/admin/host/status")  # open the connection outside the measurement
        posted_at, began = time.time(), time.perf_counter()
        if kind == "single":
            response = client.post(f"{base_url}{route}")
        else:
            response = client.post(f"{base_url}{route}", content=b"What is heat?",
                                   headers={"Content-Type": "text/plain"})
        if response.status_code != 202:
            raise BenchError(f"starting the {kind}-agent orchestration answered {response.status_code}: "
                             f"{response.text[:300]}")
        instance_id = response.json()["instanceId"]
        wait_finished(client, base_url, instance_id, time.monotonic() + timeout, POLL_INTERVAL)
        seconds = time.perf_counter() - began
        return AgentRun(kind, seconds, latency_ms / 1000, instance_id, posted_at, posted_at + seconds)


def ideal_ratio(kind: str) -> float:
    return float(KINDS[kind][1])
