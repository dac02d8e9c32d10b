"""Generated requests against a running kit, and the properties every answer must keep.

The kit runs as a learner's does (`lab.start` on the teaching app: offline model, model gateway, embedded host).
Each generated request goes to one of three targets:
- the host, drawn by Schemathesis from the host's own OpenAPI description (`GET /admin/openapi.json`: the Durable
  HTTP API, the entity routes, the admin routes and the app's routes), in positive and negative mode, with
  instance ids often taken from real instances (so operations meet Running, Completed and Failed ones);
- the host, as raw requests of any method on any path, with any query and any body (requests.py);
- the model gateway, and through it the offline model (requests.py).

Properties, checked on every answer and at the end:
- the host and the gateway never crash (they keep answering) and never hang (every answer within
  REQUEST_TIMEOUT seconds);
- no 5xx answer, except where the Durable extension itself answers 5xx (`DOCUMENTED_5XX`: a start, or in-place
  restart, of an instance id still running; a rewind of an instance that is not Failed; a Failed status with
  `returnInternalServerErrorOnFailure=true`), where Agent Framework's own agent endpoint does (its handler
  answers 500 for an error it does not classify -- JSON nested past Python's parser -- and for a failed agent
  run), and the faults the gateway was asked to inject;
- Schemathesis's conformance checks: the status code, content type and body shape are the documented ones;
- the state file passes SQLite's `PRAGMA integrity_check`, during and after the run;
- bystanders -- instances and an entity created before the run, whose ids no request names -- have exactly the
  status, history and state they had before.

A violation does not stop the run: it is recorded (the first request of each kind, with a way to repeat it) and
the run goes on, so one run reports everything it finds; `Report.failures` lists them.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import requests as requests_lib
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import quote_all

from helpers import lab
from helpers.lab.environment import TEACHING_APP

from .strategies import (
    KNOB_PATHS,
    ODD_IDS,
    QUERY_VALUES,
    RawRequest,
    any_of,
    gateway_requests,
    host_requests,
    routes_of,
)

WEBHOOKS = "/runtime/webhooks/durabletask"
REQUEST_TIMEOUT = 30.0  # seconds: longer than any answer may take on a loaded 2-core machine
LONGEST_WAIT = 2.0  # seconds a generated start-and-wait may ask the host to wait (it waits as long as asked)
CHECK_EVERY = 500  # requests between quick checks of the state file and of the services
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
BYSTANDER_PREFIX = "bystander-"
# AgentFunctionApp's HTTP endpoint per agent (agent-framework-azurefunctions' code, not the host's or the kit's).
AGENT_ENDPOINT = re.compile(r"/api/agents/[^/]+/run/?", re.IGNORECASE)


@dataclass
class Failure:
    kind: str  # crash, hang, transport (a dropped connection), 5xx, conformance, state, bystander
    target: str
    detail: str
    reproduce: str
    count: int = 1

    def __str__(self) -> str:
        times = f" (x{self.count})" if self.count > 1 else ""
        return f"[{self.kind}] {self.target}{times}: {self.detail}\n    {self.reproduce}"


@dataclass
class Report:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    documented_5xx: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], Failure] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def fail(self, kind: str, target: str, detail: str, reproduce: str, key: str | None = None) -> None:
        identity = (kind, target, key or detail)
        if identity in self.failures:
            self.failures[identity].count += 1
        else:
            self.failures[identity] = Failure(kind, target, detail, reproduce)

    def summary(self) -> str:
        lines = [
            f"{self.total} generated requests in {self.seconds:.1f} s "
            f"({', '.join(f'{target} {count}' for target, count in sorted(self.requests.items()))})",
            "answers: " + ", ".join(f"{status} x{count}" for status, count in sorted(self.statuses.items())),
        ]
        if self.documented_5xx:
            lines.append(
                "5xx the extension answers too: "
                + ", ".join(f"{case} x{count}" for case, count in sorted(self.documented_5xx.items()))
            )
        lines.append(f"property violations: {len(self.failures)}")
        lines.extend(str(failure) for failure in self.failures.values())
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ documented 5xx


def documented_5xx(target: str, method: str, path: str, query: str, status: int, body: Any) -> str | None:
    """The name of the documented case a 5xx answer is, or None when it is a defect."""
    if target == "gateway":
        message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        if isinstance(message, str) and "Injected" in message:
            return "a fault the gateway or the offline model was told to inject"
        return None
    if status != 500 or not isinstance(body, dict):
        return None
    if AGENT_ENDPOINT.fullmatch(path) and "invocationId" not in body and ("error" in body or "status" in body):
        return "Agent Framework's agent endpoint: its handler's own 500 (error it does not classify, or a failed run)"
    if body.get("ExceptionType") == "System.InvalidOperationException":
        text = str(body.get("ExceptionMessage", ""))
        if path.rstrip("/").endswith("/rewind"):
            return "rewind of an instance that is not Failed (extension: 500)"
        if "already exists" in text:
            return "start or in-place restart of an instance id still running (extension: 500)"
    if body.get("runtimeStatus") == "Failed" and "returninternalservererroronfailure" in query.lower():
        return "Failed status with returnInternalServerErrorOnFailure=true"
    return None


# ------------------------------------------------------------------------------------------------------ the kit


class FuzzedKit:
    """The running kit, its bystanders and the pool of instance ids the requests may address."""

    def __init__(self, kit: lab.Lab) -> None:
        self.kit = kit
        self.http = httpx.Client(timeout=REQUEST_TIMEOUT, trust_env=False)
        self.session = requests_lib.Session()
        self.session.trust_env = False
        self.pool: list[str] = []
        self.bystanders: dict[str, Any] = {}
        self.names: list[str] = []  # orchestrator, entity and agent names of the app
        self.started_at = datetime.now(UTC)

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[FuzzedKit]:
        kit = lab.start(model="offline", host="embedded", latency_ms=0, app_dir=TEACHING_APP)
        fuzzed = cls(kit)
        try:
            fuzzed.prepare()
            yield fuzzed
        finally:
            fuzzed.http.close()
            fuzzed.session.close()
            kit.stop()

    # -------------------------------------------------------------------------------- instances and bystanders

    def start_instance(self, orchestrator: str, payload: Any, instance_id: str) -> str:
        url = f"{self.kit.base_url}{WEBHOOKS}/orchestrators/{orchestrator}/{instance_id}"
        response = self.http.post(url, json=payload)
        assert response.status_code == 202, f"{orchestrator}: {response.status_code} {response.text}"
        return instance_id

    def wait(self, instance_id: str, statuses: set[str], timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.http.get(f"{self.kit.base_url}{WEBHOOKS}/instances/{instance_id}").json()
            if status.get("runtimeStatus") in statuses or time.monotonic() > deadline:
                assert status.get("runtimeStatus") in statuses, f"{instance_id}: {status}"
                return status
            time.sleep(0.05)

    def prepare(self) -> None:
        """Bystanders (never addressed by a request), and instances in each state for the requests to meet."""
        stamp = datetime.now(UTC).strftime("%H%M%S%f")
        hitl = {"topic": "a bystander waits", "approval_timeout_seconds": 86400}
        done = self.start_instance("replay_logging", "Lisbon", f"{BYSTANDER_PREFIX}done-{stamp}")
        waiting = self.start_instance("content_generation_hitl_orchestration", hitl, f"{BYSTANDER_PREFIX}wait-{stamp}")
        self.wait(done, {"Completed"})
        self.wait(waiting, {"Running"}, timeout=60)
        self.wait_for_quiet(waiting)
        self.entity_key = f"{BYSTANDER_PREFIX}{stamp}"
        response = self.http.post(
            f"{self.kit.base_url}/api/agents/WriterAgent/run",
            json={"message": "A bystander's turn.", "session_id": self.entity_key},
        )
        assert response.status_code < 300, response.text
        self.bystanders = {"instances": [done, waiting], "snapshot": self.snapshot([done, waiting])}
        functions = self.http.get(f"{self.kit.base_url}/admin/functions").json()
        self.names = sorted(
            {f["name"] for f in functions if f["trigger"] in ("orchestrationTrigger", "entityTrigger")}
            | {"WriterAgent", "dafx-WriterAgent", "PhysicistAgent"}
        )
        # Instances the generated requests address by id, in every state.
        for index, (orchestrator, payload, wanted) in enumerate(
            [
                ("replay_logging", "Paris", {"Completed"}),
                (
                    "content_generation_hitl_orchestration",
                    {"topic": "fuzz", "approval_timeout_seconds": 3600},
                    {"Running"},
                ),
                ("lookup_without_retry", None, {"Failed"}),
            ]
        ):
            self.pool.append(self.start_instance(orchestrator, payload, f"fuzz-{index}-{stamp}"))
            self.wait(self.pool[-1], wanted)
        # Created times are kept to the second: a second later, nothing created so far is "created since".
        time.sleep(1.0)
        self.started_at = datetime.now(UTC)

    def wait_for_quiet(self, instance_id: str) -> None:
        """Until the instance's history stops growing (a waiting orchestration has scheduled all it will)."""
        last = None
        for _ in range(100):
            current = self.instance_view(instance_id)
            if current == last:
                return
            last = current
            time.sleep(0.2)

    def instance_view(self, instance_id: str) -> Any:
        url = f"{self.kit.base_url}{WEBHOOKS}/instances/{instance_id}"
        response = self.http.get(url, params={"showHistory": "true", "showHistoryOutput": "true"})
        return response.status_code, response.json()

    def snapshot(self, instance_ids: list[str]) -> Any:
        entities = self.http.get(f"{self.kit.base_url}{WEBHOOKS}/entities", params={"fetchState": "true"}).json()
        mine = [entity for entity in entities if self.entity_key in json.dumps(entity["entityId"])]
        assert mine, f"the bystander entity {self.entity_key} is missing: {entities}"
        return {"instances": [self.instance_view(iid) for iid in instance_ids], "entity": mine}

    # -------------------------------------------------------------------------------------------- properties

    def services_answer(self) -> list[str]:
        """The services that no longer answer (empty when all do)."""
        down = []
        for name, url in (
            ("host", f"{self.kit.base_url}/admin/host/status"),
            ("gateway", f"{self.kit.gateway_url}/_gateway"),
        ):
            try:
                self.http.get(url, timeout=REQUEST_TIMEOUT).raise_for_status()
            except httpx.HTTPError as error:
                down.append(f"{name}: {error!r}")
        return down

    def integrity(self, quick: bool = False) -> str:
        with contextlib.closing(sqlite3.connect(f"file:{self.kit.state_db}?mode=ro", uri=True, timeout=30)) as db:
            rows = db.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
        return "; ".join(str(row[0]) for row in rows)

    def bystanders_unchanged(self) -> str | None:
        now = self.snapshot(self.bystanders["instances"])
        if now != self.bystanders["snapshot"]:
            return f"before: {self.bystanders['snapshot']!r}\n    after: {now!r}"
        return None

    def purge_guard(self, query: str) -> str:
        """A raw purge by filter, like a generated one, only reaches instances created during the run."""
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() != "createdtimefrom"]
        if len(pairs) == len(parse_qsl(query, keep_blank_values=True)):
            return query
        return urlencode([*pairs, ("createdTimeFrom", self.started_at.isoformat())])

    def reset_knobs(self) -> None:
        """Faults and latency a request switched on are switched off again before the next request."""
        self.http.post(f"{self.kit.gateway_url}/_gateway/faults", json={})
        if self.kit.model_url:
            self.http.post(f"{self.kit.model_url}/admin/faults", json={})
            self.http.post(f"{self.kit.model_url}/admin/latency", json={"latency_ms": 0})


# ------------------------------------------------------------------------------------------------------- the run


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _clamp_waits(query: dict[str, Any]) -> None:
    """A start-and-wait waits as long as it is asked (the extension does too): keep generated waits short."""
    for name in list(query):
        if name.lower() in ("timeout", "pollinginterval"):
            with contextlib.suppress(TypeError, ValueError):
                value = float(query[name])
                if math.isfinite(value) and value > LONGEST_WAIT:
                    query[name] = LONGEST_WAIT


def run(
    budget: int, *, seed: int | None = None, derandomize: bool = False, log: Callable[[str], None] = print
) -> Report:
    """Start a kit, send `budget` generated requests, check the properties; the report says what was found."""
    with FuzzedKit.start() as fuzzed:
        return fuzz(fuzzed, budget, seed=seed, derandomize=derandomize, log=log)


def fuzz(
    fuzzed: FuzzedKit,
    budget: int,
    *,
    seed: int | None = None,
    derandomize: bool = False,
    log: Callable[[str], None] = print,
) -> Report:
    """Send `budget` generated requests to a prepared kit, then check the state file and the bystanders."""
    report = Report()
    began = time.monotonic()
    kit = fuzzed.kit
    document = fuzzed.http.get(f"{kit.base_url}/admin/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    # Strategies are built once: building them anew for every request costs more than sending it.
    ids = any_of(fuzzed.pool) | st.sampled_from(ODD_IDS)
    names = st.sampled_from(fuzzed.names)
    raw_host_requests = host_requests(st.sampled_from(routes_of(document)), names, ids)
    raw_gateway_requests = gateway_requests()
    cases = st.one_of(
        schema.as_strategy(schemathesis.GenerationMode.POSITIVE),
        schema.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    aborted: list[str] = []

    def send_case(data: st.DataObject) -> None:
        case = data.draw(cases)
        for name in case.path_parameters or {}:
            # Real names and ids half the time or more, so requests reach instances, orchestrators and
            # entities that exist. Encoded as Schemathesis encodes what it generates ("." and ".." too).
            if name.lower() in ("instanceid", "key") and data.draw(st.integers(0, 2)) > 0:
                case.path_parameters.update(quote_all({name: data.draw(ids)}))
            elif name.lower() == "name" and data.draw(st.integers(0, 2)) > 0:
                case.path_parameters.update(quote_all({name: data.draw(names)}))
        if case.query is not None:
            for key in list(case.query):
                if data.draw(st.integers(0, 3)) == 0:  # values the schema's types never produce
                    case.query[key] = data.draw(QUERY_VALUES)
            _clamp_waits(case.query)
            if case.operation.label == f"DELETE {WEBHOOKS}/instances":
                # A purge by filter deletes every finished instance created since createdTimeFrom, by
                # design: keep it to instances created during the run, so the bystanders stay out of it.
                case.query["createdTimeFrom"] = fuzzed.started_at.isoformat()
        label = case.operation.label
        try:
            response = case.call(base_url=kit.base_url, session=fuzzed.session, timeout=REQUEST_TIMEOUT)
        except requests_lib.Timeout:
            report.fail("hang", "host", f"{label}: no answer within {REQUEST_TIMEOUT:g} s", case.as_curl_command())
            return
        except requests_lib.ConnectionError as error:
            if not fuzzed.services_answer():  # the host dropped this connection, and still serves the next
                report.fail("transport", "host", f"{label}: {error!r}", case.as_curl_command(), key=label)
                return
            aborted.append(f"{label}: {error}")
            report.fail("crash", "host", f"{label}: {error}", case.as_curl_command())
            return
        report.requests["host (schema)"] += 1
        report.statuses[str(response.status_code)] += 1
        record(
            report,
            "host",
            case.method,
            response.request.path_url,
            response.status_code,
            response.content,
            case.as_curl_command(),
            label,
        )
        if response.status_code == 202 and isinstance(body := _json(response.content), dict) and "id" in body:
            if len(fuzzed.pool) < 200 and not str(body["id"]).startswith(BYSTANDER_PREFIX):
                fuzzed.pool.append(str(body["id"]))
        if response.status_code < 500:
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as failures:
                for failure in failures.exceptions:
                    report.fail(
                        "conformance",
                        "host",
                        f"{label} -> {response.status_code}: {failure.title}",
                        case.as_curl_command(),
                        key=f"{label} {failure.title}",
                    )

    def send_raw(target: str, request: RawRequest) -> None:
        base = kit.base_url if target == "host" else kit.gateway_url
        if target == "host" and request.method == "DELETE":
            request.query = fuzzed.purge_guard(request.query)
        url = base + request.path + (f"?{request.query}" if request.query else "")
        try:
            response = fuzzed.http.request(
                request.method,
                httpx.URL(url),
                content=request.body,
                headers=request.headers,
                timeout=REQUEST_TIMEOUT,
            )
        except httpx.TimeoutException:
            report.fail(
                "hang",
                target,
                f"{request.method} {request.path}: no answer within {REQUEST_TIMEOUT:g} s",
                request.describe(),
            )
            return
        except httpx.TransportError as error:
            if not fuzzed.services_answer():
                report.fail(
                    "transport",
                    target,
                    f"{request.method}: {error!r}",
                    request.describe(),
                    key=type(error).__name__,
                )
                return
            aborted.append(f"{request.describe()}: {error!r}")
            report.fail("crash", target, f"{request.method} {request.path}: {error!r}", request.describe())
            return
        finally:
            if target == "gateway" and request.path in KNOB_PATHS:
                fuzzed.reset_knobs()
        report.requests[f"{target} (raw)"] += 1
        report.statuses[str(response.status_code)] += 1
        record(
            report,
            target,
            request.method,
            request.path,
            response.status_code,
            response.content,
            request.describe(),
            f"{request.method} {request.path.split('?')[0][:60]}",
        )

    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(data=st.data())
    def one_request(data: st.DataObject) -> None:
        if aborted:
            return
        target = data.draw(st.sampled_from(["schema", "schema", "schema", "host", "gateway", "gateway"]))
        if target == "schema":
            send_case(data)
        elif target == "host":
            send_raw("host", data.draw(raw_host_requests))
        else:
            send_raw("gateway", data.draw(raw_gateway_requests))
        if report.total and report.total % CHECK_EVERY == 0:
            if (state := fuzzed.integrity(quick=True)) != "ok":
                report.fail("state", "host", f"PRAGMA quick_check after {report.total} requests: {state}", "")
            log(f"  {report.total} requests, {len(report.failures)} property violations so far")

    if seed is not None and not derandomize:
        one_request = hypothesis_seed(seed)(one_request)
    one_request()

    for down in fuzzed.services_answer():
        report.fail("crash", "kit", f"no longer answers: {down}", "")
    if (state := fuzzed.integrity()) != "ok":
        report.fail("state", "host", f"PRAGMA integrity_check: {state}", "")
    if (changed := fuzzed.bystanders_unchanged()) is not None:
        report.fail("bystander", "host", "a bystander changed", changed)
    host_log = Path(kit.host_log_path).read_text(encoding="utf-8", errors="replace")
    for line in host_log.splitlines():
        if "Unhandled error" in line:
            report.fail("5xx", "host", "the host log reports an unhandled error", line, key=line[:120])
    report.seconds = time.monotonic() - began
    return report


def record(
    report: Report,
    target: str,
    method: str,
    path: str,
    status: int,
    content: bytes,
    reproduce: str,
    label: str,
) -> None:
    """A 5xx answer: counted under its documented case, or a property violation."""
    if status < 500:
        return
    query = path.split("?", 1)[1] if "?" in path else ""
    case = documented_5xx(target, method, path.split("?", 1)[0], query, status, _json(content))
    if case is not None:
        report.documented_5xx[case] += 1
        return
    report.fail("5xx", target, f"{label} -> {status}: {content[:300]!r}", reproduce, key=f"{label} {status}")
