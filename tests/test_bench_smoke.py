"""The benchmark scripts still run end to end (tiny sizes; shape and completion only, never speed)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import host_bench, run_all
from bench.host_timeline import timeline
from bench.sdk_floor import sdk_floor
from helpers.processes import start_host


@pytest.fixture(scope="module")
def bench_host(tmp_path_factory: pytest.TempPathFactory):
    scratch = tmp_path_factory.mktemp("bench-host")
    with start_host(host_bench.BENCH_APP, state_db=scratch / "state.sqlite3", log_path=scratch / "host.log") as host:
        yield host


def test_chain_and_fan_out_complete_and_split_into_phases(bench_host) -> None:
    chain = host_bench.chain_latency(bench_host.url, count=2, sleep_ms=20)
    fan_out = host_bench.fan_out_latency(bench_host.url, count=2, sleep_ms=20)
    assert chain.ideal_seconds == pytest.approx(0.04) and chain.seconds >= 0.04
    assert fan_out.ideal_seconds == pytest.approx(0.02) and fan_out.seconds >= 0.02
    split = timeline(bench_host.log_text(), chain.run.instance_id, chain.run.posted_at, chain.run.observed_at, 20)
    assert split.activities == 2 and split.episodes == 3


def test_throughput_counts_completed_orchestrations(bench_host) -> None:
    assert host_bench.orchestrations_per_second(bench_host.url, count=5, concurrency=2) > 0


def test_durabletask_baseline_runs_in_its_own_process() -> None:
    assert run_all.baseline_orchestrations_per_second(count=5, concurrency=2) > 0


def test_cold_start_and_import_are_timed() -> None:
    assert host_bench.cold_start_seconds(host_bench.BENCH_APP) > host_bench.bare_python_seconds() > 0
    assert host_bench.import_seconds(host_bench.BENCH_APP) > 0


def test_an_app_that_does_not_import_is_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("raise ImportError('missing dependency')\n")
    [figure] = run_all.bench_cold_start("broken", tmp_path, None, reps=1, python_floor=0.01)
    assert figure.verdict == "SKIP" and "missing dependency" in figure.note


def test_sdk_floor_times_every_episode_of_the_chain() -> None:
    floor = sdk_floor(host_bench.BENCH_APP, "sleep_chain", {"count": 2, "ms": 0}, repeats=3)
    assert len(floor.per_episode_ms) == 3 and all(ms > 0 for ms in floor.per_episode_ms)


def test_whole_run_prints_a_table_and_writes_json_and_the_readme_table(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nprose stays\n\n" + run_all.TABLE_BEGIN + "\nold\n" + run_all.TABLE_END + "\nend\n")
    run_all.main(["--n", "2", "--sleep-ms", "10", "--reps", "1", "--count", "4", "--concurrency", "2",
                  "--agent-latency-ms", "20", "--results-dir", str(tmp_path), "--readme", str(readme)])
    report = capsys.readouterr().out
    [results] = tmp_path.glob("host-*.json")
    document = json.loads(results.read_text())
    names = [figure["name"] for figure in document["figures"]]
    assert any(name.startswith("chain of 2") for name in names)
    assert "throughput: ours / durabletask" in names
    assert "host cost per episode above the SDK floor, end to end" in names
    assert any(name.startswith("single-agent chaining") for name in names)
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
