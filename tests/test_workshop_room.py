"""The workshop-room benchmark's figures from known runs (bench/workshop_room.py; the run itself takes minutes)."""

from __future__ import annotations

from datetime import datetime

from bench.workshop_room import LearnerRun, Step, percentile, report

MIB = 2**20


def step(learners: int, seconds: list[float], ok: bool = True) -> Step:
    runs = [
        LearnerRun(
            index,
            results=[
                {"notebook": "00_a.ipynb", "seconds": value, "ok": ok, "error": "" if ok else "KeyError: 'x'"},
                {"notebook": "01_b.ipynb", "seconds": value * 2, "ok": True, "error": ""},
            ],
            peak_rss=(400 + index) * MIB,
            cpu_seconds=30.0,
            exit_code=0,
        )
        for index, value in enumerate(seconds)
    ]
    return Step(learners, runs, 100.0, sum(r.peak_rss for r in runs), 60.0, 0.0, ["00_a.ipynb", "01_b.ipynb"])


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.50) == 5.0 and percentile(values, 0.95) == 10.0
    assert percentile([float(v) for v in range(1, 31)], 0.95) == 29.0
    assert percentile([7.0], 0.95) == 7.0


def test_the_report_compares_each_notebook_with_one_learner_alone_and_lists_failures() -> None:
    alone = step(1, [10.0])
    room = step(4, [10.0, 12.0, 20.0, 30.0], ok=False)
    text = report([alone, room], "2 cores", datetime(2026, 12, 6))
    assert "| 00_a.ipynb | 10.0 s | 12.0 s | 30.0 s | 1.20 | 3.00 |" in text
    assert "| 01_b.ipynb | 20.0 s | 24.0 s | 60.0 s | 1.20 | 3.00 |" in text
    assert "0 of 4 completed every lesson" in text
    assert "| 4 | 0/4 | 100 s | 402 / 403 MiB |" in text
    assert "learner 3: 00_a.ipynb: KeyError: 'x'" in text
    assert "30 processor-seconds in 30 s" in text and "never stayed saturated" in text
