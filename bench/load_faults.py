"""Load and fault figures for the embedded Functions host: counted, not promised.

    python -m bench.load_faults            # CI size (about a minute)
    python -m bench.load_faults --full     # 500 chains from 50 clients, 100 runs of each seed orchestration

What is measured, all over loopback HTTP against real host processes (`helpers.processes`):
1. **Chain load** - N orchestrations of a two-activity chain (`tests/apps/chain_journal`) started by C
   concurrent clients. Every activity invocation is journaled by the app itself, so "exactly once" is counted
   from what really ran, not from what the host says.
2. **Chain load under `kill -9`** - the same load while the host is killed at random moments and restarted on
   the same `--state-db`. After each kill the state file is read (a copy, read-only) for the activities that
   were scheduled but not yet recorded as finished: the work in flight. Only those may run a second time.
3. **Seed load** - concurrent runs of both seed orchestrations of `functions_app/` against the offline model;
   the model's `GET /stats` counts every model call, so a lost or repeated agent call shows.

For each: completed / lost / duplicated, wall time, throughput, the host's peak RSS (psutil, sampled every
20 ms), and whether "database is locked" reached a client or the host log. Every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from helpers import processes
from helpers.durable_vocabulary import AGENT_ENTITY_PREFIX, FINISHED_STATUSES, parse_entity_id
from helpers.host.engine.in_flight import work_in_flight
from helpers.host.engine.store import StateFileReader
from helpers.offline_settings import offline_host_env

REPO_ROOT = processes.REPO_ROOT
CHAIN_APP = REPO_ROOT / "tests" / "apps" / "chain_journal"
FUNCTIONS_APP = REPO_ROOT / "functions_app"
DURABLE = "/runtime/webhooks/durabletask"
LOCKED = "database is locked"
CHAIN_STEPS = (1, 2)


class LoadError(RuntimeError):
    """A load run could not finish inside its deadline (the message says what was still missing)."""


# ============================================================================================ what ran


class ActivityJournal:
    """The file the chain app appends `start|done <instance> <step> <pid>` lines to (see its docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[tuple[str, str, int]]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            kind, run, step, _pid = line.split()
            entries.append((kind, run, int(step)))
        return entries

    def counts(self) -> tuple[Counter[tuple[str, int]], Counter[tuple[str, int]]]:
        """How often each (instance, step) started and finished."""
        starts: Counter[tuple[str, int]] = Counter()
        dones: Counter[tuple[str, int]] = Counter()
        for kind, run, step in self.lines():
            (starts if kind == "start" else dones)[(run, step)] += 1
        return starts, dones


async def _first_new_start(journal: ActivityJournal, deadline: float, activities: int) -> None:
    """Wait until an activity starts after this call, every one of `activities` has finished (a machine fast
    enough to finish the load before this round: nothing will start again), or the deadline passes."""
    seen = len(journal.lines())
    while time.monotonic() < deadline:
        lines = journal.lines()
        if any(kind == "start" for kind, _, _ in lines[seen:]):
            return
        if len({(run, step) for kind, run, step in lines if kind == "done"}) >= activities:
            return
        await asyncio.sleep(0.01)


@contextlib.contextmanager
def _state_copy(state_db: Path) -> Iterator[StateFileReader]:
    """A reader of a copy of the state file (with its WAL), so the host that opens the original next finds it
    exactly as the kill left it."""
    with tempfile.TemporaryDirectory(prefix="inflight-") as scratch:
        copy = Path(scratch) / "state.db"
        for suffix in ("", "-wal"):
            source = Path(f"{state_db}{suffix}")
            if source.exists():
                shutil.copyfile(source, f"{copy}{suffix}")
        with StateFileReader(str(copy)) as state:
            yield state


def activities_in_flight(state_db: Path) -> set[tuple[str, int]]:
    """Activities the state file says are scheduled but not finished: exactly what a restart runs (again).

    Read the way the engine reads it at start-up (`engine.in_flight.work_in_flight` over each unfinished
    instance's history and pending events): the engine's own definition of "in flight".
    The chain app schedules step 1 as task 0 and step 2 as task 1.
    """
    found: set[tuple[str, int]] = set()
    with _state_copy(state_db) as state:
        for instance_id in state.unfinished_instance_ids():
            tasks = work_in_flight(state.instance_events(instance_id)).tasks
            found |= {(instance_id, task.task_id + 1) for task in tasks}
    return found


def agent_operations_in_flight(state_db: Path) -> int:
    """Agent entity operations the state file holds as queued or running (each is one model call when it runs);
    agent entities are named `dafx-<AgentName>`."""
    with _state_copy(state_db) as state:
        return sum(
            1
            for operation in state.queued_entity_operations()
            if (parse_entity_id(operation.entity_id) or ("", ""))[0].startswith(AGENT_ENTITY_PREFIX)
        )


# ============================================================================================ memory


class PeakRss:
    """Samples the resident set size of whichever host process is current; keeps the peak."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def watch(self, pid: int) -> None:
        self._pid = pid

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            pid = self._pid
            if pid is not None:
                try:
                    self.peak_bytes = max(self.peak_bytes, psutil.Process(pid).memory_info().rss)
                except psutil.Error:
                    pass  # between a kill and the restart
            self._stop.wait(self.interval)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / 2**20


# ============================================================================================ HTTP clients


def _client(concurrency: int, timeout: float = 30.0) -> httpx.AsyncClient:
    # trust_env=False: a proxy configured in the environment must never see this loopback traffic.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False)


@dataclass
class StartReport:
    accepted: int = 0
    transport_errors: int = 0
    restarted_starts: int = 0  # POSTs repeated because the first one never reached the state file
    bad_responses: list[str] = field(default_factory=list)


async def _instance_exists(client: httpx.AsyncClient, base_url: str, instance_id: str, deadline: float) -> bool:
    """Whether the host knows the instance; waits through a host restart (bounded by `deadline`)."""
    while time.monotonic() < deadline:
        try:
            response = await client.get(f"{base_url}{DURABLE}/instances/{instance_id}", params={"showInput": "false"})
        except httpx.TransportError:
            await asyncio.sleep(0.1)
            continue
        if response.status_code in (200, 202):
            return True
        if response.status_code == 404:
            return False
        await asyncio.sleep(0.1)
    raise LoadError(f"could not learn whether {instance_id} exists before the deadline")


async def _start_one(
    client: httpx.AsyncClient,
    base_url: str,
    instance_id: str,
    payload: dict[str, Any],
    report: StartReport,
    deadline: float,
) -> None:
    """Start an instance exactly once, even if the host dies while answering.

    The id is the client's, so when the answer is lost the client asks whether the start was recorded before
    trying again - the idempotent pattern a real client of the Durable HTTP API uses.
    """
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if attempt > 1:
            if await _instance_exists(client, base_url, instance_id, deadline):
                report.accepted += 1
                return
            report.restarted_starts += 1
        try:
            response = await client.post(f"{base_url}/api/chain/{instance_id}", json=payload)
        except httpx.TransportError:
            report.transport_errors += 1
            await asyncio.sleep(0.05)
            continue
        if response.status_code == 202:
            report.accepted += 1
            return
        report.bad_responses.append(f"POST chain/{instance_id}: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0.05)
    raise LoadError(f"{instance_id} could not be started before the deadline")


async def start_chains(base_url: str, ids: list[str], clients: int, activity_ms: int, deadline: float) -> StartReport:
    """Start every id with at most `clients` requests in flight at once."""
    report = StartReport()
    gate = asyncio.Semaphore(clients)
    async with _client(clients) as client:

        async def one(instance_id: str) -> None:
            async with gate:
                await _start_one(client, base_url, instance_id, {"ms": activity_ms}, report, deadline)

        await asyncio.gather(*(one(i) for i in ids))
    return report


async def wait_all_finished(
    base_url_of: Any, ids: list[str], deadline: float, poll: float = 0.2
) -> dict[str, dict[str, Any]]:
    """Poll the instance list until every id is finished; survives host restarts. `base_url_of()` -> URL."""
    wanted = set(ids)
    last: dict[str, dict[str, Any]] = {}
    async with _client(4) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"{base_url_of()}{DURABLE}/instances", params={"showInput": "false"})
                if response.status_code == 200:
                    last = {row["instanceId"]: row for row in response.json() if row["instanceId"] in wanted}
            except httpx.TransportError:
                pass
            if len(last) == len(wanted) and all(row["runtimeStatus"] in FINISHED_STATUSES for row in last.values()):
                return last
            await asyncio.sleep(poll)
    unfinished = sorted(i for i in wanted if last.get(i, {}).get("runtimeStatus") not in FINISHED_STATUSES)
    raise LoadError(f"{len(unfinished)} of {len(wanted)} instances unfinished at the deadline, e.g. {unfinished[:3]}")


# ============================================================================================ chain load


@dataclass
class KillRound:
    after_seconds: float
    accepted_before: int  # instances acknowledged to a client when the kill came
    finished_before: int  # activities journaled `done` when the kill came
    in_flight: int  # activities the state file held as scheduled-not-finished: all a restart may repeat
    started_in_flight: int  # of those, how many had already begun (their restart is a real second run)
    restart_seconds: float
    in_flight_activities: set[tuple[str, int]] = field(default_factory=set, repr=False)


@dataclass
class ChainResult:
    orchestrations: int
    clients: int
    completed: int
    lost: int  # not Completed with the expected output
    activity_runs: int
    duplicated_runs: int  # activity executions beyond the first
    unexplained_duplicates: list[str]  # repeated runs of work that was NOT in flight at a kill
    missing_activities: int
    seconds: float
    throughput: float  # completed orchestrations per second, first start to last completion
    peak_rss_mib: float
    locked_in_responses: int
    locked_in_log: int
    start_report: StartReport
    kill_rounds: list[KillRound]
    failures: list[str]

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.completed == self.orchestrations
            and not self.unexplained_duplicates
            and self.missing_activities == 0
            and not self.locked_in_responses
            and not self.locked_in_log
            and not self.start_report.bad_responses
        )


def run_chain_load(
    orchestrations: int,
    clients: int,
    *,
    activity_ms: int = 0,
    kill_rounds: int = 0,
    kill_window: tuple[float, float] = (0.3, 1.5),
    seed: int = 1,
    timeout: float = 120.0,
    workdir: Path | None = None,
) -> ChainResult:
    """Start `orchestrations` chains from `clients` concurrent clients; optionally `kill -9` the host
    `kill_rounds` times, each a random `kill_window` seconds after the first activity of the round begins, and restart
    it in place."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="load-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        _chain_load(
            orchestrations, clients, activity_ms, kill_rounds, kill_window, random.Random(seed), timeout, workdir
        )
    )


async def _chain_load(
    orchestrations: int,
    clients: int,
    activity_ms: int,
    kill_rounds: int,
    kill_window: tuple[float, float],
    rng: random.Random,
    timeout: float,
    workdir: Path,
) -> ChainResult:
    journal = ActivityJournal(workdir / "activities.journal")
    state_db = workdir / "state.db"
    port = processes.free_port()
    env = {"ACTIVITY_JOURNAL_PATH": str(journal.path)}
    ids = [f"chain-{n:05d}-{rng.getrandbits(32):08x}" for n in range(orchestrations)]
    hosts: list[processes.Service] = []

    def launch() -> processes.Service:
        service = processes.start_host(
            CHAIN_APP, port=port, state_db=state_db, env=env, log_path=workdir / f"host-{len(hosts)}.log"
        )
        hosts.append(service)
        return service

    rounds: list[KillRound] = []
    deadline = time.monotonic() + timeout
    with PeakRss() as rss:
        current = await asyncio.to_thread(launch)
        rss.watch(current.pid)
        base_url = current.url
        began = time.monotonic()
        try:
            starting = asyncio.create_task(start_chains(base_url, ids, clients, activity_ms, deadline))
            report_box: list[StartReport] = []
            starting.add_done_callback(lambda t: report_box.append(t.result()) if not t.exception() else None)
            for _ in range(kill_rounds):
                delay = rng.uniform(*kill_window)
                # The window counts from the round's first activity start, not from the host answering: on a
                # busy machine the first activities may begin well after the host is ready.
                await _first_new_start(journal, deadline, activities=2 * orchestrations)
                await asyncio.sleep(delay)
                before = journal.lines()
                accepted = report_box[0].accepted if report_box else None
                await asyncio.to_thread(current.kill)
                in_flight = activities_in_flight(state_db)
                started = {(run, step) for kind, run, step in before if kind == "start"}
                finished = sum(1 for kind, _, _ in before if kind == "done")
                restart_began = time.monotonic()
                current = await asyncio.to_thread(launch)
                rss.watch(current.pid)
                rounds.append(
                    KillRound(
                        after_seconds=round(delay, 3),
                        accepted_before=accepted if accepted is not None else -1,  # -1: starts still under way
                        finished_before=finished,
                        in_flight=len(in_flight),
                        started_in_flight=len(in_flight & started),
                        restart_seconds=round(time.monotonic() - restart_began, 3),
                        in_flight_activities=in_flight,
                    )
                )
            start_report = await starting
            finals = await wait_all_finished(lambda: current.url, ids, deadline)
            seconds = time.monotonic() - began
            outputs = await _outputs(current.url, ids, deadline)
        finally:
            for service in hosts:
                await asyncio.to_thread(service.stop)
    peak = rss.peak_mib

    starts, dones = journal.counts()
    expected = {(i, s) for i in ids for s in CHAIN_STEPS}
    in_flight_rounds: Counter[tuple[str, int]] = Counter()
    for kill in rounds:
        in_flight_rounds.update(kill.in_flight_activities)
    unexplained = [
        f"{run} step {step} ran {n} times but was in flight at {in_flight_rounds[(run, step)]} kill(s)"
        for (run, step), n in sorted(starts.items())
        if n - 1 > in_flight_rounds[(run, step)]
    ]
    unexplained += [
        f"{run} step {step} ran but belongs to no started instance"
        for run, step in starts
        if (run, step) not in expected
    ]
    failures = []
    completed = 0
    for instance_id in ids:
        status = finals.get(instance_id, {}).get("runtimeStatus")
        output = outputs.get(instance_id)
        if status == "Completed" and output == [f"{instance_id}:{s}" for s in CHAIN_STEPS]:
            completed += 1
        else:
            failures.append(f"{instance_id}: {status} {output!r}")
    log_text = "".join(service.log_text() for service in hosts)
    return ChainResult(
        orchestrations=orchestrations,
        clients=clients,
        completed=completed,
        lost=orchestrations - completed,
        activity_runs=sum(starts.values()),
        duplicated_runs=sum(n - 1 for n in starts.values() if n > 1),
        unexplained_duplicates=unexplained,
        missing_activities=sum(1 for key in expected if dones[key] == 0),
        seconds=round(seconds, 3),
        throughput=round(completed / seconds, 1) if seconds else 0.0,
        peak_rss_mib=round(peak, 1),
        locked_in_responses=sum(LOCKED in text for text in start_report.bad_responses),
        locked_in_log=log_text.count(LOCKED),
        start_report=start_report,
        kill_rounds=rounds,
        failures=failures[:10],
    )


async def _outputs(base_url: str, ids: list[str], deadline: float) -> dict[str, Any]:
    """Each instance's output, read one by one through the status route (what a client would see)."""
    outputs: dict[str, Any] = {}
    gate = asyncio.Semaphore(16)
    async with _client(16) as client:

        async def one(instance_id: str) -> None:
            async with gate:
                if time.monotonic() > deadline:
                    return
                response = await client.get(f"{base_url}{DURABLE}/instances/{instance_id}")
                if response.status_code == 200:
                    outputs[instance_id] = response.json().get("output")

        await asyncio.gather(*(one(i) for i in ids))
    return outputs


# ============================================================================================ seed load


@dataclass
class SeedResult:
    single_runs: int
    multi_runs: int
    completed: int
    failed: int
    empty_answers: int  # Completed with an empty or missing answer: must be 0
    model_calls: int
    expected_model_calls: int
    calls_by_persona: dict[str, int]
    seconds: float
    throughput: float
    peak_rss_mib: float
    locked_in_responses: int
    locked_in_log: int
    bad_responses: list[str]
    failures: list[str]
    # kill -9 rounds: agent operations in flight at each kill (the only model calls that may be repeated)
    agent_ops_in_flight_at_kills: list[int] = field(default_factory=list)

    @property
    def extra_model_calls(self) -> int:
        return self.model_calls - self.expected_model_calls

    @property
    def ok(self) -> bool:
        return (
            self.completed == self.single_runs + self.multi_runs
            and self.failed == 0
            and not self.empty_answers
            and 0 <= self.extra_model_calls <= sum(self.agent_ops_in_flight_at_kills)
            and not self.locked_in_responses
            and not self.locked_in_log
            and not self.bad_responses
        )


def run_seed_load(
    runs_each: int,
    clients: int,
    *,
    model_latency_ms: int = 20,
    kill_rounds: int = 0,
    kill_window: tuple[float, float] = (0.1, 0.6),
    seed: int = 1,
    timeout: float = 180.0,
    workdir: Path | None = None,
) -> SeedResult:
    """`runs_each` concurrent runs of each seed orchestration, `clients` requests in flight at most.

    With `kill_rounds`, once every start is acknowledged the host is killed (`kill -9`) a random `kill_window`
    seconds after each (re)start and restarted on the same state file. (Starts go through the app's routes,
    which choose the instance id, so a start whose answer a kill swallowed could not be checked for.)
    """
    workdir = Path(workdir or tempfile.mkdtemp(prefix="load-seeds-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(
        _seed_load(
            runs_each, clients, model_latency_ms, kill_rounds, kill_window, random.Random(seed), timeout, workdir
        )
    )


async def _seed_load(
    runs_each: int,
    clients: int,
    model_latency_ms: int,
    kill_rounds: int,
    kill_window: tuple[float, float],
    rng: random.Random,
    timeout: float,
    workdir: Path,
) -> SeedResult:
    deadline = time.monotonic() + timeout
    model = await asyncio.to_thread(
        processes.start_offline_model, latency_ms=model_latency_ms, log_path=workdir / "model.log"
    )
    state_db = workdir / "state.db"
    port = processes.free_port()
    hosts: list[processes.Service] = []
    bad: list[str] = []
    in_flight_at_kills: list[int] = []

    def launch() -> processes.Service:
        service = processes.start_host(
            FUNCTIONS_APP,
            port=port,
            state_db=state_db,
            env=offline_host_env(model.url),
            log_path=workdir / f"host-{len(hosts)}.log",
        )
        hosts.append(service)
        return service

    try:
        host = await asyncio.to_thread(launch)
        with PeakRss() as rss:
            rss.watch(host.pid)
            began = time.monotonic()
            ids = await _start_seeds(host.url, runs_each, clients, bad, deadline)
            for _ in range(kill_rounds):
                await asyncio.sleep(rng.uniform(*kill_window))
                await asyncio.to_thread(host.kill)
                in_flight_at_kills.append(agent_operations_in_flight(state_db))
                host = await asyncio.to_thread(launch)
                rss.watch(host.pid)
            finals = await wait_all_finished(lambda: host.url, list(ids), deadline)
            seconds = time.monotonic() - began
            outputs = await _outputs(host.url, list(ids), deadline)
        async with _client(2) as client:
            stats = (await client.get(f"{model.url}/stats", params={"limit": "1000"})).json()
        log_text = "".join(service.log_text() for service in hosts)
    finally:
        for service in hosts:
            await asyncio.to_thread(service.stop)
        await asyncio.to_thread(model.stop)

    completed = failed = empty = 0
    failures: list[str] = []
    for instance_id, kind in ids.items():
        status = finals[instance_id]["runtimeStatus"]
        output = outputs.get(instance_id)
        if status != "Completed":
            failed += 1
            failures.append(f"{kind} {instance_id}: {status} {output!r}"[:300])
            continue
        completed += 1
        answers = [output] if kind == "single" else [(output or {}).get("physicist"), (output or {}).get("chemist")]
        if not all(isinstance(a, str) and a.strip() for a in answers):
            empty += 1
            failures.append(f"{kind} {instance_id}: Completed with an empty answer {output!r}"[:300])
    personas = Counter(str(call.get("persona")) for call in stats.get("recent_calls", []))
    return SeedResult(
        single_runs=runs_each,
        multi_runs=runs_each,
        completed=completed,
        failed=failed,
        empty_answers=empty,
        model_calls=int(stats["calls"]),
        expected_model_calls=4 * runs_each,
        calls_by_persona=dict(personas),
        seconds=round(seconds, 3),
        throughput=round(completed / seconds, 1) if seconds else 0.0,
        peak_rss_mib=round(rss.peak_mib, 1),
        locked_in_responses=sum(LOCKED in b for b in bad),
        locked_in_log=log_text.count(LOCKED),
        bad_responses=bad[:10],
        failures=failures[:10],
        agent_ops_in_flight_at_kills=in_flight_at_kills,
    )


async def _start_seeds(base_url: str, runs_each: int, clients: int, bad: list[str], deadline: float) -> dict[str, str]:
    """Start `runs_each` of each seed orchestration through the app's own routes; id -> "single" | "multi"."""
    ids: dict[str, str] = {}
    gate = asyncio.Semaphore(clients)
    async with _client(clients) as client:

        async def one(kind: str, n: int) -> None:
            async with gate:
                if time.monotonic() > deadline:
                    raise LoadError("seed starts did not finish before the deadline")
                if kind == "single":
                    response = await client.post(f"{base_url}/api/singleagent/run")
                else:
                    response = await client.post(
                        f"{base_url}/api/multiagent/run",
                        content=f"What is heat? (#{n})",
                        headers={"Content-Type": "text/plain"},
                    )
                if response.status_code == 202:
                    ids[response.json()["instanceId"]] = kind
                else:
                    bad.append(f"{kind}: {response.status_code} {response.text[:300]}")

        jobs = [one(kind, n) for n in range(runs_each) for kind in ("single", "multi")]
        await asyncio.gather(*jobs)
    return ids


# ============================================================================================ report


def _print_chain(title: str, result: ChainResult) -> None:
    print(f"\n== {title}")
    print(f"  orchestrations {result.orchestrations} from {result.clients} concurrent clients")
    print(
        f"  completed {result.completed}  lost {result.lost}  duplicated activity runs {result.duplicated_runs}"
        f"  (unexplained {len(result.unexplained_duplicates)})  missing activities {result.missing_activities}"
    )
    print(f"  activity runs {result.activity_runs} for {2 * result.orchestrations} activities")
    print(
        f"  time {result.seconds:.2f} s  throughput {result.throughput} orchestrations/s"
        f"  peak host RSS {result.peak_rss_mib} MiB"
    )
    report = result.start_report
    print(
        f"  starts: accepted {report.accepted}, transport errors {report.transport_errors}, "
        f"re-sent after a lost start {report.restarted_starts}, bad responses {len(report.bad_responses)}"
    )
    print(f"  'database is locked': in responses {result.locked_in_responses}, in host log {result.locked_in_log}")
    for n, kill in enumerate(result.kill_rounds, 1):
        accepted = "starts under way" if kill.accepted_before < 0 else f"{kill.accepted_before} accepted"
        print(
            f"  kill -9 #{n}: {kill.after_seconds:.2f} s after (re)start ({accepted}, "
            f"{kill.finished_before} activities done); in flight {kill.in_flight} "
            f"(already started {kill.started_in_flight}); restart took {kill.restart_seconds:.2f} s"
        )
    for line in result.unexplained_duplicates[:5] + result.failures[:5] + report.bad_responses[:5]:
        print(f"  ! {line}")
    print(f"  => {'OK' if result.ok else 'FAILED'}")


def _print_seed(title: str, result: SeedResult) -> None:
    print(f"\n== {title}")
    print(f"  runs: {result.single_runs} single-agent + {result.multi_runs} multi-agent, started concurrently")
    print(f"  completed {result.completed}  failed {result.failed}  empty answers {result.empty_answers}")
    print(
        f"  model calls {result.model_calls} (expected {result.expected_model_calls}); "
        f"by persona {result.calls_by_persona}"
    )
    print(
        f"  time {result.seconds:.2f} s  throughput {result.throughput} orchestrations/s"
        f"  peak host RSS {result.peak_rss_mib} MiB"
    )
    print(f"  'database is locked': in responses {result.locked_in_responses}, in host log {result.locked_in_log}")
    for n, in_flight in enumerate(result.agent_ops_in_flight_at_kills, 1):
        print(f"  kill -9 #{n}: {in_flight} agent operations in flight")
    if result.agent_ops_in_flight_at_kills:
        print(
            f"  repeated model calls {result.extra_model_calls} "
            f"(at most {sum(result.agent_ops_in_flight_at_kills)} allowed: the operations in flight)"
        )
    for line in result.failures[:5] + result.bad_responses[:5]:
        print(f"  ! {line}")
    print(f"  => {'OK' if result.ok else 'FAILED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_faults", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full sizes (500 chains, 100 runs of each seed)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for ids and kill moments")
    args = parser.parse_args(argv)
    chains, seeds, rounds = (500, 100, 3) if args.full else (100, 20, 2)
    clients = 50
    results: list[Any] = []

    result = run_chain_load(chains, clients, activity_ms=0, seed=args.seed)
    _print_chain("chain load (2 activities each)", result)
    results.append(result)

    result = run_chain_load(
        chains, clients, activity_ms=50, kill_rounds=rounds, kill_window=(0.3, 2.0), seed=args.seed + 1, timeout=300.0
    )
    _print_chain(f"chain load with {rounds} kill -9 rounds (activities sleep 50 ms)", result)
    results.append(result)

    seed_result = run_seed_load(seeds, clients)
    _print_seed("seed orchestrations with the offline model", seed_result)
    results.append(seed_result)

    # Model calls of 150 ms keep agent operations running when the kills come, however fast the machine: with
    # the 20 ms of the plain run, a fast host can finish every run before the first kill, and the round proves
    # nothing.
    seed_result = run_seed_load(seeds, clients, model_latency_ms=150, kill_rounds=rounds, seed=args.seed + 2)
    _print_seed(f"seed orchestrations with {rounds} kill -9 rounds (model calls take 150 ms)", seed_result)
    results.append(seed_result)

    ok = all(r.ok for r in results)
    print(f"\n{'ALL OK' if ok else 'SOME FIGURES FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
