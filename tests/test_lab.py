"""The notebook toolbox: views of history / entity state / host logs, timelines, poll, environment report.

The pure parts run on recorded-shape JSON; `test_kit_end_to_end` starts the real offline model and the
embedded host once and checks what the notebooks rely on.
"""

from __future__ import annotations

import html
import io
import itertools
import json
import re
from contextlib import redirect_stderr
from pathlib import Path

import httpx
import pytest

from helpers import lab
from helpers.lab import durable_client, session
from helpers.lab import environment as lab_env
from helpers.lab.plots import as_calls, overlap_summary, timeline_plot
from helpers.lab.views import (
    Table,
    agent_text,
    conversation_rows,
    decode_nested,
    entity_calls,
    episode_table,
    episodes,
    excerpt,
    history_rows,
    replay_counts,
)

KEY = "0b85f528-23c3-5571-a144-e29dd6522db7"
AGENT_REPLY = {
    "type": "agent_response",
    "messages": [
        {"type": "message", "role": "assistant", "contents": [{"type": "text", "text": "Learning never ends."}]}
    ],
}

# Shaped like the Durable HTTP API's showHistory=true&showHistoryOutput=true&showInput=true answer.
HISTORY = [
    {
        "EventType": "ExecutionStarted",
        "Timestamp": "2026-01-01T00:00:00.000000Z",
        "FunctionName": "chain",
        "Input": None,
    },
    {
        "EventType": "EventSent",
        "Timestamp": "2026-01-01T00:00:00.1Z",
        "InstanceId": f"@dafx-writeragent@{KEY}",
        "Name": "op",
        "Input": json.dumps({"op": "run", "id": "9a2f0000-0000-0000-0000-000000000000"}),
    },
    {
        "EventType": "EventRaised",
        "Timestamp": "2026-01-01T00:00:01Z",
        "Name": "9a2f0000-0000-0000-0000-000000000000",
        "Input": json.dumps({"result": json.dumps(AGENT_REPLY)}),
    },
    {"EventType": 5, "EventId": -1, "TaskScheduledId": 2, "FunctionName": "notify", "Result": '"sent"'},
    {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Completed", "Result": "Learning never ends."},
]

STATE = {
    "schemaVersion": "1.1.0",
    "data": {
        "conversationHistory": [
            {"$type": "request", "messages": [{"role": "user", "contents": [{"$type": "text", "text": "Write."}]}]},
            {
                "$type": "response",
                "messages": [{"role": "assistant", "contents": [{"$type": "text", "text": "Done."}]}],
            },
            {"$type": "request", "messages": [{"role": "user", "contents": [{"$type": "text", "text": "Better."}]}]},
            {
                "$type": "response",
                "messages": [{"role": "assistant", "contents": [{"$type": "error", "message": "HTTP 500"}]}],
            },
        ]
    },
}

LOG = [
    "info: abc123: Function 'chain (Orchestrator)' started. IsReplay: False. Episode: 1. HistoryEvents: 2.",
    "info: abc123: Function 'run (Entity)' started.",
    "info: abc123: Function 'chain (Orchestrator)' started. IsReplay: True. Episode: 2. HistoryEvents: 6.",
    "info: other9: Function 'fan (Orchestrator)' started. IsReplay: False. Episode: 1. HistoryEvents: 2.",
    # the real Functions host writes more fields after IsReplay and no episode number
    "abc123: Function 'chain (Orchestrator)' started. IsReplay: True. Input: (null). State: Started.",
]


def test_table_prints_and_renders_fixed_columns() -> None:
    table = Table(("a", "b"), [{"a": 1, "b": "x<y"}, {"a": 22}], title="t")
    assert len(table) == 2 and table[0]["a"] == 1 and table.column("a") == [1, 22]
    assert repr(table).splitlines() == ["t", "a   b", "--  ---", "1   x<y", "22"]
    assert "x&lt;y" in table._repr_html_()
    assert "class='mathjax_ignore tex2jax_ignore'" in table._repr_html_()  # `$A ... $B` is not LaTeX
    assert table.where(a=22).rows == [{"a": 22}]
    assert table.select("b").columns == ("b",) and table.select("b")[1] == {"b": None}
    with pytest.raises(KeyError, match="columns are a, b"):
        table.column("c")


def test_excerpt_flattens_and_cuts() -> None:
    assert excerpt("a\n  b") == "a b"
    assert excerpt("x" * 100, 10) == "x" * 9 + "…"
    assert excerpt({"k": 1}) == '{"k": 1}'


def test_decode_nested_undoes_json_in_json() -> None:
    wrapped = json.dumps(json.dumps({"result": json.dumps([1, "two"])}))
    assert decode_nested(wrapped) == {"result": [1, "two"]}
    assert decode_nested("plain text") == "plain text"
    assert agent_text(json.dumps({"result": json.dumps(AGENT_REPLY)})) == "Learning never ends."
    assert agent_text({"something": "else"}) is None


def test_history_rows_name_entity_calls_and_results() -> None:
    table = history_rows(HISTORY)
    assert table.columns == ("#", "event", "name", "task id", "detail")
    assert table.column("event") == [
        "ExecutionStarted",
        "EventSent",
        "EventRaised",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    assert table[1]["name"] == "dafx-writeragent.run" and table[1]["detail"] == f"session {KEY}"
    assert table[2]["name"] == "entity response" and table[2]["detail"] == "Learning never ends."
    assert table[3]["task id"] == 2 and table[3]["detail"] == "sent"
    assert table[4]["detail"] == "Completed: Learning never ends."
    assert "timestamp" not in table.columns
    assert history_rows(HISTORY, timestamps=True)[0]["timestamp"] == "2026-01-01T00:00:00.000000Z"


def test_entity_calls_read_the_session_key() -> None:
    assert entity_calls(HISTORY) == [{"entity": "dafx-writeragent", "key": KEY, "operation": "run"}]


def test_conversation_rows_one_row_per_message() -> None:
    table = conversation_rows(json.dumps(STATE))
    assert [(r["entry"], r["role"]) for r in table] == [
        ("request", "user"),
        ("response", "assistant"),
        ("request", "user"),
        ("response", "assistant"),
    ]
    assert table[1]["text"] == "Done." and table[3]["text"] == "error: HTTP 500"
    with pytest.raises(ValueError, match="conversationHistory"):
        conversation_rows({"count": 3})


def test_episodes_and_replay_counts_from_log_lines() -> None:
    found = episodes(LOG, "abc123")
    assert [(e.number, e.is_replay, e.history_events) for e in found] == [(1, False, 2), (2, True, 6), (3, True, None)]
    assert replay_counts(LOG) == {"abc123": {"episodes": 3, "replays": 2}, "other9": {"episodes": 1, "replays": 0}}
    assert episode_table(LOG, "other9").rows == [{"episode": 1, "replay": False, "history events in": 2}]


def test_overlap_summary_tells_chain_from_fan_out() -> None:
    chain = [{"start": 0.0, "end": 1.0}, {"start": 1.1, "end": 2.1}]
    fan_out = [
        {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:01+00:00"},
        {"start": "2026-01-01T00:00:00.05+00:00", "end": "2026-01-01T00:00:01.05+00:00"},
    ]
    sequential, parallel = overlap_summary(chain), overlap_summary(fan_out)
    assert not sequential.overlapped and sequential.span_over_total > 1.0
    assert parallel.overlapped and parallel.span_over_total == pytest.approx(0.525)
    with pytest.raises(ValueError, match="start and end"):
        as_calls([{"start": 1}])


def test_timeline_plot_draws_one_bar_per_call() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = timeline_plot(
        {
            "chain": [{"start": 5, "end": 6, "agent": "Writer"}, {"start": 6, "end": 7}],
            "fan-out": [{"start": 9, "end": 10}, {"start": 9.1, "end": 10}],
        }
    )
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "chain: 1. Writer",
        "chain: 2. call 2",
        "fan-out: 1. call 1",
        "fan-out: 2. call 2",
    ]
    assert min(p.get_x() for p in ax.patches) == 0.0  # each group is shifted to start at 0


def _status_transport(statuses: list[tuple[int, dict]]) -> httpx.MockTransport:
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        code, body = next(answers)
        return httpx.Response(code, json=body)

    return httpx.MockTransport(handler)


def test_swimlane_draws_only_the_instance_s_own_model_calls_with_labels_that_never_overlap() -> None:
    from types import SimpleNamespace

    from helpers.lab.plots import calls_in_turns, episode_labels, swimlane_plot
    from helpers.lab.stepper import Span

    turns = [Span("dafx-writeragent", "turn", 100.0, 100.4), Span("dafx-writeragent", "turn", 102.5, 102.8)]
    calls = [
        {"start": 100.05, "end": 100.37},  # inside turn 1
        {"start": 102.51, "end": 102.79},  # inside turn 2
        {"start": 103.0, "end": 103.3},  # another instance's call, after this one's last turn
        {"start": 100.1, "end": None},  # still in flight
    ]
    assert [round(c.start, 2) for c in calls_in_turns(calls, turns)] == [100.05, 102.51]
    # 2 and 3 are a few ms apart, as are 5, 6, 7: one label each group, every label at least the gap apart
    at = [(1, 0.0), (2, 0.38), (3, 0.385), (4, 2.5), (5, 2.82), (6, 2.83), (7, 2.84)]
    labels = episode_labels(at, min_gap=0.13)
    assert [label for label, _ in labels] == ["1", "2–3", "4", "5–7"]
    assert all(b - a >= 0.13 for (_, a), (_, b) in itertools.pairwise(labels))
    spans = [Span("orchestrator", f"episode {n}", 100.0 + x, 100.004 + x) for n, x in at] + turns
    ax = swimlane_plot(SimpleNamespace(spans=spans), calls).axes[0]
    assert [t.get_text() for t in ax.texts] == ["1", "2–3", "4", "5–7"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["orchestrator", "dafx-writeragent", "model calls"]
    top = min(ax.get_ylim())  # the y axis is inverted: the frame's top edge is the smallest y
    assert all(t.xy[1] - top > 0.3 for t in ax.texts)  # above the top lane, inside the frame


def test_replay_steps_table_labels_keys_and_leaves_out_an_empty_custom_status_column() -> None:
    from helpers.lab.stepper import ReplayedEpisode, ReplaySteps, describe_action

    call = describe_action({"actionType": 7, "instanceId": f"@dafx-writeragent@{KEY}", "operation": "run"})
    assert call == f"call entity dafx-writeragent/{KEY}.run"
    steps = ReplaySteps("id", "chain", [ReplayedEpisode(1, ["start"], [(False, call)], [call])])
    table = steps.table()
    assert "custom status" not in table.columns
    assert table[0]["new actions"] == "call entity dafx-writeragent/key-1.run"
    steps.episodes.append(ReplayedEpisode(2, ["entity answer: hi"], [(True, call)], ["complete"], {"step": "done"}))
    assert steps.table().column("custom status") == ["", '{"step": "done"}']


def test_poll_waits_for_a_final_status_and_draws_a_stable_bar() -> None:
    client = httpx.Client(
        transport=_status_transport(
            [
                (202, {"runtimeStatus": "Pending"}),
                (202, {"runtimeStatus": "Running"}),
                (200, {"runtimeStatus": "Completed", "output": "ok"}),
            ]
        )
    )
    err = io.StringIO()
    with redirect_stderr(err):
        status = lab.poll("http://test/status", client=client, interval=0.01, desc="chain")
    assert status["output"] == "ok"
    final_line = re.sub(r"^.*\r", "", err.getvalue().rstrip("\n"), flags=re.S)  # what a terminal shows at the end
    assert final_line.startswith("chain: Completed 100%|") and final_line.endswith("| [00:00]")


def test_poll_colours_a_widget_bar_by_how_the_instance_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """In JupyterLab the bar is a widget: green (tqdm's "success") for Completed, red ("danger") otherwise."""
    from tqdm.notebook import tqdm_notebook

    from helpers.lab import polling

    monkeypatch.setattr(polling, "tqdm", tqdm_notebook)  # what tqdm.auto picks in a notebook with ipywidgets
    bars = []
    drawn = polling._progress_bar

    def recording(desc: str, total: int):
        bar, handle = drawn(desc, total)
        bars.append(bar)
        return bar, handle

    monkeypatch.setattr(polling, "_progress_bar", recording)
    for final, style in (("Completed", "success"), ("Failed", "danger"), ("Terminated", "danger")):
        statuses = [(202, {"runtimeStatus": "Running"}), (200, {"runtimeStatus": final})]
        client = httpx.Client(transport=_status_transport(statuses))
        with redirect_stderr(io.StringIO()):
            assert lab.poll("http://test/s", client=client, interval=0.01, expect=None)["runtimeStatus"] == final
        _label, progress, _counter = bars[-1].container.children
        assert (progress.bar_style, progress.value, progress.max) == (style, progress.max, 60), final


def test_poll_reports_failures_and_timeouts_clearly() -> None:
    failed = httpx.Client(transport=_status_transport([(500, {"runtimeStatus": "Failed", "output": "boom"})]))
    with redirect_stderr(io.StringIO()), pytest.raises(lab.LabError, match="ended Failed, expected Completed: boom"):
        lab.poll("http://test/s", client=failed, interval=0.01)
    stuck = httpx.Client(transport=_status_transport([(202, {"runtimeStatus": "Running"})] * 100))
    with redirect_stderr(io.StringIO()), pytest.raises(lab.LabError, match="still Running after 0s"):
        lab.poll("http://test/s", client=stuck, interval=0.01, timeout=0.05)
    missing = httpx.Client(transport=_status_transport([(404, {})]))
    with redirect_stderr(io.StringIO()), pytest.raises(lab.LabError, match="404"):
        lab.poll("http://test/s", client=missing)


def test_masking_never_shows_a_secret() -> None:
    shown = lab_env.masked_environment(
        ["AZURE_OPENAI_API_KEY", "OPENAI_MODEL", "X_TOKEN"],
        {"AZURE_OPENAI_API_KEY": "sk-1234567890abcdef", "OPENAI_MODEL": "m", "X_TOKEN": "short"},
    )
    assert shown == {"AZURE_OPENAI_API_KEY": "****ef", "OPENAI_MODEL": "m", "X_TOKEN": "****"}
    assert lab_env.endpoint_only("https://user:pw@example.com:8443/path?key=s") == "https://example.com:8443"


def test_environment_report_says_what_start_will_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "model_client.py").write_text(
        (lab_env.DEFAULT_APP_DIR / "model_client.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (app / "local.settings.json").write_text(
        json.dumps(
            {
                "Values": {
                    "AZURE_OPENAI_ENDPOINT": "https://my.openai.azure.com/",
                    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "gpt",
                    "AZURE_OPENAI_API_KEY": "secret-value-123456",
                }
            }
        ),
        encoding="utf-8",
    )
    for name in lab_env.MODEL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    report = lab_env.describe_environment(app_dir=app)
    text = repr(report)
    assert report.model.mode == "offline" and report.real_backend.configured
    assert "secret-value" not in text and "****56" in text
    assert "Azure OpenAI at https://my.openai.azure.com" in text
    monkeypatch.setenv("LAB_MODEL", "nonsense")
    with pytest.raises(ValueError, match="model must be one of offline, env"):
        lab_env.describe_environment(app_dir=app)


def test_start_refuses_env_model_when_none_is_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "function_app.py").write_text("", encoding="utf-8")
    (app / "model_client.py").write_text(
        (lab_env.DEFAULT_APP_DIR / "model_client.py").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for name in lab_env.MODEL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(lab.LabError, match="none is configured: No chat model is configured"):
        lab.start(model="env", app_dir=app)
    with pytest.raises(lab.LabError, match=r"No function_app\.py"):
        lab.start(app_dir=tmp_path)
    with pytest.raises(lab.LabError, match="No kit is running"):
        lab.current()


def test_python_support_matches_the_pins() -> None:
    assert not lab_env.python_supported((3, 10, 14))
    assert lab_env.python_supported((3, 11, 0)) and lab_env.python_supported((3, 13, 2))
    assert not lab_env.python_supported((3, 14, 0))


@pytest.mark.timeout(120)
def test_kit_end_to_end() -> None:
    """One real kit: chaining run, history, entity conversation, replay log, model timings, restart."""
    kit = lab.start(latency_ms=100)
    try:
        assert lab.current() is kit
        started = httpx.post(f"{kit.base_url}/api/singleagent/run", timeout=30).json()
        instance_id = started["instanceId"]
        with redirect_stderr(io.StringIO()):
            status = lab.poll(started["statusQueryGetUri"], timeout=60)
        assert status["runtimeStatus"] == "Completed" and status["output"]

        calls = lab.entity_calls_of(instance_id)
        assert len(calls) == 2 and calls[0]["key"] == calls[1]["key"]
        assert calls[0]["entity"] == "dafx-writeragent"

        table = lab.history_table(instance_id)
        assert table.column("event")[0] == "ExecutionStarted" and table.column("event")[-1] == "ExecutionCompleted"

        sessions = lab.find_agent_sessions("WriterAgent")
        assert sessions == [calls[0]["key"]]
        conversation = lab.entity_conversation("WriterAgent", sessions[0])
        assert conversation.column("role") == ["user", "assistant", "user", "assistant"]
        assert conversation[3]["text"] == status["output"]

        counts = lab.replay_counts(kit.host_log(instance_id))
        assert counts[instance_id]["episodes"] == 3 and counts[instance_id]["replays"] == 2

        model_calls = kit.model_calls()
        assert len(model_calls) == 2 and not overlap_summary(model_calls).overlapped

        kit.restart_host()
        assert lab.entity_conversation("WriterAgent", sessions[0]).rows == conversation.rows  # state kept
    finally:
        kit.stop()
    assert not kit.host_running
    assert not kit.work_dir.exists()


# ------------------------------------------------------------------------------- func host, Durable API edges

DTS = "Endpoint=http://localhost:8080;TaskHub=default;Authentication=None"
OFFLINE = lab_env.BackendChoice("offline", "offline model", False)
GATEWAY_URL = "http://127.0.0.1:1"  # stands in for a started model gateway


def test_func_sessions_get_a_task_hub_of_their_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"Values": {"TASKHUB_NAME": "default", session.DTS_CONNECTION_SETTING: DTS}}), encoding="utf-8"
    )
    monkeypatch.delenv("TASKHUB_NAME", raising=False)
    monkeypatch.delenv(session.DTS_CONNECTION_SETTING, raising=False)
    first = lab.Lab(model=OFFLINE, host="func", app_dir=tmp_path, latency_ms=0)
    second = lab.Lab(model=OFFLINE, host="func", app_dir=tmp_path, latency_ms=0)
    first._gateway_url = second._gateway_url = GATEWAY_URL
    try:
        assert re.fullmatch(r"kit[0-9a-f]{8}", first.task_hub) and first.task_hub != second.task_hub
        env = first._host_env()
        assert env["TASKHUB_NAME"] == first.task_hub
        assert (
            env[session.DTS_CONNECTION_SETTING] == f"Endpoint=http://localhost:8080;TaskHub={first.task_hub};"
            "Authentication=None"
        )
        assert first._host_env()["TASKHUB_NAME"] == first.task_hub  # the same hub after a restart
        # an environment variable wins over local.settings.json, and is rewritten the same way
        monkeypatch.setenv(session.DTS_CONNECTION_SETTING, "Endpoint=http://dts:9;Authentication=None")
        assert (
            second._host_env()[session.DTS_CONNECTION_SETTING]
            == f"Endpoint=http://dts:9;Authentication=None;TaskHub={second.task_hub}"
        )
    finally:
        first.stop()
        second.stop()


def test_embedded_host_environment_keeps_the_configured_hub() -> None:
    assert lab.Lab(model=OFFLINE, host="embedded", app_dir=Path("."), latency_ms=0).task_hub is None
    loopback = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    assert lab.host_environment({}, model={}, task_hub=None) == {"TASKHUB_NAME": "default", **loopback}
    assert lab.host_environment(
        {"TASKHUB_NAME": "mine", session.DTS_CONNECTION_SETTING: DTS, "NO_PROXY": "corp", "no_proxy": "127.0.0.1"},
        model={},
        task_hub=None,
    ) == {"NO_PROXY": "corp,127.0.0.1,localhost"}
    offline = lab.model_settings(OFFLINE, "http://127.0.0.1:1")
    env = lab.host_environment({"OPENAI_API_KEY": "sk-real"}, model=offline, task_hub=None)
    assert env["OPENAI_API_KEY"] == "" and env["AZURE_OPENAI_ENDPOINT"] == "http://127.0.0.1:1"


def test_with_task_hub_rewrites_only_the_task_hub_part() -> None:
    assert lab.with_task_hub(DTS, "kit1") == "Endpoint=http://localhost:8080;TaskHub=kit1;Authentication=None"
    assert lab.with_task_hub("taskhub=old;Endpoint=x", "kit1") == "TaskHub=kit1;Endpoint=x"
    assert lab.with_task_hub("Endpoint=x;", "kit1") == "Endpoint=x;TaskHub=kit1"


def _lab_answering(handler) -> lab.Lab:
    """A Lab that was never started, whose HTTP client talks to `handler` instead of a host."""
    kit = lab.Lab(model=OFFLINE, host="func", app_dir=Path("."), latency_ms=0)
    kit._port = 7071
    kit._http = httpx.Client(transport=httpx.MockTransport(handler))
    return kit


def test_find_agent_sessions_follows_continuation_tokens() -> None:
    pages = {None: (["k1", "k2"], "page-2"), "page-2": (["k3"], "page-3"), "page-3": (["k4"], None)}
    seen_tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/entities/dafx-WriterAgent")
        token = request.headers.get(durable_client.CONTINUATION_HEADER)
        seen_tokens.append(token)
        keys, next_token = pages[token]
        body = [{"entityId": {"name": "dafx-writeragent", "key": key}} for key in keys]
        return httpx.Response(
            200, json=body, headers={durable_client.CONTINUATION_HEADER: next_token} if next_token else {}
        )

    kit = _lab_answering(handler)
    try:
        assert kit.find_agent_sessions("WriterAgent") == ["k1", "k2", "k3", "k4"]
        assert seen_tokens == [None, "page-2", "page-3"]
    finally:
        kit.stop()


def test_durable_api_server_errors_name_the_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("showHistory"):
            return httpx.Response(500, text="NotSupportedException: history")
        if "failed" in request.url.path:  # returnInternalServerErrorOnFailure: a failed instance's status, 500
            return httpx.Response(500, json={"runtimeStatus": "Failed", "output": "boom"})
        return httpx.Response(503, text="backend down")

    kit = _lab_answering(handler)
    try:
        with pytest.raises(
            lab.LabError,
            match=r"`func start` .* answered 500 when asked for the history of "
            r"instance abc: NotSupportedException.*showHistory",
        ):
            kit.history("abc")
        assert kit.status("failed")["runtimeStatus"] == "Failed"
        with pytest.raises(lab.LabError, match="answered 503 when asked for the state of entity dafx-W/k"):
            kit.entity_state("dafx-W", "k")
        with pytest.raises(lab.LabError, match="answered 503 when asked for the list of dafx-W entities"):
            kit.find_agent_sessions("W")
    finally:
        kit.stop()


def test_long_html_cells_may_break_inside_words_short_ones_not() -> None:
    long_value = "Endpoint=$DTS_ENDPOINT;TaskHub=default;Authentication=ManagedIdentity"
    cells = re.findall(
        r"<td style='([^']*)'>([^<]*)</td>", Table(("a", "b"), [{"a": "short", "b": long_value}])._repr_html_()
    )
    assert [text for _, text in cells] == ["short", long_value]
    assert "overflow-wrap:anywhere" not in cells[0][0] and "overflow-wrap:anywhere" in cells[1][0]


def test_urls_in_a_fields_table_break_only_between_their_parts_and_copy_whole() -> None:
    url = "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/abc/raiseEvent/{eventName}?taskHub=a&x=b"
    table = lab.views.fields_table({"id": "abc", "sendEventPostUri": url, "retries": 3})
    page = table._repr_html_()
    assert "overflow-wrap:anywhere" not in page
    cells = re.findall(r"<td style='[^']*'><code class='kit-url' style='([^']*)'>(.*?)</code></td>", page)
    assert [html.unescape(text.replace("<wbr>", "")) for _, text in cells] == ["abc", url, "3"]
    assert cells[1][1].split("<wbr>") == [
        "http://127.0.0.1:7071/",
        "runtime/",
        "webhooks/",
        "durabletask/",
        "instances/",
        "abc/",
        "raiseEvent/",
        "{eventName}?",
        "taskHub=a&amp;",
        "x=b",
    ]
    assert all("overflow-wrap:normal" in style and "word-break:keep-all" in style for style, _ in cells)
    assert repr(table).splitlines()[-2].split() == ["sendEventPostUri", url]
    assert table.select("value").url_columns == ("value",) and table.select("field").url_columns == ()


def test_ask_agent_waits_in_the_entity_when_the_route_gave_up_waiting() -> None:
    reads = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.url.path == "/api/agents/WriterAgent/run"
            return httpx.Response(202, json={"status": "timeout", "session_id": "s1"})
        reads.append(request.url.path)
        history = [
            {
                "$type": "request",
                "correlationId": "c",
                "messages": [{"role": "user", "contents": [{"$type": "text", "text": "hello"}]}],
            }
        ]
        if len(reads) > 1:  # the answer arrives on the second read
            history.append(
                {
                    "$type": "response",
                    "correlationId": "c",
                    "messages": [{"role": "assistant", "contents": [{"$type": "text", "text": "hi there"}]}],
                }
            )
        return httpx.Response(200, json={"schemaVersion": "1.1.0", "data": {"conversationHistory": history}})

    kit = _lab_answering(handler)
    reply = kit.ask_agent("WriterAgent", "hello", "s1", timeout=10)
    assert reply["status"] == "success" and reply["response"] == "hi there" and reply["message_count"] == 2
    assert reads and all(path.endswith("/entities/dafx-WriterAgent/s1") for path in reads)
