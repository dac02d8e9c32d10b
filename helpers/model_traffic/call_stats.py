"""Counters and a timeline of model calls, served at `GET /stats`.

A notebook uses them to count how many times an agent really called the model (retries and replays
included) and to draw when each call ran — overlapping bars are concurrent agents. Timestamps are
`time.time()` seconds so they line up with timings taken in the notebook.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

RECENT_CALLS_KEPT = 500


@dataclass
class CallRecord:
    id: int
    route: str
    api: str
    path: str
    start: float
    model: str | None = None
    stream: bool = False
    structured: bool = False
    input_messages: int = 0
    user_turns: int = 0
    persona: str | None = None
    end: float | None = None
    duration_ms: float | None = None
    status: int | None = None
    fault: str | None = None
    reply_preview: str | None = None
    # Filled by the kit's model gateway, which records calls to any backend with the same class.
    agent: str | None = None  # the agent's name, when the request carries it
    instructions_digest: str | None = None  # same digest = same system instructions = same agent
    response_model: str | None = None  # the model that answered, as the response names it
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_byte_ms: float | None = None  # time to the first byte of the answer (first token, when streamed)
    error: str | None = None  # the backend's error message (secrets removed), for failed calls


class CallStats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.by_route: Counter[str] = Counter()
        self.by_api: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.streamed = 0
        self.structured = 0
        self.in_flight = getattr(self, "in_flight", 0)  # calls still running survive a reset
        self.max_in_flight = self.in_flight
        self.recent: deque[CallRecord] = deque(maxlen=RECENT_CALLS_KEPT)
        self.reset_at = time.time()

    def start(self, route: str, api: str, path: str) -> CallRecord:
        self.calls += 1
        self.by_route[route] += 1
        self.by_api[api] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        record = CallRecord(id=self.calls, route=route, api=api, path=path, start=time.time())
        self.recent.append(record)
        return record

    def finish(
        self,
        record: CallRecord,
        status: int,
        fault: str | None = None,
        reply: str | None = None,
        error: str | None = None,
    ) -> None:
        if record.end is not None:  # a streamed call may be finished by both the stream and its clean-up
            return
        record.error = error
        record.end = time.time()
        record.duration_ms = round((record.end - record.start) * 1000, 1)
        record.status = status
        record.fault = fault
        record.reply_preview = reply[:80] if reply else None
        self.by_status[str(status)] += 1
        self.streamed += record.stream and status == 200
        self.structured += record.structured and status == 200
        self.in_flight -= 1

    def snapshot(
        self,
        faults_injected: dict[str, int],
        limit: int = RECENT_CALLS_KEPT,
        server: str = "offline model (scripted responder, not an LLM)",
    ) -> dict[str, Any]:
        recent = list(self.recent)[-limit:] if limit > 0 else []
        return {
            "server": server,
            "calls": self.calls,
            "completed": self.by_status.get("200", 0),
            "failed": sum(n for status, n in self.by_status.items() if status != "200"),
            "by_route": dict(self.by_route),
            "by_api": dict(self.by_api),
            "by_status": dict(self.by_status),
            "streamed": self.streamed,
            "structured": self.structured,
            "faults_injected": faults_injected,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "since": self.reset_at,
            "recent_calls": [asdict(r) for r in recent],
        }
