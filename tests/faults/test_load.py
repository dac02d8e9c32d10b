"""Load at CI size: concurrent clients, every orchestration Completed, every activity and model call counted once.

The same drivers as `python -m bench.load_faults` (which runs the full sizes), so the figures in the bench and
what CI checks cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load_faults import run_chain_load, run_seed_load

pytestmark = pytest.mark.timeout(120)

CLIENTS = 50
# Generous: the host idles near 50 MiB and peaked at ~55 MiB (chains) / ~130 MiB (seed agents) at full size.
RSS_BUDGET_MIB = 400


def test_chain_load_completes_every_orchestration_exactly_once(tmp_path: Path) -> None:
    result = run_chain_load(100, CLIENTS, activity_ms=0, timeout=60, workdir=tmp_path)

    assert result.start_report.accepted == 100 and not result.start_report.bad_responses, result.start_report
    assert result.completed == 100 and result.lost == 0, result.failures
    assert result.activity_runs == 200 and result.duplicated_runs == 0, result.unexplained_duplicates
    assert result.missing_activities == 0
    assert result.locked_in_responses == 0 and result.locked_in_log == 0
    assert 0 < result.peak_rss_mib < RSS_BUDGET_MIB


def test_seed_orchestrations_under_load_call_the_model_exactly_once_per_agent_run(tmp_path: Path) -> None:
    runs = 15
    result = run_seed_load(runs, CLIENTS, timeout=60, workdir=tmp_path)

    assert not result.bad_responses
    assert result.completed == 2 * runs and result.failed == 0, result.failures
    assert result.empty_answers == 0, result.failures
    # single: 2 writer turns; multi: one physicist + one chemist call.
    assert result.model_calls == 4 * runs, result.calls_by_persona
    assert result.calls_by_persona.get("physics lens") == runs
    assert result.calls_by_persona.get("chemistry lens") == runs
    assert result.locked_in_responses == 0 and result.locked_in_log == 0
    assert 0 < result.peak_rss_mib < RSS_BUDGET_MIB
