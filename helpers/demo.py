"""`make demo` (`python -m helpers.demo`): run both sample orchestrations once, headless, and print the results.

What it does, with the same toolbox the notebooks use (`helpers.lab`):
1. Starts a kit: the model (the offline model, or yours with `LAB_MODEL=env` / `--model env`, checked with one
   call first), the model gateway and the embedded Functions host serving `functions_app/` unchanged, each on a
   free port, with fresh temp state.
2. Starts the single-agent chaining orchestration and the multi-agent concurrent orchestration through the app's
   own routes, polls their status routes with a progress bar, and prints what they returned and how the model
   calls were spread in time.
3. Stops everything it started, also on Ctrl-C or failure. The exit status is 0 only if both completed.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import httpx

from helpers import lab

DEFAULT_PROMPT = "What is temperature?"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="question for the physicist and the chemist")
    parser.add_argument(
        "--model",
        choices=lab.environment.MODEL_CHOICES,
        help="offline (default, or $LAB_MODEL) or env: the model your settings describe",
    )
    parser.add_argument("--offline", action="store_true", help="same as --model offline")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=500,
        help="offline model reply latency, to make the concurrency visible (default 500)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds to wait for each orchestration")
    return parser.parse_args(argv)


def run(kit: lab.Lab, title: str, start: Callable[[], httpx.Response], timeout: float | None) -> tuple[dict, float]:
    began = time.monotonic()
    response = start()
    if response.status_code != 202:
        raise lab.LabError(f"{title}: starting failed with HTTP {response.status_code}: {response.text}")
    status = lab.poll(response.json()["statusQueryGetUri"], desc=title, timeout=timeout, expect=None)
    return status, time.monotonic() - began


def show(title: str, status: dict[str, Any], seconds: float, lines: Callable[[Any], list[tuple[str, str]]]) -> None:
    state = status.get("runtimeStatus")
    print(f"\n== {title}: {state} in {seconds:.1f} s (instance {status.get('instanceId')})")
    output = status.get("output")
    for label, text in lines(output) if state == "Completed" else [("reason", str(output))]:
        print(textwrap.fill(text, width=100, initial_indent=f"   {label + ':':<11}", subsequent_indent=" " * 14))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = "offline" if args.offline else args.model
    try:
        kit = lab.start(model=model, latency_ms=args.latency_ms)
    except lab.LabError as error:
        print(f"Could not start the kit:\n{error}", file=sys.stderr)
        return 1
    with kit:
        print(f"Model: {kit.model.label} ({kit.model.description})")
        print(f"Host running at {kit.base_url}\n")
        http = httpx.Client(base_url=kit.base_url, timeout=30.0, trust_env=False)
        single, single_seconds = run(
            kit, "Single-agent chaining", lambda: http.post("/api/singleagent/run"), args.timeout
        )
        chain_calls = kit.model_calls()
        multi, multi_seconds = run(
            kit,
            "Multi-agent concurrency",
            lambda: http.post(
                "/api/multiagent/run",
                content=args.prompt.encode("utf-8"),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            ),
            args.timeout,
        )
        fan_out_calls = kit.model_calls(since=chain_calls[-1]["id"] if chain_calls else 0)
        http.close()

        show("Single-agent chaining", single, single_seconds, lambda output: [("writer", str(output))])
        show(
            "Multi-agent concurrency",
            multi,
            multi_seconds,
            lambda output: [
                ("prompt", args.prompt),
                ("physicist", str(output.get("physicist"))),
                ("chemist", str(output.get("chemist"))),
            ],
        )
        completed = single.get("runtimeStatus") == multi.get("runtimeStatus") == "Completed"
        print(
            f"\nAll answers came from {kit.model.label}"
            + (" (a deterministic scripted server, not a language model)." if kit.model.kind == "offline" else ".")
        )
        if completed and chain_calls and fan_out_calls:
            chain, fan_out = lab.overlap_summary(chain_calls), lab.overlap_summary(fan_out_calls)
            print(
                f"The chaining run made its {chain.calls} model calls one after the other (span {chain.span:.1f} s); "
                f"the concurrent run made its {fan_out.calls} at once (span {fan_out.span:.1f} s, "
                f"the longest call {fan_out.longest:.1f} s)."
            )
        if not completed:
            explanation = kit.explain_failure(single if single.get("runtimeStatus") != "Completed" else multi)
            if explanation:
                print(f"\n{explanation}", file=sys.stderr)
            print("\nHost log tail:\n" + "\n".join(kit.host_log()[-30:]), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the kit stops itself (context manager, atexit)
        sys.exit(130)
