"""Every Durable Functions pattern on one `df.DFApp`, written as for `func start` (Python v2 model).

HTTP starters use the durable client binding the way Microsoft's samples do, so the host's client API is
exercised through the SDK itself. Activities that must behave differently per attempt key their state by a
caller-chosen id (the host runs the app in one process, like the Functions Python worker).
"""

import asyncio
import json
import random
import threading
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(value, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status_code, mimetype="application/json")


# --------------------------------------------------------------------------------------------------------------
# HTTP starters and management routes (durable client binding)
# --------------------------------------------------------------------------------------------------------------


@app.route(route="orchestrators/{functionName}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    client_input = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["functionName"], req.route_params.get("instanceId"), client_input
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="run/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_run_and_wait(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, json.loads(body) if body else None)
    timeout_ms = int(req.params.get("timeout_ms", "10000"))
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=timeout_ms, retry_interval_in_milliseconds=100
    )


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client) -> func.HttpResponse:
    status = await client.get_status(
        req.route_params["instanceId"], show_history=True, show_history_output=True, show_input=True
    )
    if not status:
        return _json({"error": "no such instance"}, 404)
    return _json(
        {
            "runtimeStatus": status.runtime_status.value if status.runtime_status else None,
            "output": status.output,
            "customStatus": status.custom_status,
            "historyLength": len(getattr(status, "historyEvents", None) or []),
            "name": status.name,
        }
    )


@app.route(route="instances", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_list(req: func.HttpRequest, client) -> func.HttpResponse:
    statuses = await client.get_status_by(
        runtime_status=[df.OrchestrationRuntimeStatus.Completed], instance_id_prefix=req.params.get("prefix")
    )
    return _json(sorted(s.instance_id for s in statuses))


@app.route(route="events/{instanceId}/{eventName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_raise_event(req: func.HttpRequest, client) -> func.HttpResponse:
    await client.raise_event(req.route_params["instanceId"], req.route_params["eventName"], req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="terminate/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_terminate(req: func.HttpRequest, client) -> func.HttpResponse:
    await client.terminate(req.route_params["instanceId"], req.params.get("reason", "stopped by test"))
    return func.HttpResponse(status_code=202)


@app.route(route="purge/{instanceId}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def http_purge(req: func.HttpRequest, client) -> func.HttpResponse:
    result = await client.purge_instance_history(req.route_params["instanceId"])
    return _json({"instancesDeleted": result.instances_deleted})


@app.route(route="entities/{entityName}/{entityKey}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_signal_entity(req: func.HttpRequest, client) -> func.HttpResponse:
    entity_id = df.EntityId(req.route_params["entityName"], req.route_params["entityKey"])
    body = req.get_body()
    await client.signal_entity(entity_id, req.route_params["operation"], json.loads(body) if body else None)
    return func.HttpResponse(status_code=202)


@app.route(route="entities/{entityName}/{entityKey}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_read_entity(req: func.HttpRequest, client) -> func.HttpResponse:
    entity_id = df.EntityId(req.route_params["entityName"], req.route_params["entityKey"])
    state = await client.read_entity_state(entity_id)
    return _json({"exists": state.entity_exists, "state": state.entity_state})


# --------------------------------------------------------------------------------------------------------------
# Orchestrators
# --------------------------------------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def hello_chain(context: df.DurableOrchestrationContext):
    """Function chaining: three activities in order (one of them async)."""
    result1 = yield context.call_activity("say_hello", "Tokyo")
    result2 = yield context.call_activity("say_hello_async", "Seattle")
    result3 = yield context.call_activity("say_hello", "London")
    return [result1, result2, result3]


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """Fan-out/fan-in: `count` activities in parallel, each sleeping `seconds`."""
    job = context.get_input()
    tasks = [context.call_activity("slow_square", {"n": n, "seconds": job["seconds"]}) for n in range(job["count"])]
    results = yield context.task_all(tasks)
    return {"squares": results, "total": sum(results)}


@app.orchestration_trigger(context_name="context")
def first_responder(context: df.DurableOrchestrationContext):
    """task_any over activities of different durations: the fastest one wins."""
    tasks = [
        context.call_activity("slow_echo", {"value": name, "seconds": seconds})
        for name, seconds in (("tortoise", 0.3), ("hare", 0.0))
    ]
    winner = yield context.task_any(tasks)
    return winner.result


@app.orchestration_trigger(context_name="context")
def retry_activity(context: df.DurableOrchestrationContext):
    """call_activity_with_retry: `flaky` fails `fail_times` times before succeeding."""
    job = context.get_input()
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=job["max_attempts"])
    attempts = yield context.call_activity_with_retry("flaky", retry, job)
    return {"attempts": attempts}


@app.orchestration_trigger(context_name="context")
def wait_a_moment(context: df.DurableOrchestrationContext):
    """A durable timer: the orchestration sleeps without occupying anything."""
    seconds = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(seconds=seconds))
    return {"slept": (context.current_utc_datetime - started).total_seconds()}


@app.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    """Human interaction: wait for an 'Approval' event, or give up when a durable timer fires first."""
    timeout_seconds = context.get_input()
    context.set_custom_status({"stage": "waiting for approval"})
    deadline = context.current_utc_datetime + timedelta(seconds=timeout_seconds)
    timeout_task = context.create_timer(deadline)
    approval_task = context.wait_for_external_event("Approval")
    winner = yield context.task_any([approval_task, timeout_task])
    if winner == approval_task:
        timeout_task.cancel()
        context.set_custom_status({"stage": "approved"})
        return {"approved": approval_task.result}
    context.set_custom_status({"stage": "timed out"})
    return "timeout"


@app.orchestration_trigger(context_name="context")
def collect_events(context: df.DurableOrchestrationContext):
    """Waits for two named events in a fixed order; events raised early must not be lost."""
    first = yield context.wait_for_external_event("First")
    second = yield context.wait_for_external_event("Second")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def parent_orchestrator(context: df.DurableOrchestrationContext):
    """Sub-orchestrations: one with an explicit instance id, one retried after its first attempt fails."""
    job = context.get_input()
    chained = yield context.call_sub_orchestrator("hello_chain", None, f"{context.instance_id}-child")
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    flaky_child = yield context.call_sub_orchestrator_with_retry("flaky_child", retry, job)
    return {"chained": chained, "flaky_child": flaky_child}


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    """Fails (through its activity, no retry) until `flaky` has failed `fail_times` times."""
    job = context.get_input()
    attempts = yield context.call_activity("flaky", job)
    return f"child succeeded on attempt {attempts}"


@app.orchestration_trigger(context_name="context")
def eternal_counter(context: df.DurableOrchestrationContext):
    """continue_as_new: restarts itself with a bigger number until it reaches the limit."""
    state = context.get_input()
    yield context.call_activity("say_hello", f"round {state['n']}")
    if state["n"] < state["limit"]:
        context.continue_as_new({"n": state["n"] + 1, "limit": state["limit"]})
        return None
    return {"finished_at": state["n"]}


@app.orchestration_trigger(context_name="context")
def replay_safe_values(context: df.DurableOrchestrationContext):
    """new_uuid() and current_utc_datetime must give the same values on every replay.

    The first activity stores what the first episode computed in history; the return value is what the last
    replay computed. They must be equal.
    """
    first_uuid = context.new_uuid()
    first_time = context.current_utc_datetime.isoformat()
    seen_by_first_episode = yield context.call_activity("identity", {"uuid": first_uuid, "time": first_time})
    second_uuid = context.new_uuid()
    yield context.call_activity("identity", "tick")
    return {
        "first_episode": seen_by_first_episode,
        "last_replay": {"uuid": first_uuid, "time": first_time},
        "second_uuid": second_uuid,
        "final_time": context.current_utc_datetime.isoformat(),
    }


@app.orchestration_trigger(context_name="context")
def staged_status(context: df.DurableOrchestrationContext):
    """set_custom_status is visible while the orchestration runs and stays after it completes."""
    context.set_custom_status({"stage": 1})
    yield context.wait_for_external_event("Go")
    context.set_custom_status({"stage": 2, "note": "done"})
    return "ok"


@app.orchestration_trigger(context_name="context")
def counter_client(context: df.DurableOrchestrationContext):
    """Orchestration talking to an entity: one-way signal, then two-way calls (same sender ⇒ in order)."""
    key = context.get_input()
    counter = df.EntityId("Counter", key)
    context.signal_entity(counter, "add", 5)
    after_add = yield context.call_entity(counter, "add", 1)
    value = yield context.call_entity(counter, "get")
    cart = df.EntityId("Cart", key)
    yield context.call_entity(cart, "add_item", {"sku": "tea", "qty": 2})
    cart_total = yield context.call_entity(cart, "count")
    return {"after_add": after_add, "value": value, "cart_count": cart_total}


@app.orchestration_trigger(context_name="context")
def entity_error(context: df.DurableOrchestrationContext):
    """An entity operation that raises fails the calling orchestration with the entity's message."""
    yield context.call_entity(df.EntityId("Counter", context.get_input()), "explode")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def failing_activity(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before the failure")
    yield context.call_activity("always_fails", "the gear box")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def failing_orchestrator(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before the failure")
    raise ValueError("orchestrator gave up: invariant violated")


@app.orchestration_trigger(context_name="context")
def missing_activity(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("no_such_activity", "x")
    return result


ROUTES = ("route_north", "route_east", "route_south", "route_west")


@app.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    """BUG ON PURPOSE: the activity name comes from `random`, so a replay schedules a different activity than
    history recorded. Over five steps with four names, a replay that happens to match every earlier choice
    has probability 4**-10."""
    visited = []
    for _ in range(5):
        visited.append((yield context.call_activity(random.choice(ROUTES), None)))
    return visited


# --------------------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------------------


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="city")
async def say_hello_async(city: str) -> str:
    await asyncio.sleep(0.01)
    return f"Hello {city}!"


@app.activity_trigger(input_name="job")
def slow_square(job: dict) -> int:
    time.sleep(job["seconds"])
    return job["n"] * job["n"]


@app.activity_trigger(input_name="job")
async def slow_echo(job: dict) -> str:
    await asyncio.sleep(job["seconds"])
    return job["value"]


@app.activity_trigger(input_name="value")
def identity(value):
    return value


_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()


@app.activity_trigger(input_name="job")
def flaky(job: dict) -> int:
    """Fails the first `fail_times` calls for `job['key']`, then returns the attempt number."""
    with _attempts_lock:
        _attempts[job["key"]] = attempt = _attempts.get(job["key"], 0) + 1
    if attempt <= job["fail_times"]:
        raise RuntimeError(f"flaky failure {attempt} for {job['key']}")
    return attempt


@app.activity_trigger(input_name="part")
def always_fails(part: str) -> str:
    raise RuntimeError(f"activity exploded while handling {part}")


@app.activity_trigger(input_name="ignored")
def route_north(ignored) -> str:
    return "north"


@app.activity_trigger(input_name="ignored")
def route_east(ignored) -> str:
    return "east"


@app.activity_trigger(input_name="ignored")
def route_south(ignored) -> str:
    return "south"


@app.activity_trigger(input_name="ignored")
def route_west(ignored) -> str:
    return "west"


# --------------------------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------------------------


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext):
    """Function-based entity, as in the Durable Functions docs."""
    current_value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current_value += context.get_input()
        context.set_result(current_value)
    elif operation == "slow_add":
        # Read-modify-write with a pause in the middle: only correct if operations run one at a time.
        time.sleep(0.01)
        current_value += context.get_input()
    elif operation == "reset":
        current_value = 0
    elif operation == "get":
        context.set_result(current_value)
    elif operation == "delete":
        context.destruct_on_exit()
        return
    elif operation == "explode":
        raise ValueError("counter cannot explode twice")
    context.set_state(current_value)


class ShoppingCart:
    """Class-based entity: the state is an object, each operation a method."""

    def __init__(self, items: dict | None = None) -> None:
        self.items = dict(items or {})

    def add_item(self, line: dict) -> int:
        self.items[line["sku"]] = self.items.get(line["sku"], 0) + line["qty"]
        return self.count()

    def remove_item(self, sku: str) -> int:
        self.items.pop(sku, None)
        return self.count()

    def count(self, _=None) -> int:
        return sum(self.items.values())

    def to_state(self) -> dict:
        return {"items": self.items}


@app.entity_trigger(context_name="context", entity_name="Cart")
def cart_entity(context: df.DurableEntityContext):
    cart = ShoppingCart(context.get_state(lambda: {"items": {}})["items"])
    operation = getattr(cart, context.operation_name)
    context.set_result(operation(context.get_input()))
    context.set_state(cart.to_state())
