"""`python -m helpers.offline_model [--port N] [--host 127.0.0.1] [--latency-ms MS] [fault options]`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from ..model_traffic.faults import FaultConfig, FaultConfigError
from ..parent_watch import stop_when_parent_exits
from .remote import RemoteRules
from .server import create_app

DEFAULT_PORT = 8765


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.offline_model",
        description="Deterministic OpenAI-compatible model server for offline runs (a scripted responder, not an LLM).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="delay per model call; streams wait half before the first event, half across deltas",
    )
    faults = parser.add_argument_group("failure injection (also settable at runtime: POST /admin/faults)")
    faults.add_argument("--fail-rate", type=float, default=0.0, help="probability (0-1) that a call fails")
    faults.add_argument("--fail-status", type=int, default=429, help="HTTP status of injected failures (e.g. 429, 500)")
    faults.add_argument("--fail-first", type=int, default=0, help="fail the first N calls")
    faults.add_argument("--fail-every", type=int, default=0, help="fail every N-th call")
    faults.add_argument("--timeout-every", type=int, default=0, help="every N-th call stalls, then answers 504")
    faults.add_argument("--timeout-seconds", type=float, default=10.0, help="how long a timed-out call stalls")
    faults.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    faults.add_argument("--seed", type=int, default=0, help="seed for --fail-rate, so runs repeat")
    remote = parser.add_argument_group("posing as a remote backend (the default accepts any key and model)")
    remote.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accept only this key (api-key header or Bearer token); repeat for several; "
        "others get 401 as from Azure OpenAI / OpenAI",
    )
    remote.add_argument(
        "--models",
        default="",
        metavar="A,B",
        help="serve only these deployment / model names; others get 404 as from the real services",
    )
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_when_parent_exits()
    try:
        faults = FaultConfig(
            fail_rate=args.fail_rate,
            fail_status=args.fail_status,
            fail_first=args.fail_first,
            fail_every=args.fail_every,
            timeout_every=args.timeout_every,
            timeout_seconds=args.timeout_seconds,
            retry_after_seconds=args.retry_after,
            seed=args.seed,
        )
    except FaultConfigError as exc:
        print(f"offline model: {exc}", file=sys.stderr)
        return 2
    if args.latency_ms < 0:
        print("offline model: --latency-ms must be >= 0", file=sys.stderr)
        return 2
    models = frozenset(name.strip() for name in args.models.split(",") if name.strip())
    app = create_app(
        latency_ms=args.latency_ms, faults=faults, remote=RemoteRules(api_keys=frozenset(args.api_key), models=models)
    )
    print(f"offline model (scripted, not an LLM) on http://{args.host}:{args.port}", flush=True)
    # The access log shows method, path and status only — never headers, so keys are not logged.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
