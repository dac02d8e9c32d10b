"""Durability of the embedded host: `kill -9` mid-orchestration then restart on the same --state-db resumes
the instance without re-running completed activities; entity state survives a restart; the log has one line
per orchestrator episode."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, wait_until

pytestmark = pytest.mark.timeout(90)

APP = "durable_resume"
STEP_SECONDS = 0.3
EPISODE_LINE = re.compile(
    r"(?P<instance>\S+): Function '(?P<name>[^']+) \(Orchestrator\)' started\. IsReplay: (?P<replay>True|False)\. "
    r"Episode: (?P<episode>\d+)\. HistoryEvents: (?P<events>\d+)\."
)


def read_journal(path: Path, run: str) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        kind, line_run, step = line.split()
        if line_run == run:
            entries.append((kind, int(step)))
    return entries


@pytest.mark.slow
def test_kill_9_mid_run_resumes_without_repeating_completed_activities(start_host, tmp_path: Path) -> None:
    state_db = tmp_path / "durable.db"
    journal = tmp_path / "journal.txt"
    env = {"STEP_JOURNAL_PATH": str(journal)}
    steps = 4

    first = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(first.url)
    response = api.http.post(api.app_url("start/slow_chain"), json={"steps": steps, "seconds": STEP_SECONDS})
    assert response.status_code == 202, response.text
    run = response.json()["id"]

    # Step 2 only starts after the host has recorded step 1's result: kill while step 2 is in flight.
    wait_until(lambda: ("start", 2) in read_journal(journal, run), timeout=10, what="step 2 to start")
    first.kill()
    api.close()
    before_kill = read_journal(journal, run)
    completed_before_kill = {step for kind, step in before_kill if kind == "done"}
    assert 1 in completed_before_kill
    assert 2 not in completed_before_kill, "the kill came too late to catch step 2 in flight"

    second = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(second.url)
    try:
        final = api.wait_for(run, timeout=20)
    finally:
        api.close()
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == [f"step {n} done" for n in range(1, steps + 1)]

    starts = Counter(step for kind, step in read_journal(journal, run) if kind == "start")
    in_flight = {step for kind, step in before_kill if kind == "start"} - completed_before_kill
    for step in range(1, steps + 1):
        if step in completed_before_kill:
            assert starts[step] == 1, f"step {step} completed before the kill but ran {starts[step]} times"
        elif step in in_flight:
            assert 1 <= starts[step] <= 2, f"in-flight step {step} ran {starts[step]} times"
        else:
            assert starts[step] == 1, f"step {step} ran {starts[step]} times"


@pytest.mark.slow
def test_running_orchestration_resumes_after_graceful_restart(start_host, tmp_path: Path) -> None:
    state_db = tmp_path / "durable.db"
    env = {"STEP_JOURNAL_PATH": str(tmp_path / "journal.txt")}
    first = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(first.url)
    run = api.http.post(api.app_url("start/slow_chain"), json={"steps": 3, "seconds": 0.2}).json()["id"]
    api.close()
    first.stop()

    second = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(second.url)
    try:
        final = api.wait_for(run, timeout=20)
    finally:
        api.close()
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == ["step 1 done", "step 2 done", "step 3 done"]


@pytest.mark.slow
def test_entity_state_and_history_survive_restart(start_host, tmp_path: Path) -> None:
    state_db = tmp_path / "durable.db"
    env = {"STEP_JOURNAL_PATH": str(tmp_path / "journal.txt")}
    key = f"t-{uuid.uuid4().hex[:6]}"
    first = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(first.url)
    for amount in (3, 4):
        response = api.http.post(f"{DURABLE_WEBHOOKS}/entities/Tally/{key}", params={"op": "add"}, json=amount)
        assert response.status_code == 202, response.text
    wait_until(
        lambda: api.http.get(f"{DURABLE_WEBHOOKS}/entities/Tally/{key}").text == "7", timeout=10, what="tally = 7"
    )
    response = api.http.post(api.app_url("start/three_steps"))
    assert response.status_code == 202, response.text
    finished_run = api.wait_for(response.json()["id"])
    history_before = api.status(finished_run["instanceId"], showHistory="true").json()["historyEvents"]
    api.close()
    first.kill()

    second = start_host(APP, state_db=state_db, env=env)
    api = DurableApi(second.url)
    try:
        response = api.http.get(f"{DURABLE_WEBHOOKS}/entities/Tally/{key}")
        assert response.status_code == 200, response.text
        assert response.json() == 7
        after_restart = api.status(finished_run["instanceId"], showHistory="true")
        assert after_restart.status_code == 200, after_restart.text
        assert after_restart.json()["runtimeStatus"] == "Completed"
        assert after_restart.json()["output"] == ["ONE", "TWO", "THREE"]
        assert after_restart.json()["historyEvents"] == history_before
        api.http.post(f"{DURABLE_WEBHOOKS}/entities/Tally/{key}", params={"op": "add"}, json=1)
        wait_until(
            lambda: api.http.get(f"{DURABLE_WEBHOOKS}/entities/Tally/{key}").text == "8", timeout=10, what="tally = 8"
        )
    finally:
        api.close()


def test_one_log_line_per_orchestrator_episode(start_host, tmp_path: Path) -> None:
    host = start_host(APP, env={"STEP_JOURNAL_PATH": str(tmp_path / "journal.txt")})
    api = DurableApi(host.url)
    try:
        response = api.http.post(api.app_url("start/three_steps"))
        assert response.status_code == 202, response.text
        run = response.json()["id"]
        final = api.wait_for(run)
    finally:
        api.close()
    assert final["output"] == ["ONE", "TWO", "THREE"]

    def episodes() -> list[re.Match[str]]:
        return [m for m in EPISODE_LINE.finditer(host.log_text()) if m["instance"] == run]

    wait_until(lambda: len(episodes()) >= 4, timeout=5, what="four episode log lines")
    found = episodes()
    assert len(found) == 4, [m.group(0) for m in found]
    assert all(m["name"] == "three_steps" for m in found)
    assert [m["replay"] for m in found] == ["False", "True", "True", "True"]
    assert [int(m["episode"]) for m in found] == sorted(int(m["episode"]) for m in found)
    assert len({int(m["episode"]) for m in found}) == 4
    history_sizes = [int(m["events"]) for m in found]
    assert history_sizes == sorted(history_sizes) and history_sizes[0] < history_sizes[-1], history_sizes
