"""Microsoft's official `samples-v2` apps of azure-functions-durable-python, copied verbatim under apps/samples_v2_*,
run unchanged on the embedded host with the outputs their code computes.

Not here, because they cannot run offline: `fan_in_fan_out` (uploads to Azure Blob Storage through
azure-storage-blob and AzureWebJobsStorage) and `openai_agents` (the OpenAI Agents SDK against Azure OpenAI).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import DURABLE_WEBHOOKS, DurableApi, app_copy

pytestmark = pytest.mark.timeout(90)


def serve(start_host, app: str | Path, **options) -> DurableApi:
    return DurableApi(start_host(app, **options).url)


@pytest.mark.parametrize(
    ("app", "route"),
    [
        ("samples_v2_function_chaining", "orchestrators/my_orchestrator"),
        ("samples_v2_blueprint", "startOrchestrator"),
    ],
)
def test_function_chaining_samples(start_host, app: str, route: str) -> None:
    api = serve(start_host, app)
    response = api.http.post(api.app_url(route))
    assert response.status_code == 202, response.text
    final = api.wait_for(response.json()["statusQueryGetUri"])
    assert final["runtimeStatus"] == "Completed", final
    assert final["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]


def test_blueprint_sample_keeps_its_plain_http_function(start_host) -> None:
    api = serve(start_host, "samples_v2_blueprint")
    assert (
        api.http.get(api.app_url("HttpTrigger"), params={"name": "Ann"}).text
        == "Hello, Ann. This HTTP triggered function executed successfully."
    )


def test_simple_sub_orchestration_sample(start_host) -> None:
    api = serve(start_host, "samples_v2_simple_sub_orchestration")
    final = api.wait_for(api.http.post(api.app_url("orchestrators/orchestrator")).json()["id"])
    assert final["runtimeStatus"] == "Completed" and final["output"] == "Hello Seattle", final


def test_serialize_arguments_sample(start_host) -> None:
    api = serve(start_host, "samples_v2_serialize_arguments")
    final = api.wait_for(api.http.post(api.app_url("orchestrators/orchestrator")).json()["id"])
    assert final["runtimeStatus"] == "Completed" and final["output"] == 5, final
    # The custom class crossed the client boundary in the SDK's own envelope.
    assert json.loads(final["input"])["__class__"] == "SerializableClass"


def start_versioned(api: DurableApi, version: str | None = None) -> str:
    params = {"version": version} if version is not None else None
    response = api.http.get(api.app_url("orchestrators/my_orchestrator"), params=params)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def continue_and_wait(api: DurableApi, instance_id: str) -> dict:
    api.wait_for(instance_id, {"Running"}, predicate=lambda s: s.get("customStatus") == "Waiting for Continue event...")
    response = api.http.post(f"{DURABLE_WEBHOOKS}/instances/{instance_id}/raiseEvent/Continue", json=None)
    assert response.status_code == 202, response.text
    return api.wait_for(instance_id)


def test_orchestration_versioning_sample(start_host) -> None:
    api = serve(start_host, "samples_v2_orchestration_versioning")
    default = continue_and_wait(api, start_versioned(api))
    assert default["output"] == [
        "Orchestration version: 1.0",
        "Suborchestration version (explicit): 0.9",
        "Suborchestration version (default): 1.0",
        "Hello from A!",
    ]
    older = continue_and_wait(api, start_versioned(api, "0.5"))
    assert older["output"] == [
        "Orchestration version: 0.5",
        "Suborchestration version (explicit): 0.9",
        "Suborchestration version (default): 1.0",
        "Hello from B!",
    ]
    # Newer than this host's defaultVersion: the default CurrentOrOlder + Reject leave it waiting, unprocessed.
    newer = start_versioned(api, "2.0")
    api.wait_for(newer, {"Pending"})
    assert api.status(newer).json()["runtimeStatus"] == "Pending"


def test_orchestration_versioning_sample_across_a_deployment(start_host, tmp_path: Path) -> None:
    """The sample README's walk-through: stop the app mid-run, raise defaultVersion to 2.0, start it again."""
    app = app_copy("samples_v2_orchestration_versioning", tmp_path)
    state = tmp_path / "state.db"
    first = start_host(app, state_db=state)
    api = DurableApi(first.url)
    instance_id = start_versioned(api)
    api.wait_for(instance_id, {"Running"}, predicate=lambda s: s.get("customStatus") == "Waiting for Continue event...")
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(timeout=20) == 0
    host_json = app / "host.json"
    host_json.write_text(host_json.read_text().replace('"defaultVersion": "1.0"', '"defaultVersion": "2.0"'))
    api = DurableApi(start_host(app, state_db=state).url)
    final = continue_and_wait(api, instance_id)
    assert final["output"] == [
        "Orchestration version: 1.0",
        "Suborchestration version (explicit): 0.9",
        "Suborchestration version (default): 2.0",
        "Hello from A!",
    ]
