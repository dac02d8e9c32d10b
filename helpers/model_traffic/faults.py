"""Failure injection: make chosen model calls fail so notebooks can teach retries and error handling.

Rules are checked in this order for each model call (counted from when the rules were last set):
1. `fail_first`     — the first N calls fail with `fail_status`;
2. `timeout_every`  — every K-th call stalls for `timeout_seconds`, then answers 504;
3. `fail_every`     — every K-th call fails with `fail_status`;
4. `fail_rate`      — each remaining call fails with this probability (seeded, so runs repeat).
A 429 carries `Retry-After` (seconds) and `retry-after-ms`; the openai client honours both.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from .openai_errors import error_body

MAX_STALL_SECONDS = 600  # as the offline model's latency: ten minutes
MAX_RETRY_AFTER_SECONDS = 3600


class FaultConfigError(ValueError):
    """A fault setting is out of range or unknown (HTTP 400 from the admin API)."""


@dataclass(frozen=True)
class FaultConfig:
    fail_rate: float = 0.0
    fail_status: int = 429
    fail_first: int = 0
    fail_every: int = 0
    timeout_every: int = 0
    timeout_seconds: float = 10.0
    retry_after_seconds: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        # NaN and infinity (Python's json reads both) fail every range check below: a stall or Retry-After
        # that long would only make a call hang, or fail when the header is written.
        if not 0.0 <= self.fail_rate <= 1.0:
            raise FaultConfigError("fail_rate must be between 0 and 1.")
        if not 400 <= self.fail_status <= 599:
            raise FaultConfigError("fail_status must be an HTTP error status (400-599), e.g. 429 or 500.")
        for name in ("fail_first", "fail_every", "timeout_every"):
            if getattr(self, name) < 0:
                raise FaultConfigError(f"{name} must be >= 0.")
        if not 0 <= self.timeout_seconds <= MAX_STALL_SECONDS:
            raise FaultConfigError(f"timeout_seconds must be between 0 and {MAX_STALL_SECONDS}.")
        if not 0 <= self.retry_after_seconds <= MAX_RETRY_AFTER_SECONDS:
            raise FaultConfigError(f"retry_after_seconds must be between 0 and {MAX_RETRY_AFTER_SECONDS}.")

    @property
    def active(self) -> bool:
        return bool(self.fail_rate or self.fail_first or self.fail_every or self.timeout_every)

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Settings from a JSON object; omitted keys take their defaults (so `{}` switches faults off)."""
        if not isinstance(data, dict):
            raise FaultConfigError("Fault settings must be a JSON object.")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise FaultConfigError(f"Unknown fault setting(s): {', '.join(unknown)}. Known: {', '.join(known)}.")
        values: dict[str, Any] = {}
        for name, value in data.items():
            wants_int = known[name] == "int"
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (wants_int and not float(value).is_integer())
            ):
                raise FaultConfigError(f"{name} must be {'an integer' if wants_int else 'a number'}.")
            values[name] = int(value) if wants_int else float(value)
        return cls(**values)


@dataclass(frozen=True)
class Fault:
    kind: Literal["status", "timeout"]
    status: int
    rule: str


class FaultInjector:
    """Decides, call by call, whether to inject a fault; remembers what it injected."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.injected: Counter[str] = Counter()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self.calls_seen = 0
        self._random = random.Random(config.seed)

    def decide(self) -> Fault | None:
        self.calls_seen += 1
        n, c = self.calls_seen, self.config
        fault: Fault | None = None
        if n <= c.fail_first:
            fault = Fault("status", c.fail_status, "fail_first")
        elif c.timeout_every and n % c.timeout_every == 0:
            fault = Fault("timeout", 504, "timeout_every")
        elif c.fail_every and n % c.fail_every == 0:
            fault = Fault("status", c.fail_status, "fail_every")
        elif c.fail_rate and self._random.random() < c.fail_rate:
            fault = Fault("status", c.fail_status, "fail_rate")
        if fault:
            self.injected[str(fault.status)] += 1
            self.injected["total"] += 1
        return fault

    def describe(self) -> dict[str, Any]:
        return {**asdict(self.config), "active": self.config.active, "calls_since_configured": self.calls_seen}


@dataclass(frozen=True)
class FaultAnswer:
    """What to answer for an injected fault: wait `stall_seconds`, then send `status` with `body`."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    stall_seconds: float = 0.0


def fault_answer(fault: Fault, config: FaultConfig, call_number: int, *, source: str) -> FaultAnswer:
    """The OpenAI-shaped error for `fault`; `source` names who injected it (shown in the message).

    Shared by the offline model and the kit's model gateway, so an injected fault looks the same whichever
    of the two injected it.
    """
    if fault.kind == "timeout":
        body = error_body(
            f"[{source}] Injected timeout on call {call_number} (rule {fault.rule}).", "timeout", "timeout"
        )
        return FaultAnswer(504, body, {}, stall_seconds=config.timeout_seconds)
    if fault.status == 429:
        headers = {
            "Retry-After": str(max(round(config.retry_after_seconds), 0)),
            "retry-after-ms": str(round(config.retry_after_seconds * 1000)),
        }
        message = (
            f"[{source}] Injected rate limit on call {call_number} (rule {fault.rule}). "
            f"Retry after {config.retry_after_seconds:g} s."
        )
        return FaultAnswer(429, error_body(message, "rate_limit_error", "rate_limit_exceeded"), headers)
    kind = "server_error" if fault.status >= 500 else "invalid_request_error"
    message = f"[{source}] Injected error {fault.status} on call {call_number} (rule {fault.rule})."
    return FaultAnswer(fault.status, error_body(message, kind, kind), {})
