"""A workshop room on one machine: N learners, each with their own kernel and kit, running the lessons at once.

    python -m bench.workshop_room --learners 10                 # a facilitator's room: 1 alone, then 2, 5 and 10
    python -m bench.workshop_room --learners 30 --steps 1,10,20,30
    python -m bench.workshop_room --learners 2 --lessons 00 01  # a quick check of the benchmark itself

Every learner is a process of its own (`bench.workshop_learner`, what a learner's JupyterLab would be), running
the lessons one after the other with "Restart Kernel and Run All Cells": a fresh kernel per notebook, and in it the
kit each lesson starts (offline model, model gateway, embedded host, on ports of its own). All of them use the one
shared `.venv` this command runs in, as a room set up from one installation does. Each learner has its own
IPython folder, Jupyter runtime folder and temp folder, as separate accounts would. All learners of a step start
at the same moment (everyone presses "Run All" when told to): the worst case for start-up storms.

Measured, per step (number of learners at once), against one learner alone on the same machine:
- every learner completes every lesson (a failed cell is reported with its error; the run goes on);
- per notebook, the p50 and p95 of the learners' times, and their ratio to one learner alone;
- peak memory per learner (RSS of its runner, kernel and kit processes, summed: shared library pages count once per
  process, so this is an upper bound) and peak in total, sampled every second;
- how busy the processors were (all of them, whoever used them) during the step: where the machine saturates,
  every further learner makes everyone slower.

The table goes to the terminal and to `bench/results/workshop-room-<timestamp>.md` (with a `.json` beside it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SAMPLE_SECONDS = 1.0
MIB = 2**20


@dataclass
class LearnerRun:
    index: int
    results: list[dict] = field(default_factory=list)  # one per notebook: notebook, seconds, ok, error
    peak_rss: int = 0
    cpu_seconds: float = 0.0  # processor time of the runner, its kernels and their kit services
    exit_code: int | None = None
    stderr_tail: str = ""

    @property
    def completed(self) -> bool:
        return self.exit_code == 0 and bool(self.results) and all(r["ok"] for r in self.results)


@dataclass
class Step:
    learners: int
    runs: list[LearnerRun]
    seconds: float
    peak_total_rss: int
    cpu_busy: float  # mean percent of all processors over the step
    cpu_saturated_share: float  # share of samples with the processors >= 95 % busy
    lessons: list[str]

    def times(self, notebook: str) -> list[float]:
        return [r["seconds"] for run in self.runs for r in run.results if r["notebook"] == notebook]

    def totals(self) -> list[float]:
        return [sum(r["seconds"] for r in run.results) for run in self.runs]


def lessons(prefixes: list[str]) -> list[Path]:
    everything = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not prefixes:
        return everything
    chosen = [path for path in everything if any(path.name.startswith(prefix) for prefix in prefixes)]
    if len(chosen) < len(prefixes):
        raise SystemExit(f"--lessons {' '.join(prefixes)}: found only {[p.name for p in chosen]}")
    return chosen


def learner_env(home: Path) -> dict[str, str]:
    """A learner's own folders (separate accounts would have them) over this machine's environment."""
    folders = {"IPYTHONDIR": home / "ipython", "JUPYTER_RUNTIME_DIR": home / "runtime", "TMPDIR": home / "tmp"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **{k: str(v) for k, v in folders.items()}, "LAB_MODEL": "offline", "LAB_HOST": "embedded"}


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its descendants (the kernel, the kit's services) right now."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_step(count: int, notebooks: list[Path], work: Path, stagger: float, timeout: int) -> Step:
    """`count` learners at once; returns their results and what the machine went through."""
    runs = [LearnerRun(index) for index in range(count)]
    processes: list[subprocess.Popen[str]] = []
    began = time.monotonic()
    for run in runs:
        home = work / f"step-{count:02d}" / f"learner-{run.index:02d}"
        out = home / "executed"
        command = [sys.executable, "-m", "bench.workshop_learner", "--out", str(out), "--timeout", str(timeout)]
        processes.append(
            subprocess.Popen(
                [*command, *map(str, notebooks)],
                cwd=REPO_ROOT,
                env=learner_env(home),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        if stagger:
            time.sleep(stagger)
    handles = [psutil.Process(p.pid) for p in processes]
    peak_total, cpu_samples = 0, []
    psutil.cpu_percent(interval=None)  # the first call only starts the count
    outputs: list[tuple[str, str]] = [("", "")] * count

    def collect(position: int) -> None:  # read each learner's output as it comes, so no pipe ever fills up
        outputs[position] = processes[position].communicate()

    readers = [threading.Thread(target=collect, args=(i,), daemon=True) for i in range(count)]
    for reader in readers:
        reader.start()
    while any(p.poll() is None for p in processes):
        time.sleep(SAMPLE_SECONDS)
        cpu_samples.append(psutil.cpu_percent(interval=None))
        sizes = [tree_rss(handle) for handle in handles]
        for run, size in zip(runs, sizes):
            run.peak_rss = max(run.peak_rss, size)
        peak_total = max(peak_total, sum(sizes))
    for reader in readers:
        reader.join()
    for run, process, (stdout, stderr) in zip(runs, processes, outputs):
        run.exit_code = process.returncode
        lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        run.results = [line for line in lines if "notebook" in line]
        run.cpu_seconds = sum(line.get("cpu_seconds", 0.0) for line in lines)
        run.stderr_tail = stderr[-2000:]
    return Step(
        learners=count,
        runs=runs,
        seconds=time.monotonic() - began,
        peak_total_rss=peak_total,
        cpu_busy=statistics.fmean(cpu_samples) if cpu_samples else 0.0,
        cpu_saturated_share=sum(s >= 95 for s in cpu_samples) / len(cpu_samples) if cpu_samples else 0.0,
        lessons=[p.name for p in notebooks],
    )


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with 10 learners p95 is the slowest, with 30 the second slowest."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{psutil.cpu_count(logical=True)} logical cores ({psutil.cpu_count(logical=False)} physical), "
        f"{memory:.0f} GiB memory, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def report(steps: list[Step], machine_text: str, started: datetime) -> str:
    alone = steps[0]
    lines = [
        f"## Workshop room: learners at once on one machine ({started:%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {machine_text}. Lessons: {', '.join(alone.lessons)}; each learner runs them one after the "
        "other, all learners starting together; offline model.",
        "",
    ]
    for step in steps[1:]:
        completed = sum(run.completed for run in step.runs)
        lines += [
            f"### {step.learners} learners at once: {completed} of {step.learners} completed every lesson",
            "",
            "| notebook | alone | p50 | p95 | p50 / alone | p95 / alone |",
            "|---|---|---|---|---|---|",
        ]
        rows = [(name, alone.times(name), step.times(name)) for name in alone.lessons]
        rows.append(("**all lessons, one learner**", alone.totals(), step.totals()))
        for name, solo, many in rows:
            if not solo or not many:
                lines.append(f"| {name} | - | - | - | - | - |")
                continue
            base, p50, p95 = statistics.median(solo), percentile(many, 0.50), percentile(many, 0.95)
            lines.append(f"| {name} | {base:.1f} s | {p50:.1f} s | {p95:.1f} s | {p50 / base:.2f} | {p95 / base:.2f} |")
        lines.append("")
    lines += [
        "### Memory and processors per step",
        "",
        "| learners at once | completed | wall time | peak RSS per learner (median / max) | peak RSS in total "
        "| processor-seconds per learner | processors busy (mean) | samples >= 95 % busy | all lessons p50 / alone |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    alone_total = statistics.median(alone.totals()) if alone.totals() else float("nan")
    saturated_at = None
    for step in steps:
        peaks = [run.peak_rss / MIB for run in step.runs]
        ratio = statistics.median(step.totals()) / alone_total if step.totals() else float("nan")
        if saturated_at is None and step.cpu_saturated_share >= 0.5:
            saturated_at = step.learners
        lines.append(
            f"| {step.learners} | {sum(r.completed for r in step.runs)}/{step.learners} | {step.seconds:.0f} s "
            f"| {statistics.median(peaks):.0f} / {max(peaks):.0f} MiB | {step.peak_total_rss / 2**30:.2f} GiB "
            f"| {statistics.median(r.cpu_seconds for r in step.runs):.0f} s "
            f"| {step.cpu_busy:.0f} % | {step.cpu_saturated_share:.0%} | {ratio:.2f} |"
        )
    lines.append("")
    cores = psutil.cpu_count(logical=True) or 1
    if alone.runs and alone.runs[0].cpu_seconds and alone_total:
        demand = alone.runs[0].cpu_seconds / alone_total  # processors one learner keeps busy while working
        lines.append(
            f"One learner alone used {alone.runs[0].cpu_seconds:.0f} processor-seconds in {alone_total:.0f} s of "
            f"lessons: {demand:.2f} of a core while working. By that demand, this machine's {cores} cores are "
            f"fully used from about {cores / demand:.1f} learners working at the same moment; the figures above "
            "show what each further learner costs everyone."
        )
    if saturated_at is not None:
        lines.append(
            f"The processors are saturated (busy >= 95 % for at least half the run) from {saturated_at} "
            f"learner{'s' if saturated_at > 1 else ''} at once (whoever kept them busy: on a shared machine, "
            "others too); from there on every further learner makes everyone slower."
        )
    else:
        lines.append("The processors never stayed saturated: more learners would still fit.")
    failures = [
        f"- {step.learners} at once, learner {run.index}: {r['notebook']}: {r['error']}"
        for step in steps
        for run in step.runs
        for r in run.results
        if not r["ok"]
    ] + [
        f"- {step.learners} at once, learner {run.index}: exited {run.exit_code}: {run.stderr_tail[-300:]}"
        for step in steps
        for run in step.runs
        if run.exit_code != 0
    ]
    if failures:
        lines += ["", "Failures:", *failures]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workshop_room", description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10, help="learners at once in the last step (default 10)")
    parser.add_argument(
        "--steps", default=None, help="learners at once per step, comma-separated (default: 1, 2, half, all)"
    )
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson prefixes (default: every lesson)")
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds between two learners' starts (default 0)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may take (default 600)")
    args = parser.parse_args(argv)
    steps = (
        sorted({int(part) for part in args.steps.split(",")})
        if args.steps
        else sorted({1, 2, max(1, args.learners // 2), args.learners})
    )
    if steps[0] != 1:
        steps.insert(0, 1)  # one learner alone is what every step is compared with
    notebooks = lessons(args.lessons)
    started = datetime.now(UTC)
    print(f"{machine()}\nsteps: {steps} learners at once; lessons: {[p.name for p in notebooks]}", flush=True)
    done: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="workshop-room-") as work:
        for count in steps:
            print(f"{count} learner(s) at once ...", flush=True)
            step = run_step(count, notebooks, Path(work), args.stagger, args.timeout)
            done.append(step)
            completed = sum(run.completed for run in step.runs)
            print(
                f"  {completed}/{count} completed in {step.seconds:.0f} s; peak {step.peak_total_rss / 2**30:.2f} GiB; "
                f"processors {step.cpu_busy:.0f} % busy",
                flush=True,
            )
            for run in step.runs:
                for result in run.results:
                    if not result["ok"]:
                        print(f"  learner {run.index}: {result['notebook']} FAILED: {result['error']}", flush=True)
    text = report(done, machine(), started)
    print("\n" + text)
    RESULTS_DIR.mkdir(exist_ok=True)
    stem = RESULTS_DIR / f"workshop-room-{started:%Y%m%d-%H%M%S}"
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    raw = {
        "machine": machine(),
        "started": started.isoformat(),
        "steps": [
            {
                "learners": s.learners,
                "seconds": s.seconds,
                "peak_total_rss": s.peak_total_rss,
                "cpu_busy": s.cpu_busy,
                "cpu_saturated_share": s.cpu_saturated_share,
                "runs": [
                    {
                        "index": r.index,
                        "peak_rss": r.peak_rss,
                        "cpu_seconds": r.cpu_seconds,
                        "exit_code": r.exit_code,
                        "results": r.results,
                    }
                    for r in s.runs
                ],
            }
            for s in done
        ],
    }
    stem.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    print(f"written: {stem.with_suffix('.md')}")
    return 0 if all(run.completed for step in done for run in step.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
