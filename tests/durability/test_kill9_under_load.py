"""`kill -9` of the host at random moments under load, restarted on the same state file.

Exactly-once is counted from what really ran (the chain app's journal, the offline model's call counter) and
compared with what the state file held as in flight at each kill: only that work may run a second time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load_faults import run_chain_load, run_seed_load

pytestmark = [pytest.mark.timeout(150), pytest.mark.slow]


def test_chain_load_survives_kill_9_rounds(tmp_path: Path) -> None:
    # Activities last long enough (400 ms) that a kill 0.15-0.35 s into a round always finds some running, however
    # fast the host schedules them.
    result = run_chain_load(
        100, 50, activity_ms=400, kill_rounds=2, kill_window=(0.15, 0.35), seed=7, timeout=90, workdir=tmp_path
    )

    assert result.completed == 100 and result.lost == 0, result.failures
    assert result.missing_activities == 0
    assert not result.start_report.bad_responses, result.start_report.bad_responses
    assert result.start_report.accepted == 100
    assert not result.unexplained_duplicates, result.unexplained_duplicates
    started_in_flight = sum(kill.started_in_flight for kill in result.kill_rounds)
    in_flight = sum(kill.in_flight for kill in result.kill_rounds)
    # Work that had begun when the host died runs again; nothing else does (an activity may begin between
    # reading the journal and the kill, hence the range).
    assert started_in_flight <= result.duplicated_runs <= in_flight, result.kill_rounds
    assert any(kill.in_flight for kill in result.kill_rounds), f"no kill caught work in flight: {result.kill_rounds}"
    assert result.locked_in_responses == 0 and result.locked_in_log == 0


def test_seed_load_survives_kill_9(tmp_path: Path) -> None:
    runs = 10
    result = run_seed_load(
        runs, 50, model_latency_ms=150, kill_rounds=1, kill_window=(0.2, 0.5), seed=3, timeout=90, workdir=tmp_path
    )

    assert result.completed == 2 * runs and result.failed == 0, result.failures
    assert result.empty_answers == 0, result.failures
    assert result.agent_ops_in_flight_at_kills and result.agent_ops_in_flight_at_kills[0] > 0
    # Only agent operations in flight at the kill may call the model again.
    assert 0 <= result.extra_model_calls <= sum(result.agent_ops_in_flight_at_kills), result
    assert result.locked_in_responses == 0 and result.locked_in_log == 0
