"""The benchmark still runs end to end (tiny sizes; every part ran and has the right shape, never speed).

One whole run covers every part: chain and fan-out with their timelines, the SDK floor, throughput on both
backends, the agent figures and floors, the gateway and the cold starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run_all


def test_an_app_that_does_not_import_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("raise ImportError('missing dependency')\n")
    [figure] = run_all.bench_cold_start("broken", tmp_path, None, reps=1, python_floor=0.01)
    assert figure.verdict == "SKIP" and "missing dependency" in figure.note


def test_whole_run_prints_a_table_and_writes_json_and_the_readme_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Benchmarks\n\nprose stays\n\n" + run_all.TABLE_BEGIN + "\nold\n" + run_all.TABLE_END + "\nend\n"
    )
    run_all.main(
        [
            "--n",
            "2",
            "--sleep-ms",
            "10",
            "--reps",
            "1",
            "--count",
            "4",
            "--concurrency",
            "2",
            "--agent-latency-ms",
            "20",
            "--results-dir",
            str(tmp_path),
            "--readme",
            str(readme),
        ]
    )
    report = capsys.readouterr().out
    [results] = tmp_path.glob("host-*.json")
    document = json.loads(results.read_text())
    figures = {figure["name"]: figure for figure in document["figures"]}
    names = list(figures)
    skipped = {name: figure["note"] for name, figure in figures.items() if figure["verdict"] == "SKIP"}
    assert not skipped, skipped  # every part ran: a part that fails turns its figure into a SKIP with the reason
    chain = figures["chain of 2 x 10 ms: time / ideal"]
    assert chain["value"] > 1 and chain["details"]["timeline_of_median_run"]["activities"] == 2
    assert chain["details"]["timeline_of_median_run"]["episodes"] == 3
    assert figures["fan-out of 2 x 10 ms: time / ideal"]["value"] > 1
    assert figures["throughput, embedded host (SQLite)"]["value"] > 0
    assert figures["throughput, durabletask in-memory"]["value"] > 0
    floor = figures["SDK floor per episode, host's memos, after an idle wait"]
    assert len(floor["samples"]) == 3 and all(ms > 0 for ms in floor["samples"])
    cold = figures["cold start bench app: spawn -> host ready"]["value"]
    assert cold > figures["bare interpreter start (python -c pass)"]["value"] > 0
    assert figures["cold start bench app: import app alone"]["value"] > 0
    assert any(name.startswith("chain of 2") for name in names)
    assert "throughput: ours / durabletask" in names
    assert "host cost per episode above the SDK floor, end to end" in names
    step = figures["host cost per episode above the SDK floor, between two activities"]
    assert figures["chain of 2 x 10 ms: time / ideal"]["details"]["step_gaps_ms"][0] > 0  # one step per chain
    assert step["target"] == "<= 1.0" and step["verdict"] in ("PASS", "MISS")
    for kind in ("single-agent chaining (2 calls in turn)", "multi-agent concurrency (2 at once)"):
        awaited = figures[f"{kind} at 20 ms: time / latency"]  # the target: awaited by the host
        routed = figures[f"{kind} at 20 ms, through the app's routes: time / latency"]  # beside it, no target
        assert (awaited["details"]["way"], routed["details"]["way"]) == ("host", "app")
        assert awaited["target"] and not routed["target"] and routed["verdict"] == "info"
        for figure in (awaited, routed):
            assert figure["details"]["agent_timeline_of_median_run"]["operations"] == 2, figure
    floors = [figure for figure in document["figures"] if figure["name"].startswith("agent floor")]
    assert len(floors) == 2 and all(figure["verdict"] == "info" for figure in floors), floors
    assert all(figure["value"] >= ideal for figure, ideal in zip(floors, (2.0, 1.0))), floors
    assert {figure["verdict"] for figure in document["figures"]} <= {"PASS", "MISS", "info", "SKIP"}
    assert document["machine"]["cores"] and document["machine"]["python"]
    for name in names:
        assert name in report
    table = readme.read_text()
    assert table.startswith("# Benchmarks") and "prose stays" in table and table.rstrip().endswith("end")
    assert "\nold\n" not in table
    for figure in document["figures"]:
        assert f"| {figure['name']} |" in table
