"""Run both orchestrations of `functions_app/` through their HTTP routes and wait for them to finish.

Plain HTTP, so the same function talks to the rehearsal's local host (no key) and to the app in Azure (its
routes use the FUNCTION auth level there, so `function_key` goes in the `x-functions-key` header).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from ..durable_vocabulary import FINISHED_STATUSES

DEFAULT_PROMPT = "What is temperature?"
# (what it is, start route, whether the route takes the prompt as its text/plain body)
ORCHESTRATIONS = (
    ("single-agent chaining", "/api/singleagent/run", False),
    ("multi-agent concurrency", "/api/multiagent/run", True),
)


@dataclass(frozen=True)
class RunResult:
    """How one orchestration went: its final status (or why there is none) and its output."""

    name: str
    route: str
    runtime_status: str  # Completed, Failed, ..., or a short reason when it never got one
    output: Any = None
    instance_id: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.runtime_status == "Completed"


def run_orchestrations(
    base_url: str,
    *,
    function_key: str | None = None,
    prompt: str = DEFAULT_PROMPT,
    timeout: float = 60.0,
    poll_seconds: float = 0.2,
) -> list[RunResult]:
    """Start the chaining and the concurrency orchestration at `base_url`, poll each status route until it ends.

    Both are started before either is waited for, as two clients would. Never raises for an answer the app
    gives: a refused start or a status that never ends is reported in `runtime_status`.
    """
    headers = {"x-functions-key": function_key} if function_key else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0, trust_env=False) as client:
        started = [
            _start(client, name, route, prompt if with_prompt else None) for name, route, with_prompt in ORCHESTRATIONS
        ]
        return [_wait(client, run, timeout, poll_seconds) for run in started]


def _start(client: httpx.Client, name: str, route: str, prompt: str | None) -> tuple[RunResult, str | None, float]:
    began = time.monotonic()
    try:
        if prompt is None:
            answer = client.post(route)
        else:
            answer = client.post(route, content=prompt.encode(), headers={"Content-Type": "text/plain"})
    except httpx.HTTPError as error:
        return RunResult(name, route, f"could not start: {type(error).__name__}: {error}"), None, began
    if answer.status_code != 202:
        return RunResult(name, route, f"start answered {answer.status_code}: {answer.text[:300]}"), None, began
    body = answer.json()
    return RunResult(name, route, "Pending", instance_id=body.get("instanceId")), body.get("statusQueryGetUri"), began


def _wait(
    client: httpx.Client, run: tuple[RunResult, str | None, float], timeout: float, poll_seconds: float
) -> RunResult:
    result, status_url, began = run
    if status_url is None:
        return result
    deadline = began + timeout
    status: dict[str, Any] = {}
    while True:
        try:
            status = client.get(status_url).json()
        except (httpx.HTTPError, ValueError) as error:
            return _done(result, f"status route failed: {type(error).__name__}: {error}", None, began)
        state = str(status.get("runtimeStatus"))
        if state in FINISHED_STATUSES:
            return _done(result, state, status.get("output"), began)
        if time.monotonic() > deadline:
            return _done(result, f"still {state} after {timeout:.0f} s", status.get("output"), began)
        time.sleep(poll_seconds)


def _done(result: RunResult, state: str, output: Any, began: float) -> RunResult:
    return RunResult(result.name, result.route, state, output, result.instance_id, time.monotonic() - began)
