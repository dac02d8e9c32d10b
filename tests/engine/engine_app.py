"""A small Durable Functions app for the in-process engine tests (tests/engine, tests/durability), and its registry.

The registry is built here straight from `app.get_functions()` so the engine tests do not depend on the
function_app loader; the names follow the same rules (durable name, else function name, case-insensitive).
The counters and gates let a test see what ran and hold an activity or an episode at a chosen moment.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from helpers.host.registry import DurableFunction, Registry

# ---------------------------------------------------------------------------------------------- the app
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

CALLS: dict[str, int] = {}  # activity invocation counters (tests reset them)
CALLS_LOCK = threading.Lock()
NONDET = {"variant": "a"}
GATE = threading.Event()  # lets a test hold an activity until it has crashed the engine
REPLAY_GATE = threading.Event()  # holds `slow_second_episode` inside its second episode
IN_SECOND_EPISODE = threading.Event()  # set once that episode is running


def count(name: str) -> int:
    with CALLS_LOCK:
        CALLS[name] = CALLS.get(name, 0) + 1
        return CALLS[name]


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    count("hello")
    return f"Hello {name}"


@app.activity_trigger(input_name="seconds")
def nap(seconds: float) -> float:
    count("nap")
    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="seconds")
async def async_nap(seconds: float) -> float:
    count("async_nap")
    await asyncio.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="fail_times")
def flaky(fail_times: int) -> str:
    attempt = count("flaky")
    if attempt <= fail_times:
        raise RuntimeError(f"flaky attempt {attempt}")
    return f"ok after {attempt}"


@app.activity_trigger(input_name="value")
def boom(value: Any) -> None:
    raise ValueError(f"boom {value}")


@app.activity_trigger(input_name="tag")
def gated(tag: str) -> str:
    count("gated")
    GATE.wait(10)
    return f"gated {tag}"


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    inp = context.get_input()
    a = yield context.call_activity("hello", inp["name"])
    b = yield context.call_activity("Hello", a)  # durable names are case-insensitive
    context.set_custom_status({"step": 2})
    return [a, b]


@app.orchestration_trigger(context_name="context")
def noop_chain(context: df.DurableOrchestrationContext):
    yield context.call_activity("hello", "x")
    yield context.call_activity("hello", "y")
    return "done"


@app.orchestration_trigger(context_name="context")
def fanout(context: df.DurableOrchestrationContext):
    n, seconds, activity = context.get_input()
    results = yield context.task_all([context.call_activity(activity, seconds) for _ in range(n)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    fail_times, attempts = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=attempts)
    return (yield context.call_activity_with_retry("flaky", options, fail_times))


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    deadline = context.current_utc_datetime + timedelta(seconds=seconds)
    timer = context.create_timer(deadline)
    approved = context.wait_for_external_event("Approve")
    winner = yield context.task_any([timer, approved])
    if winner == approved:
        timer.cancel()
        return {"approved": approved.result}
    return "timeout"


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    name = context.get_input()
    if name == "bad":
        raise ValueError("child refuses 'bad'")
    return (yield context.call_activity("hello", name))


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    names = context.get_input()
    results = []
    for i, name in enumerate(names):
        results.append((yield context.call_sub_orchestrator("child", name, f"{context.instance_id}-c{i}")))
    return results


@app.orchestration_trigger(context_name="context")
def parent_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=2)
    try:
        return (yield context.call_sub_orchestrator_with_retry("child", options, "bad"))
    except Exception as exc:
        return f"caught: {exc}"


@app.orchestration_trigger(context_name="context")
def countdown(context: df.DurableOrchestrationContext):
    n = context.get_input()
    yield context.call_activity("hello", str(n))
    if n > 0:
        context.continue_as_new(n - 1)
        return None
    return "liftoff"


@app.orchestration_trigger(context_name="context")
def stable_values(context: df.DurableOrchestrationContext):
    first = (str(context.new_uuid()), context.current_utc_datetime.isoformat())
    yield context.call_activity("hello", "a")
    yield context.call_activity("hello", "b")
    last = (str(context.new_uuid()), context.current_utc_datetime.isoformat())
    return {"first": first, "last": last}


@app.orchestration_trigger(context_name="context")
def shifty(context: df.DurableOrchestrationContext):
    if NONDET["variant"] == "a":
        yield context.call_activity("hello", "1")
    else:
        yield context.call_activity("nap", 0)
    yield context.wait_for_external_event("Go")
    return "done"


@app.orchestration_trigger(context_name="context")
def doomed(context: df.DurableOrchestrationContext):
    yield context.call_activity("boom", 7)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def calls_missing(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("no_such_activity", 1))


@app.orchestration_trigger(context_name="context")
def entity_user(context: df.DurableOrchestrationContext):
    counter = df.EntityId("Counter", context.get_input())
    context.signal_entity(counter, "add", 5)
    yield context.call_entity(counter, "add", 2)
    total = yield context.call_entity(counter, "get")
    account = df.EntityId("account", context.get_input())
    yield context.call_entity(account, "deposit", 10)
    balance = yield context.call_entity(account, "balance")
    try:
        yield context.call_entity(account, "withdraw", 1000)
        refused = None
    except Exception as exc:
        refused = str(exc)
    return {"total": total, "balance": balance, "refused": refused}


@app.orchestration_trigger(context_name="context")
def gated_chain(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("hello", "before")
    second = yield context.call_activity("gated", "crash")
    third = yield context.call_activity("hello", "after")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def two_waits(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("go")
    second = yield context.wait_for_external_event("go")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def fan_in_with_gate(context: df.DurableOrchestrationContext):
    """A task_all whose first result has to wait for the gated second one."""
    return (yield context.task_all([context.call_activity("hello", "held"), context.call_activity("gated", "fan-in")]))


@app.orchestration_trigger(context_name="context")
def slow_second_episode(context: df.DurableOrchestrationContext):
    """An episode that is still running when the host is asked to stop (orchestrators must not block; this one
    does, on purpose, to hold the engine at that moment)."""
    first = yield context.call_activity("hello", "1")
    if not context.is_replaying:
        IN_SECOND_EPISODE.set()
        REPLAY_GATE.wait(10)
    second = yield context.call_activity("hello", "2")
    return [first, second]


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter_entity(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        amount = context.get_input()
        time.sleep(0.05)  # widen the window in which overlapping operations would lose updates
        value += amount
    elif op == "reset":
        value = 0
    context.set_state(value)
    context.set_result(value)


class Account:
    """A class-based entity: operations are methods, the object's fields are the state."""

    def __init__(self, balance: int = 0) -> None:
        self.balance_value = balance

    def deposit(self, amount: int) -> int:
        self.balance_value += amount
        return self.balance_value

    def withdraw(self, amount: int) -> int:
        if amount > self.balance_value:
            raise ValueError(f"insufficient funds: balance {self.balance_value}, asked {amount}")
        self.balance_value -= amount
        return self.balance_value

    def balance(self, _: Any = None) -> int:
        return self.balance_value


@app.entity_trigger(context_name="context", entity_name="Account")
def account_entity(context: df.DurableEntityContext):
    account = Account(**context.get_state(lambda: {"balance": 0}))
    result = getattr(account, context.operation_name)(context.get_input())
    context.set_state({"balance": account.balance_value})
    context.set_result(result)


# ---------------------------------------------------------------------------------------------- registry
def build_registry(dfapp: df.DFApp) -> Registry:
    registry = Registry()
    kinds = {
        "orchestrationTrigger": ("orchestrator", "orchestration", registry.orchestrators),
        "activityTrigger": ("activity", "activity", registry.activities),
        "entityTrigger": ("entity", "entity_name", registry.entities),
    }
    for fn in dfapp.get_functions():
        trigger = fn.get_trigger()
        if trigger.type not in kinds:
            continue
        kind, attr, table = kinds[trigger.type]
        name = getattr(trigger, attr, None) or fn.get_function_name()
        table[name.lower()] = DurableFunction(
            kind=kind,
            name=name,
            function_name=fn.get_function_name(),
            handler=fn.get_user_function(),
            trigger_param=trigger.name,
        )
    return registry


REGISTRY = build_registry(app)
