"""Start-up: host.json and local.settings.json are honoured; a broken app stops the host with a reason."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from helpers.processes import REPO_ROOT, ServiceError, free_port, start_host
from tests.conftest import HOST_APPS as APPS
from tests.conftest import app_copy


def run_host_until_exit(app_dir: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in the foreground; a start-up failure must end it quickly, so a timeout is a failure."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.host",
            str(app_dir),
            "--port",
            str(free_port()),
            "--state-db",
            str(tmp_path / "state.sqlite3"),
            *extra,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("app", "reason"),
    [
        ("does_not_exist", "App directory not found"),
        ("http_import_error", "No module named 'module_that_does_not_exist'"),
        ("http_missing_setting", "Set KIT_REQUIRED_SETTING before starting this app"),
        ("http_prefix", "refers to %KIT_HUB_NAME%"),  # host.json hubName names a setting nobody set
    ],
)
def test_broken_apps_exit_non_zero_with_the_reason(app: str, reason: str, tmp_path: Path) -> None:
    result = run_host_until_exit(APPS / app, tmp_path)
    assert result.returncode != 0
    assert reason in result.stderr
    assert "Uvicorn running" not in result.stderr + result.stdout  # never a half-started server


def test_unreadable_local_settings_stop_the_host(tmp_path: Path) -> None:
    app_dir = app_copy("http_basic", tmp_path)
    (app_dir / "local.settings.json").write_text("{ not json", encoding="utf-8")
    result = run_host_until_exit(app_dir, tmp_path)
    assert result.returncode != 0
    assert "local.settings.json is not valid JSON" in result.stderr


def test_start_host_raises_with_the_log_tail_when_the_host_exits(tmp_path: Path) -> None:
    with pytest.raises(ServiceError) as failure:
        start_host(APPS / "http_import_error", state_db=tmp_path / "s.sqlite3", timeout=20)
    assert "module_that_does_not_exist" in str(failure.value)


def test_a_setting_from_the_environment_satisfies_the_app(tmp_path: Path) -> None:
    with start_host(
        APPS / "http_missing_setting", state_db=tmp_path / "s.sqlite3", env={"KIT_REQUIRED_SETTING": "present"}
    ) as host:
        assert httpx.get(f"{host.url}/api/ok", trust_env=False).text == "present"


def test_host_json_route_prefix_and_hub_name(tmp_path: Path) -> None:
    app_dir = app_copy("http_prefix", tmp_path, {"KIT_HUB_NAME": "Settings"})
    with start_host(app_dir, state_db=tmp_path / "s.sqlite3") as host:
        with httpx.Client(base_url=host.url, trust_env=False, timeout=10) as client:
            assert client.get("/v1/tools/ping").text == "pong"  # routes are case-insensitive
            assert client.get("/api/Ping").status_code == 404
            status = client.get("/admin/host/status").json()
            assert status["taskHub"] == "SettingsHub"  # %KIT_HUB_NAME% came from local.settings.json
            assert status["routePrefix"] == "v1/tools"


def test_stop_is_graceful_and_kill_is_not(tmp_path: Path) -> None:
    host = start_host(APPS / "http_basic", state_db=tmp_path / "s.sqlite3")
    assert host.stop() == 0  # an orderly SIGTERM shutdown exits 0, not -15 (signal) or -9 (SIGKILL)
    assert "Host stopped" in host.log_text()  # the orderly shutdown ran to its end

    host = start_host(APPS / "http_basic", state_db=tmp_path / "s.sqlite3")
    assert host.kill() == -9
    assert not host.running


def test_sigterm_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    host = start_host(APPS / "http_basic", state_db=tmp_path / "s.sqlite3")
    try:
        with httpx.Client(base_url=host.url, trust_env=False, timeout=10) as client:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(client.get, "/api/slow", params={"seconds": "1.0"})
                deadline = time.monotonic() + 5
                while "Executing 'Functions.slow'" not in host.log_text():
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
                host.process.send_signal(signal.SIGTERM)
                response = pending.result(timeout=10)
        assert response.status_code == 201 and response.text == "done"
        host.process.wait(timeout=10)
        assert "Host stopped" in host.log_text()
    finally:
        host.kill()


def test_services_left_running_are_stopped_when_python_exits(tmp_path: Path) -> None:
    script = (
        "from helpers.processes import start_host\n"
        f"host = start_host({str(APPS / 'http_basic')!r}, state_db={str(tmp_path / 's.sqlite3')!r})\n"
        "print(host.pid, flush=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.split()[-1])
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, f"host {pid} outlived the Python process that started it"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent, the exited script, was already reaped).
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"
