"""`python -m bench.run_all` (`make bench`): the embedded host's benchmarks, printed side by side in one run.

Every figure is a ratio or a side-by-side comparison made in the same run on the same machine, so the
targets hold on any laptop (absolute times do not). Figures are medians of a few repetitions. The whole run
is bounded (about a minute and a half on 2 cores) and stops every process it starts.

    figure                      what it compares                                    target
    chain latency               POST -> Completed  /  N x activity sleep            <= 1.05
    fan-out latency             POST -> Completed  /  one activity sleep            <= 1.10
    throughput                  2-activity chains/s, ours / durabletask in-memory   >= 1.0
    cold start                  spawn -> /admin/host/status 200, vs importing the app alone   (reported)

Results go to the terminal and to `bench/results/host-<timestamp>.json`. For the two latency figures the
median run is also split into phases from the host's own log (`bench.host_timeline`), so a miss says where
the time went.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from bench import host_bench
from bench.host_timeline import timeline
from helpers.processes import REPO_ROOT, Service, start_host

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FUNCTIONS_APP = REPO_ROOT / "functions_app"
# Enough for functions_app to import and index: its model client is built but never called.
FUNCTIONS_APP_ENV = {
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:1",
    "AZURE_OPENAI_API_KEY": "offline",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "gpt-4o-mini",
    "TASKHUB_NAME": "bench",
}
BASELINE_TIMEOUT = 90.0


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str  # e.g. "<= 1.05"; "" = reported only
    samples: list[float] = field(default_factory=list)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "SKIP"
        if not self.target:
            return "info"
        op, bound = self.target.split()
        ok = self.value <= float(bound) if op == "<=" else self.value >= float(bound)
        return "PASS" if ok else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


@dataclass
class Options:
    chain_count: int = 10
    sleep_ms: int = 200
    latency_reps: int = 3
    fan_out_reps: int = 5
    throughput_count: int = 200
    concurrency: int = 10
    throughput_reps: int = 3
    cold_reps: int = 3
    results_dir: Path = RESULTS_DIR


# ------------------------------------------------------------------------------------------------ figures


def _median_run(results: list[host_bench.LatencyResult]) -> host_bench.LatencyResult:
    return sorted(results, key=lambda r: r.ratio)[len(results) // 2]


def _latency_figure(name: str, target: str, results: list[host_bench.LatencyResult], host: Service,
                    unit_note: str) -> Figure:
    median = _median_run(results)
    details: dict[str, Any] = {"median_seconds": median.seconds, "ideal_seconds": median.ideal_seconds}
    try:
        split = timeline(host.log_text(), median.run.instance_id, median.run.posted_at, median.run.observed_at,
                         median.sleep_ms)
        details["timeline_of_median_run"] = split.as_dict()
        # The same ratio without the client's polling: POST -> the host logging Completed.
        details["host_side_ratio"] = (median.seconds - split.completed_to_observed_ms / 1000) / median.ideal_seconds
    except ValueError as error:  # the host's log format changed: the figure stands, the split is missing
        details["timeline_error"] = str(error)
    return Figure(name, statistics.median(r.ratio for r in results), "x", target,
                  [round(r.ratio, 4) for r in results], unit_note, details)


def bench_chain(host: Service, count: int, sleep_ms: int, reps: int) -> Figure:
    results = [host_bench.chain_latency(host.url, count, sleep_ms) for _ in range(reps)]
    return _latency_figure(f"chain of {count} x {sleep_ms} ms: time / ideal", "<= 1.05", results, host,
                           f"ideal {count * sleep_ms} ms")


def bench_fan_out(host: Service, count: int, sleep_ms: int, reps: int) -> Figure:
    results = [host_bench.fan_out_latency(host.url, count, sleep_ms) for _ in range(reps)]
    return _latency_figure(f"fan-out of {count} x {sleep_ms} ms: time / ideal", "<= 1.10", results, host,
                           f"ideal {sleep_ms} ms")


def baseline_orchestrations_per_second(count: int, concurrency: int) -> float:
    """durabletask's in-memory backend in a process of its own (as our host has one); quiet unless it fails."""
    env = {**os.environ, "GRPC_VERBOSITY": "ERROR", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bench.durabletask_baseline", "--count", str(count), "--concurrency", str(concurrency)],
        cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=BASELINE_TIMEOUT,
    )
    lines = result.stdout.decode().strip().splitlines()
    if result.returncode != 0 or not lines:
        raise host_bench.BenchError(f"durabletask baseline failed ({result.returncode}):\n"
                                    f"{result.stderr.decode(errors='replace')[-2000:]}")
    return float(json.loads(lines[-1])["orchestrations_per_second"])


def bench_throughput(host: Service, count: int, concurrency: int, reps: int) -> list[Figure]:
    """Ours and theirs alternate, so a slow moment of the machine hits both sides alike."""
    ours, theirs = [], []
    for _ in range(reps):
        ours.append(host_bench.orchestrations_per_second(host.url, count, concurrency))
        theirs.append(baseline_orchestrations_per_second(count, concurrency))
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    shape = f"{count} x 2-activity no-op chain, {concurrency} HTTP clients"
    return [
        Figure("throughput, embedded host (SQLite)", ours_median, "orch/s", "", [round(v, 1) for v in ours], shape),
        Figure("throughput, durabletask in-memory", theirs_median, "orch/s", "", [round(v, 1) for v in theirs],
               f"{count} x same chain, {concurrency} gRPC clients"),
        Figure("throughput: ours / durabletask", ours_median / theirs_median, "x", ">= 1.0",
               [round(a / b, 3) for a, b in zip(ours, theirs)], "durable (SQLite WAL) vs in-memory"),
    ]


def bench_cold_start(label: str, app_dir: Path, env: dict[str, str] | None, reps: int,
                     python_floor: float) -> list[Figure]:
    try:
        host_bench.import_seconds(app_dir, env)  # also warms the OS file cache for both figures
    except host_bench.BenchError as error:
        reason = str(error).strip().splitlines()[-1][:160]
        return [Figure(f"cold start {label}", None, "s", "", note=f"skipped: app does not import ({reason})")]
    imports = [host_bench.import_seconds(app_dir, env) for _ in range(reps)]
    readies = [host_bench.cold_start_seconds(app_dir, env) for _ in range(reps)]
    ready, imported = statistics.median(readies), statistics.median(imports)
    return [
        Figure(f"cold start {label}: spawn -> host ready", ready, "s", "", [round(v, 3) for v in readies]),
        Figure(f"cold start {label}: import app alone", imported, "s", "", [round(v, 3) for v in imports],
               'python -c "import function_app"'),
        Figure(f"cold start {label}: host overhead over import", ready - imported, "s", "", [],
               f"ready / import = {ready / imported:.2f}x; bare interpreter {python_floor:.3f} s"),
    ]


# ------------------------------------------------------------------------------------------------ the run


def machine_info() -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "azure-functions-durable": version("azure-functions-durable"),
        "durabletask": version("durabletask"),
        "uvicorn": version("uvicorn"),
    }


def run(options: Options, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every benchmark and return the results document (also written as JSON)."""
    begun = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-host-") as scratch:
        say(f"starting the embedded host on {host_bench.BENCH_APP.relative_to(REPO_ROOT)} ...")
        with start_host(host_bench.BENCH_APP, state_db=Path(scratch) / "state.sqlite3",
                        log_path=Path(scratch) / "host.log") as host:
            # Warm-up, not measured: first SDK calls, HTTP connections, and the worker threads a fan-out needs
            # (the thread pool starts its threads lazily, which would otherwise land in the first sample).
            host_bench.run_to_completion(host.url, "sleep_chain", {"count": 1, "ms": 1})
            host_bench.run_to_completion(host.url, "sleep_fan_out", {"count": options.chain_count, "ms": 20})
            say("chain ...")
            figures.append(bench_chain(host, options.chain_count, options.sleep_ms, options.latency_reps))
            say("fan-out ...")
            figures.append(bench_fan_out(host, options.chain_count, options.sleep_ms, options.fan_out_reps))
            say("throughput (ours and durabletask's, alternating) ...")
            figures.extend(bench_throughput(host, options.throughput_count, options.concurrency,
                                            options.throughput_reps))
    say("cold start ...")
    floor = statistics.median(host_bench.bare_python_seconds() for _ in range(max(1, options.cold_reps)))
    figures.append(Figure("bare interpreter start (python -c pass)", floor, "s", ""))
    figures.extend(bench_cold_start("bench app", host_bench.BENCH_APP, None, options.cold_reps, floor))
    figures.extend(bench_cold_start("functions_app", FUNCTIONS_APP, FUNCTIONS_APP_ENV, options.cold_reps, floor))

    document = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "figures": [figure.as_dict() for figure in figures],
        "run_seconds": time.perf_counter() - begun,
    }
    document["results_file"] = str(write_results(document, options.results_dir))
    return document


def write_results(document: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = results_dir / f"host-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def format_report(document: dict[str, Any]) -> str:
    machine = document["machine"]
    lines = [
        f"Embedded host benchmarks — {machine['cores']} cores, {machine['implementation']} {machine['python']}, "
        f"SQLite {machine['sqlite']}, {machine['platform']}",
        "",
        f"{'figure':<52} {'value':>12}  {'target':<8} {'':<5} samples / note",
        "-" * 118,
    ]
    for fig in document["figures"]:
        value = "-" if fig["value"] is None else f"{fig['value']:.3f} {fig['unit']}"
        extra = ", ".join(f"{s:g}" for s in fig["samples"])
        extra = f"[{extra}]" if extra else ""
        extra = f"{extra} {fig['note']}".strip()
        lines.append(f"{fig['name']:<52} {value:>12}  {fig['target'] or '-':<8} {fig['verdict']:<5} {extra}")
    for fig in document["figures"]:
        split = fig["details"].get("timeline_of_median_run")
        if split:
            lines += ["", f"where the time went — median run of '{fig['name']}' "
                          f"({fig['details']['median_seconds'] * 1000:.0f} ms, ideal "
                          f"{fig['details']['ideal_seconds'] * 1000:.0f} ms), from the host log (1 ms resolution):",
                      f"  POST -> first episode        {split['start_to_first_episode_ms']:8.1f} ms",
                      f"  activities running (union)   {split['activities_busy_ms']:8.1f} ms   "
                      f"(of which oversleep, summed over {split['activities']} activities: "
                      f"{split['activity_oversleep_ms']:.0f} ms)",
                      f"  engine gaps (no activity)    {split['engine_gaps_ms']:8.1f} ms   "
                      f"{split['episodes']} episodes; gaps {split['gaps_ms']}",
                      f"  Completed -> seen by poller  {split['completed_to_observed_ms']:8.1f} ms   "
                      f"(poll interval {host_bench.LATENCY_POLL_INTERVAL * 1000:.0f} ms)",
                      f"  without polling (POST -> Completed logged): {fig['details']['host_side_ratio']:.3f} x ideal"]
    lines += ["", f"run took {document['run_seconds']:.1f} s; results: {document['results_file']}"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=defaults.chain_count, help="activities in chain and fan-out")
    parser.add_argument("--sleep-ms", type=int, default=defaults.sleep_ms,
                        help="how long each chain / fan-out activity sleeps (default: %(default)s)")
    parser.add_argument("--reps", type=int, default=defaults.latency_reps, help="repetitions of each figure")
    parser.add_argument("--count", type=int, default=defaults.throughput_count, help="orchestrations per throughput run")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency,
                        help="concurrent clients starting orchestrations in the throughput run (default: %(default)s)")
    parser.add_argument("--results-dir", type=Path, default=defaults.results_dir)
    args = parser.parse_args(argv)
    if min(args.n, args.sleep_ms, args.reps, args.count, args.concurrency) <= 0:
        parser.error("--n, --sleep-ms, --reps, --count and --concurrency must be positive")
    return Options(chain_count=args.n, sleep_ms=args.sleep_ms, latency_reps=args.reps,
                   fan_out_reps=max(args.reps, 5) if args.reps == defaults.latency_reps else args.reps,
                   throughput_count=args.count, concurrency=args.concurrency, throughput_reps=args.reps,
                   cold_reps=args.reps, results_dir=args.results_dir)


def main(argv: list[str] | None = None) -> int:
    document = run(parse_args(argv), say=lambda text: print(text, file=sys.stderr, flush=True))
    print(format_report(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
