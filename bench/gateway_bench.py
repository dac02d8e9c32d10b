"""What the model gateway costs per call: the same chat completions, direct to the backend and through the gateway.

    python -m bench.gateway_bench [--calls 200]

The backend is the offline model with no latency, so the figure is the gateway's own cost (one more loopback
hop, reading the request, relaying the answer and keeping the record), not the model's. Calls alternate
direct / through the gateway in one run, so machine noise hits both sides alike; the result is the difference
of the medians (ms per call) and their ratio, for a streamed and a plain call. Target: at most 2 ms per call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from openai import AzureOpenAI

from helpers import processes

TARGET_MS = 2.0
MESSAGES = [
    {"role": "system", "content": "You refine short pieces of text."},
    {"role": "user", "content": "Write a concise inspirational sentence about learning."},
]


def one_call(client: AzureOpenAI, stream: bool) -> float:
    began = time.perf_counter()
    if stream:
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
            pass
    else:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    return (time.perf_counter() - began) * 1000


def measure(calls: int) -> dict[str, dict[str, float]]:
    model = processes.start_offline_model(latency_ms=0)
    gateway = processes.start_model_gateway(model.url, label="the offline model")
    try:
        clients = {
            name: AzureOpenAI(azure_endpoint=url, api_key="bench", api_version="2024-12-01-preview", max_retries=0)
            for name, url in (("direct", model.url), ("gateway", gateway.url))
        }
        results: dict[str, dict[str, float]] = {}
        for stream in (True, False):
            times: dict[str, list[float]] = {"direct": [], "gateway": []}
            for _ in range(20):  # warm both paths: connections, imports, caches
                for client in clients.values():
                    one_call(client, stream)
            for number in range(calls):
                order = ("direct", "gateway") if number % 2 else ("gateway", "direct")
                for name in order:
                    times[name].append(one_call(clients[name], stream))
            direct, through = statistics.median(times["direct"]), statistics.median(times["gateway"])
            results["streamed" if stream else "plain"] = {
                "direct_ms": round(direct, 3),
                "gateway_ms": round(through, 3),
                "extra_ms": round(through - direct, 3),
                "ratio": round(through / direct, 3),
            }
        return results
    finally:
        gateway.stop()
        model.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per path and kind (after 20 warm-up calls)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results = measure(args.calls)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"model gateway, {args.calls} calls per path (median ms per call; offline model with no latency)")
    for kind, figures in results.items():
        verdict = "ok" if figures["extra_ms"] <= TARGET_MS else f"over the {TARGET_MS:g} ms target"
        print(
            f"  {kind:<9} direct {figures['direct_ms']:7.2f}  through the gateway {figures['gateway_ms']:7.2f}"
            f"  extra {figures['extra_ms']:5.2f} ms ({figures['ratio']:.2f}x)  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
