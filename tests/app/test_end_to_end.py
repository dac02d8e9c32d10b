"""The seed samples end to end: embedded Functions host + `functions_app/` unchanged + the offline model.

What is checked, against real processes over real HTTP:
- both seed HTTP contracts, key by key;
- the shared session: one WriterAgent entity holds both turns of the chaining run; the two science agents hold
  separate conversations;
- model traffic: two model calls per orchestration (offline model `GET /stats`);
- concurrency: with model latency L, the concurrent run finishes in less than 2L (sequential calls could not)
  and the chaining run takes at least 2L;
- bad input gets 4xx with a JSON reason and the host stays up;
- a failed model call ends the orchestration `Failed` with a readable reason instead of an empty answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from helpers.durable_vocabulary import agent_entity_name
from tests.app.conftest import FUNCTIONS_APP, MODEL_LATENCY_MS, RunningApp
from tests.conftest import wait_for_status

pytestmark = pytest.mark.timeout(120)

DURABLE = "/runtime/webhooks/durabletask"
WRITER_FIRST_PROMPT = "Write a concise inspirational sentence about learning."
WRITER_SECOND_PROMPT = "Improve this further while keeping it under 25 words: "
PROMPT = "What is temperature?"


def wait_until_finished(http: httpx.Client, status_url: str, timeout: float = 45.0) -> dict[str, Any]:
    """Poll the app's own status route (200 at every poll) until the orchestration finishes (bounded)."""
    return wait_for_status(http, status_url, timeout=timeout, expect_codes=(200,), interval=0.03)


def entity_conversations(app: RunningApp, agent: str, instance_id: str) -> dict[str, list[dict[str, Any]]]:
    """Conversation histories (entity key -> entries) of `agent` that belong to orchestration `instance_id`.

    Found by listing the agent's entities, then each one is read again through the single-entity route.
    """
    listing = app.http.get(f"{DURABLE}/entities/{agent_entity_name(agent)}", params={"fetchState": "true"})
    assert listing.status_code == 200, listing.text
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in listing.json():
        key = entry["entityId"]["key"]
        state = app.http.get(f"{DURABLE}/entities/{agent_entity_name(agent)}/{key}")
        assert state.status_code == 200, state.text
        value = state.json()
        value = json.loads(value) if isinstance(value, str) else value
        history = value["data"]["conversationHistory"]
        if any(item.get("orchestrationId") == instance_id for item in history):
            found[key] = history
    return found


def texts(entry: dict[str, Any]) -> list[str]:
    return [c.get("text", "") for m in entry["messages"] for c in m["contents"] if c.get("$type") == "text"]


def start_single(app: RunningApp) -> dict[str, Any]:
    response = app.http.post("/api/singleagent/run")
    assert response.status_code == 202, response.text
    return response.json()


def start_multi(app: RunningApp, prompt: str = PROMPT) -> dict[str, Any]:
    response = app.http.post("/api/multiagent/run", content=prompt.encode(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 202, response.text
    return response.json()


def test_single_agent_chaining_contract_and_shared_session(running_app: RunningApp) -> None:
    app = running_app
    calls_before = app.model_calls()

    started = start_single(app)
    assert set(started) == {"message", "instanceId", "statusQueryGetUri"}
    assert started["message"] == "Single-agent orchestration started."
    instance_id = started["instanceId"]
    assert started["statusQueryGetUri"] == f"{app.host.url}/api/singleagent/status/{instance_id}"

    final = wait_until_finished(app.http, started["statusQueryGetUri"])
    assert final["runtimeStatus"] == "Completed", final
    assert final["instanceId"] == instance_id
    output = final["output"]
    assert isinstance(output, str) and output.strip()

    assert app.model_calls() - calls_before == 2

    conversations = entity_conversations(app, "WriterAgent", instance_id)
    assert len(conversations) == 1, f"expected one shared writer session, found {list(conversations)}"
    (history,) = conversations.values()
    assert [entry["$type"] for entry in history] == ["request", "response", "request", "response"]
    first_answer = " ".join(texts(history[1]))
    assert texts(history[0]) == [WRITER_FIRST_PROMPT]
    assert texts(history[2]) == [WRITER_SECOND_PROMPT + first_answer]
    assert " ".join(texts(history[3])) == output
    assert output != first_answer  # the second turn was answered from a longer conversation


def test_multi_agent_concurrency_contract_and_separate_sessions(running_app: RunningApp) -> None:
    app = running_app
    calls_before = app.model_calls()

    started = start_multi(app, f"  {PROMPT}\n")
    assert set(started) == {"message", "prompt", "instanceId", "statusQueryGetUri"}
    assert started["message"] == "Multi-agent concurrent orchestration started."
    assert started["prompt"] == PROMPT
    instance_id = started["instanceId"]
    assert started["statusQueryGetUri"] == f"{app.host.url}/api/multiagent/status/{instance_id}"

    final = wait_until_finished(app.http, started["statusQueryGetUri"])
    assert final["runtimeStatus"] == "Completed", final
    output = final["output"]
    assert set(output) == {"physicist", "chemist"}
    assert output["physicist"].strip() and output["chemist"].strip()
    assert output["physicist"] != output["chemist"]  # different instructions, different answers

    assert app.model_calls() - calls_before == 2

    for agent, answer in (("PhysicistAgent", output["physicist"]), ("ChemistAgent", output["chemist"])):
        conversations = entity_conversations(app, agent, instance_id)
        assert len(conversations) == 1, f"{agent}: {list(conversations)}"
        (history,) = conversations.values()
        assert [entry["$type"] for entry in history] == ["request", "response"]
        assert texts(history[0]) == [PROMPT]
        assert " ".join(texts(history[1])) == answer


def timed_run(app: RunningApp, start: Any) -> float:
    began = time.monotonic()
    final = wait_until_finished(app.http, start(app)["statusQueryGetUri"])
    elapsed = time.monotonic() - began
    assert final["runtimeStatus"] == "Completed", final
    return elapsed


def test_concurrent_agents_overlap_and_chained_calls_do_not(running_app: RunningApp) -> None:
    latency = MODEL_LATENCY_MS / 1000
    multi = timed_run(running_app, start_multi)
    chain = timed_run(running_app, start_single)
    # Two sequential model calls cannot finish in under 2L; the concurrent run must, with L of slack for the host.
    assert multi < 2 * latency, f"multi-agent run took {multi:.2f}s with model latency {latency:.2f}s"
    assert chain >= 2 * latency, f"chaining run took {chain:.2f}s with model latency {latency:.2f}s"
    assert chain > 1.2 * multi, f"chaining {chain:.2f}s vs concurrent {multi:.2f}s"


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "Prompt is required"),
        (b" \n\t ", 400, "Prompt is required"),
        (b"\xff\xfe", 400, "UTF-8"),
        (b"x" * 4001, 413, "limit is 4000"),
        (b"x" * 200_000, 413, "limit is 4000"),
    ],
)
def test_bad_prompts_get_a_json_reason(running_app: RunningApp, body: bytes, status: int, reason: str) -> None:
    calls_before = running_app.model_calls()
    response = running_app.http.post("/api/multiagent/run", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    assert running_app.model_calls() == calls_before
    assert running_app.http.get("/admin/host/status").json()["state"] == "Running"


@pytest.mark.parametrize("route", ["singleagent", "multiagent"])
def test_unknown_instance_is_404(running_app: RunningApp, route: str) -> None:
    response = running_app.http.get(f"/api/{route}/status/0123456789abcdef-not-there")
    assert response.status_code == 404
    assert "not found" in response.json()["error"]


def test_status_route_of_the_other_sample_is_404(running_app: RunningApp) -> None:
    started = start_single(running_app)
    wait_until_finished(running_app.http, started["statusQueryGetUri"])
    response = running_app.http.get(f"/api/multiagent/status/{started['instanceId']}")
    assert response.status_code == 404


def test_model_failure_fails_the_orchestration_with_a_reason(running_app: RunningApp) -> None:
    app = running_app
    # 400 is what Azure OpenAI answers e.g. when its content filter rejects a prompt; it is not retried.
    faults = app.model_http.post("/admin/faults", json={"fail_rate": 1.0, "fail_status": 400})
    assert faults.status_code == 200, faults.text
    try:
        final = wait_until_finished(app.http, start_single(app)["statusQueryGetUri"])
    finally:
        assert app.model_http.post("/admin/faults", json={}).status_code == 200
    assert final["runtimeStatus"] == "Failed", final
    reason = final["output"]
    assert isinstance(reason, str)
    assert "WriterAgent returned no text: the model call failed: Error code: 400" in reason  # the model's words
    assert "<class" not in reason and "BadRequestError(" not in reason  # readable, not an exception repr

    # The app recovers as soon as the model does.
    assert wait_until_finished(app.http, start_single(app)["statusQueryGetUri"])["runtimeStatus"] == "Completed"


def test_host_refuses_to_start_without_a_model(tmp_path: Any) -> None:
    from helpers import processes

    unset = {
        name: ""
        for name in (
            "AZURE_OPENAI_ENDPOINT",
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
            "AZURE_OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "OPENAI_MODEL",
            "OPENAI_API_KEY",
        )
    }
    with pytest.raises(processes.ServiceError) as error:
        service = processes.start_host(
            FUNCTIONS_APP,
            port=processes.free_port(),
            state_db=tmp_path / "state.db",
            env={**unset, "TASKHUB_NAME": "default"},
            log_path=tmp_path / "host.log",
            timeout=60,
        )
        service.stop()  # only reached if the host wrongly started
    assert "exited with code" in str(error.value)
    assert "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_CHAT_DEPLOYMENT_NAME" in str(error.value)


def test_openai_compatible_backend_end_to_end(running_app: RunningApp, tmp_path: Any) -> None:
    """Backend 2 for real: the app talks to the offline model's plain `/v1` routes as it would to Ollama."""
    from helpers import processes

    env = {
        "AZURE_OPENAI_ENDPOINT": "",
        "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "",
        "AZURE_OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": f"{running_app.model.url}/v1",
        "OPENAI_MODEL": "offline-model",
        "OPENAI_API_KEY": "",
        "TASKHUB_NAME": "default",
    }
    before = running_app.model_http.get("/stats").json()["by_route"].get("openai.chat.completions", 0)
    with (
        processes.start_host(
            FUNCTIONS_APP,
            port=processes.free_port(),
            state_db=tmp_path / "state.db",
            env=env,
            log_path=tmp_path / "host.log",
        ) as host,
        httpx.Client(base_url=host.url, timeout=30.0) as http,
    ):
        started = http.post("/api/singleagent/run").json()
        final = wait_until_finished(http, started["statusQueryGetUri"])
        assert final["runtimeStatus"] == "Completed", final
        assert "Model backend: OpenAI-compatible server at " + running_app.model.url in host.log_text()
    after = running_app.model_http.get("/stats").json()["by_route"].get("openai.chat.completions", 0)
    assert after - before == 2


def test_the_model_key_never_reaches_the_host_log(running_app: RunningApp) -> None:
    log = running_app.host.log_text()
    assert "Model backend: Azure OpenAI at " + running_app.model.url in log
    assert "offline-key" not in log
