"""Send a sample's demo.http to a running host as a person would, and check every answer against what the sample says.

Requests go in file order (a sample's `Rules` may move one, saying why), each to the host instead of
`http://localhost:7071`. What a person does by hand between requests, the replay does the same way:
- `{{instanceId}}`, `{{requestId}}` and `{cursor_id}` are values the demo asks to copy from an earlier answer
  ("Replace with the instance ID from the response above"). They get what the replay saw: the instance of the
  oldest run still waiting for a person, else of the last run started; that run's first pending request; the
  first event of the last stream read. The file's own value for them (a placeholder or an example) is not used.
- A start answered with a `statusQueryGetUri` (HTTP 202) is followed until the run finishes, or until it waits
  for a person (`Rules.waiting_on`); a request that answers a waiting run (a POST naming its instance: an approval,
  a workflow response) is followed until the run finishes or waits on something new.

What is checked, unless `Rules.expect` says otherwise for a request: every answer is 2xx; a run ends Completed
with an output (matching `Rules.output` where the sample says what it is); an agent's answer has text; the health
check says healthy; a status read agrees with what the replay saw of the run; a stream ends with its done event
and a stream resumed from a cursor holds exactly the events after it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from helpers.durable_vocabulary import FINISHED_STATUSES
from tests.conftest import wait_until

from .demo_http import DemoHttp, DemoRequest

LOCAL_BASE = "http://localhost:7071"  # what every demo.http calls the host: `func start`'s default address
AGENT_RUN = re.compile(r"/api/agents/[^/]+/run")
COPIED_BY_HAND = ("instanceId", "requestId", "cursor_id")
VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
SINGLE_BRACES = re.compile(r"(?<!\{)\{(" + "|".join(COPIED_BY_HAND) + r")\}(?!\})")
RESPONSE_REFERENCE = re.compile(r"(?P<request>\w+)\.response\.(?P<part>body|headers)\.(?P<path>.+)")
RUN_TIMEOUT = 120.0
POLL_INTERVAL = 0.2


def pending_requests(answer: dict[str, Any]) -> str | None:
    """What a workflow run waits for a person on: the framework's status lists its pending requests."""
    pending = answer.get("pendingHumanInputRequests") or []
    return " ".join(sorted(str(request.get("requestId")) for request in pending)) or None


@dataclass(frozen=True)
class Expect:
    """What one request should get where the defaults are not it; `why` says where the sample says so."""

    status: int | None = None
    final: str = "Completed"
    output: str | None = None
    why: str = ""


@dataclass
class Rules:
    """A sample's own facts the replay cannot read from demo.http. Selectors are pieces of a request's text
    (`DemoRequest.text`) that must match exactly one request, so a changed demo fails loudly."""

    expect: dict[str, Expect] = field(default_factory=dict)
    output: str | None = None
    waiting_on: Callable[[dict[str, Any]], str | None] = pending_requests
    send_before: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    instance_id: str
    status_url: str
    answer: dict[str, Any] = field(default_factory=dict)
    waiting: str | None = None


@dataclass
class Event:
    id: str | None
    event: str
    data: str


def parse_events(body: str) -> list[Event]:
    """Server-sent events; a line the SSE format does not know is ignored, as browsers do."""
    events = []
    for chunk in re.split(r"\n\n+", body.strip()):
        fields: dict[str, list[str]] = {}
        for line in chunk.splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        if "event" in fields or "data" in fields:
            event_id = fields.get("id", [None])[0]
            events.append(Event(event_id, fields.get("event", ["message"])[0], "\n".join(fields.get("data", []))))
    return events


class Replay:
    def __init__(self, demo: DemoHttp, base_url: str, rules: Rules) -> None:
        self.demo, self.base_url, self.rules = demo, base_url.rstrip("/"), rules
        self.http = httpx.Client(timeout=RUN_TIMEOUT)
        self.runs: list[Run] = []
        self.named: dict[str, httpx.Response] = {}
        self.stream_ids: list[str | None] = []
        self.cursor: str | None = None
        self.log: list[str] = []

    def run(self) -> list[str]:
        """Send every request; return one line per request saying what it got."""
        try:
            for request in self.ordered():
                self.send(request)
        finally:
            self.http.close()
        return self.log

    # ---------------------------------------------------------------------------------------------- order
    def select(self, selector: str) -> DemoRequest:
        found = [request for request in self.demo.requests if selector in request.text]
        assert len(found) == 1, f"selector {selector!r} matches {len(found)} requests of demo.http, not one"
        return found[0]

    def ordered(self) -> list[DemoRequest]:
        for selector in self.rules.expect:
            self.select(selector)
        requests = list(self.demo.requests)
        for moved, anchor in self.rules.send_before.items():
            request = self.select(moved)
            requests.remove(request)
            requests.insert(requests.index(self.select(anchor)), request)
        return requests

    def expectation(self, request: DemoRequest) -> Expect:
        for selector, expect in self.rules.expect.items():
            if selector in request.text:
                return expect
        return Expect()

    # ------------------------------------------------------------------------------------------ variables
    def resolve(self, text: str) -> str:
        text = VARIABLE.sub(lambda match: self.lookup(match[1]), text)
        return SINGLE_BRACES.sub(lambda match: self.copied(match[1]), text)

    def lookup(self, name: str) -> str:
        if name in COPIED_BY_HAND:
            return self.copied(name)
        if name in self.demo.variables:
            return self.resolve(self.demo.variables[name])
        reference = RESPONSE_REFERENCE.fullmatch(self.rules.aliases.get(name, name))
        assert reference, f"demo.http uses {{{{{name}}}}}, which it does not define"
        response = self.named.get(reference["request"])
        assert response is not None, f"{{{{{name}}}}}: no request named {reference['request']} was sent before"
        if reference["part"] == "headers":
            value = response.headers.get(reference["path"])
            assert value, f"{{{{{name}}}}}: the answer has no {reference['path']} header"
            return value
        try:
            value: Any = response.json()
            for key in reference["path"].removeprefix("$.").split("."):
                value = value[key]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(
                f"{{{{{name}}}}} does not resolve: the answer to {reference['request']} is "
                f"{response.headers.get('content-type')}: {response.text[:300]!r}"
            ) from None
        return str(value)

    def copied(self, name: str) -> str:
        if name == "cursor_id":
            assert self.cursor, "{cursor_id}: no event stream was read before"
            return self.cursor
        run = self.current_run()
        if name == "instanceId":
            return run.instance_id
        pending = run.answer.get("pendingHumanInputRequests") or []
        assert pending, f"{{{{requestId}}}}: run {run.instance_id} has no pending request: {run.answer}"
        return str(pending[0]["requestId"])

    def current_run(self) -> Run:
        waiting = [run for run in self.runs if run.waiting is not None]
        assert self.runs, "{{instanceId}}: no run was started before"
        return waiting[0] if waiting else self.runs[-1]

    # ------------------------------------------------------------------------------------------- requests
    def send(self, request: DemoRequest) -> None:
        expect = self.expectation(request)
        url = self.resolve(request.url)
        if url.startswith(LOCAL_BASE):
            url = self.base_url + url[len(LOCAL_BASE) :]
        headers = {name: self.resolve(value) for name, value in request.headers.items()}
        body = self.resolve(request.body).encode()
        answered = self.answered_run(request.method, url)
        response = self.http.request(request.method, url, headers=headers, content=body or None)
        where = f"{request.method} {urlsplit(url).path}"
        if request.name:
            self.named[request.name] = response
        if expect.status is not None:
            assert response.status_code == expect.status, (
                f"{where}: HTTP {response.status_code}, expected {expect.status} ({expect.why}): {response.text[:500]}"
            )
            self.log.append(f"{where} -> {response.status_code}, as expected: {expect.why}")
            return
        assert response.is_success, f"{where}: HTTP {response.status_code} {response.text[:1000]}"
        self.log.append(f"{where} -> {response.status_code}; {self.check(url, response, expect, answered)}")

    def answered_run(self, method: str, url: str) -> Run | None:
        """The waiting run this request answers, if it does: a POST whose URL names the run's instance."""
        if method != "POST":
            return None
        return next((run for run in self.runs if run.waiting is not None and run.instance_id in url), None)

    def check(self, url: str, response: httpx.Response, expect: Expect, answered: Run | None) -> str:
        path = urlsplit(url).path
        content_type = response.headers.get("content-type", "")
        data = response.json() if "json" in content_type else None
        if isinstance(data, dict) and "statusQueryGetUri" in data:
            run = Run(str(data.get("instanceId") or data.get("id")), data["statusQueryGetUri"])
            self.runs.append(run)
            return self.follow(run, expect, stop_when_waiting=expect.final == "Completed")
        if answered is not None:
            return self.follow(answered, expect, stop_when_waiting=True, waited_on=answered.waiting)
        if AGENT_RUN.fullmatch(path):
            text = data.get("response") if isinstance(data, dict) else response.text
            assert isinstance(text, str) and text.strip(), f"{path}: the agent's answer has no text: {response.text}"
            assert not isinstance(data, dict) or data.get("status") == "success", f"{path}: {data}"
            return f"the agent answered {text[:60]!r}"
        if path == "/api/health":
            assert isinstance(data, dict) and data.get("status") == "healthy", f"{path}: {response.text}"
            return f"healthy, {data.get('agent_count')} agents"
        if isinstance(data, dict) and "runtimeStatus" in data:
            return self.check_status_read(data)
        if "text/event-stream" in content_type:
            return self.check_events(url, response.text)
        assert response.text.strip(), f"{path}: an empty answer"
        return f"{len(response.text)} characters of {content_type or 'text'}"

    def follow(self, run: Run, expect: Expect, *, stop_when_waiting: bool, waited_on: str | None = None) -> str:
        """Poll the run's status until it finishes, or (if so asked) waits for a person on something new."""

        def settled() -> str | None:
            response = self.http.get(run.status_url)
            if response.status_code not in (200, 202):
                return None
            run.answer = response.json()
            status = run.answer.get("runtimeStatus")
            run.waiting = None if status in FINISHED_STATUSES else self.rules.waiting_on(run.answer)
            if status in FINISHED_STATUSES:
                return "finished"
            if stop_when_waiting and run.waiting is not None and run.waiting != waited_on:
                return "waiting"
            return None

        outcome = wait_until(
            settled, timeout=RUN_TIMEOUT, interval=POLL_INTERVAL, what=f"run {run.instance_id} to finish"
        )
        if outcome == "waiting":
            return f"run {run.instance_id} waits for a person ({(run.waiting or '')[:60]})"
        status = run.answer.get("runtimeStatus")
        answer = json.dumps(run.answer, ensure_ascii=False)
        assert status == expect.final, f"run {run.instance_id} ended {status}, expected {expect.final}: {answer}"
        pattern = expect.output or (self.rules.output if status == "Completed" else None)
        if pattern:
            assert re.search(pattern, answer), f"run {run.instance_id}: no {pattern!r} in {answer}"
        else:
            assert status != "Completed" or run.answer.get("output"), f"run {run.instance_id} has no output: {answer}"
        return f"run {run.instance_id} {status}: {answer[:100]}"

    def check_status_read(self, data: dict[str, Any]) -> str:
        run = next((run for run in self.runs if run.instance_id == data.get("instanceId")), None)
        assert run is not None, f"a status read for an instance no request started: {data}"
        if run.waiting is not None:
            assert self.rules.waiting_on(data) == run.waiting, f"{run.instance_id} should wait on {run.waiting}: {data}"
        else:
            expected = run.answer.get("runtimeStatus")
            assert data["runtimeStatus"] == expected, f"{run.instance_id} should be {expected}: {data}"
        return f"status {data['runtimeStatus']}"

    def check_events(self, url: str, body: str) -> str:
        events = parse_events(body)
        assert events and events[-1].event == "done", f"the stream does not end with its done event: {body[:500]!r}"
        cursor = parse_qs(urlsplit(url).query).get("cursor", [None])[0]
        ids = [event.id for event in events]
        if cursor is None:
            assert any(event.event == "message" and event.data for event in events), f"no text: {body[:500]!r}"
            self.stream_ids, self.cursor = ids, events[0].id
            return f"{len(events)} events: {''.join(event.data for event in events[:-1])[:60]!r}"
        assert cursor in self.stream_ids, f"cursor {cursor} is not an event of the stream read before"
        after = self.stream_ids[self.stream_ids.index(cursor) + 1 :]
        assert ids == after, f"resumed at {cursor}: got events {ids}, expected {after}"
        return f"{len(events)} events after cursor {cursor}"
