"""Generated requests in `make test`: a bounded, derandomized run of the fuzz harness (`make fuzz` runs 10,000 or
more), after one test per defect a fuzz run found, each repeating the request that found it.

All of them share one kit (teaching app, offline model, gateway) with its bystanders; the bounded run comes last
and also checks that nothing before it changed a bystander or damaged the state file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from .harness import WEBHOOKS, FuzzedKit, fuzz

pytestmark = pytest.mark.timeout(240)

BOUNDED_REQUESTS = 200
DEEP_JSON = b"[" * 50_000 + b"]" * 50_000  # past the depth Python's json parser reads (RecursionError)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[FuzzedKit]:
    with FuzzedKit.start() as kit:
        yield kit


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def reason(response: httpx.Response) -> str:
    body = response.json()
    return str(body.get("error") or body.get("Message") or body) if isinstance(body, dict) else str(body)


@pytest.mark.parametrize(
    "wait",
    [
        "timeout=nan&pollingInterval=nan",
        "timeout=inf&pollingInterval=1",
        "timeout=-5&pollingInterval=-10",
        "timeout=1e400&pollingInterval=1",
    ],
)
def test_a_wait_that_is_no_number_of_seconds_is_400(fuzzed: FuzzedKit, http: httpx.Client, wait: str) -> None:
    """NaN reached asyncio as a 500 (and reset the connection on restart); infinity made the request wait for good."""
    base = f"{fuzzed.kit.base_url}{WEBHOOKS}"
    started = time.monotonic()
    start = http.post(f"{base}/orchestrators/replay_logging?{wait}", json="Oslo")
    restart = http.post(f"{base}/instances/{fuzzed.pool[1]}/restart?{wait}")  # a Running instance: waits if let
    for response in (start, restart):
        assert response.status_code == 400, response.text
        assert "must be a number of seconds" in reason(response)
    assert time.monotonic() - started < 10


def test_a_top_past_a_32_bit_integer_is_400(fuzzed: FuzzedKit, http: httpx.Client) -> None:
    """It reached SQLite as an OverflowError, a 500."""
    for top in ("99999999999999999999999", "9" * 5000):  # 5000 digits: past what int() converts at all
        response = http.get(f"{fuzzed.kit.base_url}{WEBHOOKS}/instances", params={"top": top})
        assert response.status_code == 400 and "top must be a whole number" in reason(response), response.text


def test_an_event_body_that_is_json_but_not_utf8_is_400(fuzzed: FuzzedKit, http: httpx.Client) -> None:
    """json.loads reads UTF-16 and UTF-32; storing the event text as UTF-8 then raised, a 500."""
    url = f"{fuzzed.kit.base_url}{WEBHOOKS}/instances/{fuzzed.pool[1]}/raiseEvent/Nudge"
    body = '{"a": "ü"}'.encode("utf-16")
    response = http.post(url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "UTF-8" in reason(response), response.text


@pytest.mark.parametrize("route", ["orchestrators/replay_logging", "instances/{running}/raiseEvent/Nudge"])
def test_json_nested_past_the_parsers_depth_is_400(fuzzed: FuzzedKit, http: httpx.Client, route: str) -> None:
    url = f"{fuzzed.kit.base_url}{WEBHOOKS}/{route.format(running=fuzzed.pool[1])}"
    response = http.post(url, content=DEEP_JSON, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.text, response.text


@pytest.mark.parametrize("route", ["hitl/run", "hitl/approve/{running}"])
def test_the_teaching_apps_routes_refuse_json_nested_too_deep_with_400(
    fuzzed: FuzzedKit, http: httpx.Client, route: str
) -> None:
    """The app's `req.get_json()` raised RecursionError, which the routes did not catch: a 500."""
    url = f"{fuzzed.kit.base_url}/api/{route.format(running=fuzzed.pool[1])}"
    response = http.post(url, content=DEEP_JSON, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "Send a JSON body" in reason(response), response.text


@pytest.mark.parametrize("route", ["singleagent/status", "multiagent/status", "hitl/status"])
@pytest.mark.parametrize("instance_id", ["%2E", "%2E%2E", "a%3Fb", "a%23b", "a%5Cb", "%0A"])
def test_status_routes_answer_404_for_ids_the_client_cannot_address(
    fuzzed: FuzzedKit, http: httpx.Client, route: str, instance_id: str
) -> None:
    """The durable client puts the id into a URL as it is: asking for '.' listed every instance, and the
    client then failed with a TypeError, a 500."""
    response = http.get(f"{fuzzed.kit.base_url}/api/{route}/{instance_id}")
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/runtime/webhooks/durabletask/instances/%2F"),
        ("POST", "/runtime/webhooks/durabletask/instances/a%2Fb/terminate"),
        ("POST", "/runtime/webhooks/durabletask/entities/dafx-writeragent/%2F"),
        ("GET", "/api/hitl/status/%252F"),
        ("GET", "/api/singleagent/status/a%2Fb"),
    ],
)
def test_an_encoded_slash_stays_inside_its_segment(
    fuzzed: FuzzedKit, http: httpx.Client, method: str, path: str
) -> None:
    """As ASP.NET Core routes: `%2F` is not a separator. Decoded, `/instances/%2F` answered the instance list, a
    signal to an entity key `%2F` a 405, and an app asking its client about such an id got the list: a 500."""
    response = http.request(method, fuzzed.kit.base_url + path, json={} if method == "POST" else None)
    assert response.status_code in (202, 404), response.text
    if response.status_code == 404:
        assert "%2F" in reason(response) or "not found" in reason(response).lower(), response.text


@pytest.mark.parametrize(
    "url",
    [
        "/runtime/webhooks/durabletask/instances/no-such-id",
        "/runtime/webhooks/durabletask/instances?createdTimeFrom=9999-01-01T00:00:00Z",
    ],
)
def test_a_purge_that_finds_nothing_says_so_in_json(fuzzed: FuzzedKit, http: httpx.Client, url: str) -> None:
    response = http.delete(fuzzed.kit.base_url + url)
    assert response.status_code == 404 and reason(response), response.text


@pytest.mark.parametrize(
    "settings",
    [
        b'{"retry_after_seconds": Infinity, "fail_first": 1}',
        b'{"timeout_seconds": NaN, "timeout_every": 1}',
        b'{"timeout_seconds": 1e9}',
    ],
)
def test_fault_settings_that_are_not_finite_or_too_long_are_400(
    fuzzed: FuzzedKit, http: httpx.Client, settings: bytes
) -> None:
    """Accepted before: the gateway then failed every model call with a 500 (Retry-After: inf), the offline model
    answered its own settings with a 500 (NaN in JSON) and reset every model call's connection."""
    for url in (f"{fuzzed.kit.gateway_url}/_gateway/faults", f"{fuzzed.kit.model_url}/admin/faults"):
        response = http.post(url, content=settings, headers={"content-type": "application/json"})
        assert response.status_code == 400, f"{url}: {response.text}"
        assert not http.get(url).json()["active"]


def test_an_input_json_cannot_hold_is_shown_as_the_extension_writes_it(fuzzed: FuzzedKit, http: httpx.Client) -> None:
    """Python's json reads `1e400` as infinity and `NaN` as NaN, and writes them back as no JSON can hold them: the
    status and the instance list then failed with a 500 (and the host dropped the next request's connection)."""
    base = f"{fuzzed.kit.base_url}{WEBHOOKS}"
    started = http.post(f"{base}/orchestrators/replay_logging", content=b'[1e400, NaN, {"a": -Infinity}]')
    assert started.status_code == 202, started.text
    status = http.get(f"{base}/instances/{started.json()['id']}", params={"showHistory": "true"})
    assert status.status_code in (200, 202) and status.json()["input"] == ["Infinity", "NaN", {"a": "-Infinity"}]
    assert http.get(f"{base}/instances").status_code == 200


def test_generated_requests_keep_every_property(fuzzed: FuzzedKit) -> None:
    """A few hundred generated requests: no crash, no hang, no undocumented 5xx, documented answers only, the
    state file intact and the bystanders untouched (harness.py). Derandomized: the same requests every run."""
    report = fuzz(fuzzed, BOUNDED_REQUESTS, derandomize=True, log=lambda line: None)
    print(report.summary())
    assert report.total >= BOUNDED_REQUESTS * 0.9, report.summary()
    assert not report.failures, report.summary()
