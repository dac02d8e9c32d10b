"""`make demo` end to end: it must run both orchestrations against the offline model and label the results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_VARIABLES = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OPENAI_API_KEY",
)


@pytest.mark.timeout(150)
def test_demo_runs_both_orchestrations_offline() -> None:
    env = {k: v for k, v in os.environ.items() if k not in MODEL_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-m", "helpers.demo", "--latency-ms", "100", "--offline", "--timeout", "60"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "== Single-agent chaining: Completed" in out
    assert "== Multi-agent concurrency: Completed" in out
    assert "physicist:" in out and "chemist:" in out and "writer:" in out
    assert "All answers came from the offline model" in out
    assert "[offline model" in out  # the replies themselves say where they come from
