"""Every sample of the checkout runs on the kit's host, unchanged but for its chat client, and ends as it says.

One test per sample folder (a folder with a function_app.py). The rules below are what a sample says that its
demo.http cannot: the outputs its README or docstring shows, how its human-in-the-loop run shows it waits, and
the requests of a demo.http that cannot run as written on any host (each with the reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers import processes

from . import demo_http, mcp_sample
from .conftest import samples_root
from .replay import Expect, Replay, Rules
from .sample_copy import (
    ADDED_FILES,
    CLIENT_IMPORT,
    SHIM_MODULE,
    Changes,
    changes_between,
    copy_with_kit_client,
    describe,
    kit_settings,
    template_settings,
    write_local_settings,
)

pytestmark = pytest.mark.timeout(600)

EMAIL_OUTCOME = r"Email (sent|marked as spam): \S"


def review_requested(answer: dict[str, Any]) -> str | None:
    """07's run waits for a person while its custom status (the sample's `workflowStatus`) asks for feedback."""
    status = answer.get("workflowStatus")
    return status if isinstance(status, str) and status.startswith("Requesting human feedback") else None


RULES = {
    "03_reliable_streaming": Rules(
        # The demo reads the conversation id from the JSON of a 202 (as its README shows). The framework answers a
        # text/plain run with 200, the agent's text and the id in the x-ms-session-id header, on any host.
        aliases={"trip.response.body.$.conversation_id": "trip.response.headers.x-ms-session-id"},
    ),
    "04_single_agent_orchestration_chaining": Rules(output=r'"output": "\S'),
    "05_multi_agent_orchestration_concurrency": Rules(output=r'"physicist": "\S.*"chemist": "\S'),
    "06_multi_agent_orchestration_conditionals": Rules(output=EMAIL_OUTCOME),
    "07_single_agent_orchestration_hitl": Rules(
        waiting_on=review_requested,
        output=r'"output": \{"content": "\S',
        expect={
            '"approval_timeout_hours": 0.001': Expect(
                final="Failed", output="timed out", why="the demo's short timeout: nobody answers within 3.6 s"
            ),
        },
        # The demo lists the approval first. After it the run has finished, and a rejection has nothing to reach;
        # a reviewer rejects with feedback first, then approves the rewrite.
        send_before={'"approved": false': '"approved": true'},
    ),
    "09_workflow_shared_state": Rules(
        output=EMAIL_OUTCOME,
        expect={
            "/instances/purge": Expect(
                status=404,
                why="purge is DELETE .../instances?createdTimeFrom=...; the Durable extension answers a POST to "
                "instances/purge (an instance id with no operation) with 404",
            )
        },
    ),
    "10_workflow_no_shared_state": Rules(output=EMAIL_OUTCOME),
    "11_workflow_parallel": Rules(output="=== Document Analysis Report ==="),
    "12_workflow_hitl": Rules(
        expect={
            '"approved": true': Expect(output="APPROVED and published"),
            '"approved": false': Expect(output="REJECTED"),
        },
    ),
    "13_subworkflow_hitl": Rules(expect={'"approved": true': Expect(output="APPROVED and published")}),
}
# Samples without a demo.http, driven as their README says.
README_DRIVERS = {"08_mcp_server": mcp_sample.drive}


def sample_folders() -> list[Path]:
    return sorted(path.parent for path in samples_root().glob("*/function_app.py"))


@pytest.mark.parametrize("sample", sample_folders(), ids=lambda path: path.name)
def test_sample_runs_unchanged_but_for_its_chat_client(sample: Path, tmp_path: Path, offline_model: Any) -> None:
    copy, swap = copy_with_kit_client(sample, tmp_path)
    swap.added_files |= ADDED_FILES
    template = template_settings(sample)
    redis = processes.start_redis(work_dir=tmp_path / "redis") if "REDIS_CONNECTION_STRING" in template else None
    try:
        settings = kit_settings(template, offline_model.url, redis.url if redis else None)
        model_env = write_local_settings(copy, settings)
        check_only_the_client_changed(sample, copy, swap)
        host = processes.start_host(
            copy, state_db=tmp_path / "state.db", env=model_env, log_path=tmp_path / "host.log", timeout=60
        )
        try:
            log = drive(sample, copy, host.url)
        except Exception as error:
            raise AssertionError(f"{error}\n--- host log (end) ---\n{host.log_tail()}") from error
        finally:
            host.stop()
    finally:
        if redis is not None:
            redis.stop()
    print(f"\n{sample.name}:\n  " + "\n  ".join(log))


def check_only_the_client_changed(sample: Path, copy: Path, swap: Changes) -> None:
    changes = changes_between(sample, copy)
    assert (changes.lines, changes.added_files, changes.missing_files) == (
        swap.lines,
        swap.added_files,
        swap.missing_files,
    ), f"the copy differs from the sample in more than the client import:\n{describe(changes)}"
    for removed, added in changes.lines.values():
        assert all(CLIENT_IMPORT.fullmatch(line.strip()) for line in removed), describe(changes)
        assert any(line.strip().startswith(f"from {SHIM_MODULE} import ") for line in added), describe(changes)


def drive(sample: Path, copy: Path, base_url: str) -> list[str]:
    if (copy / "demo.http").is_file():
        return Replay(demo_http.read(copy / "demo.http"), base_url, RULES.get(sample.name, Rules())).run()
    assert sample.name in README_DRIVERS, f"{sample.name} has no demo.http, and the check has no driver for it"
    return README_DRIVERS[sample.name](copy, base_url)
