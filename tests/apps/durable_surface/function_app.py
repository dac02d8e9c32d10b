"""Durable features beyond the basic patterns, written as for `func start`: durable HTTP calls, rewind, starting
an instance id that is still running, and suspend/resume refused in the wrong state.

The app also serves the HTTP targets its `call_http` orchestrators call (routes under `target/`), so the tests
need no other server. Module-level dicts hold what the tests inspect or flip (`FIXED`, `CALLS`): the host runs
the whole app in one process, as the Functions Python worker does.
"""

import json
import threading
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

FIXED: set = set()
CALLS: dict = {}
LOCK = threading.Lock()


def _json(value, status_code: int = 200, headers=None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status_code, mimetype="application/json", headers=headers)


# ------------------------------------------------------------------------------------------ client routes
@app.route(route="start/{name}/{instanceId?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    try:
        instance_id = await client.start_new(
            req.route_params["name"], req.route_params.get("instanceId"), json.loads(body) if body else None
        )
    except Exception as exc:
        return _json({"refused": str(exc)}, 409)
    return client.create_check_status_response(req, instance_id)


@app.route(route="rewind/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def rewind(req: func.HttpRequest, client) -> func.HttpResponse:
    try:
        await client.rewind(req.route_params["instanceId"], req.params.get("reason", "fixed"))
    except Exception as exc:
        return _json({"refused": str(exc)}, 400)
    return func.HttpResponse(status_code=202)


@app.route(route="lifecycle/{operation}/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def lifecycle(req: func.HttpRequest, client) -> func.HttpResponse:
    """`client.suspend` / `client.resume` as a function calls them; what the SDK raises comes back as `refused`."""
    operation = getattr(client, req.route_params["operation"])
    try:
        await operation(req.route_params["instanceId"], req.params.get("reason", "from the app"))
    except Exception as exc:
        return _json({"refused": str(exc)}, 409)
    return func.HttpResponse(status_code=202)


@app.route(route="fix/{key}", methods=["POST"])
def fix(req: func.HttpRequest) -> func.HttpResponse:
    FIXED.add(req.route_params["key"])
    return func.HttpResponse(status_code=204)


@app.route(route="calls/{key}", methods=["GET"])
def calls(req: func.HttpRequest) -> func.HttpResponse:
    key = req.route_params["key"]
    return _json({name: n for name, n in CALLS.items() if name.startswith(key)})


# ------------------------------------------------------------------------------------------ HTTP targets
@app.route(route="target/hello", methods=["GET"])
def target_hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hi there", mimetype="text/plain", headers={"X-Target": "hello"})


@app.route(route="target/echo", methods=["POST", "PUT"])
def target_echo(req: func.HttpRequest) -> func.HttpResponse:
    seen = {name: req.headers.get(name) for name in ("content-type", "x-custom", "authorization")}
    return _json({"method": req.method, "headers": seen, "body": req.get_body().decode()}, 201)


@app.route(route="target/accepted", methods=["GET"])
def target_accepted(req: func.HttpRequest) -> func.HttpResponse:
    location = req.url.split("/api/")[0] + "/api/target/hello"
    return _json({"status": "working"}, 202, headers={"Location": location, "Retry-After": "1"})


# ------------------------------------------------------------------------------------------ orchestrators
@app.orchestration_trigger(context_name="context")
def http_get(context: df.DurableOrchestrationContext):
    return (yield context.call_http("GET", context.get_input()))


@app.orchestration_trigger(context_name="context")
def http_post(context: df.DurableOrchestrationContext):
    return (
        yield context.call_http(
            "POST",
            context.get_input(),
            content={"order": 7},
            headers={"Content-Type": "application/json", "X-Custom": "42"},
        )
    )


@app.orchestration_trigger(context_name="context")
def http_guarded(context: df.DurableOrchestrationContext):
    """{"uri": ..., "token": resource or null}: a failure of the call is caught by the orchestrator."""
    spec = context.get_input()
    source = df.ManagedIdentityTokenSource(spec["token"]) if spec.get("token") else None
    try:
        response = yield context.call_http("GET", spec["uri"], token_source=source)
    except Exception as exc:
        return {"caught": str(exc)}
    return {"status": response["statusCode"]}


@app.orchestration_trigger(context_name="context")
def flaky_chain(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity("counted", f"{key}:first")
    second = yield context.call_activity("fails_until_fixed", key)
    return [first, second]


@app.orchestration_trigger(context_name="context")
def flaky_parent(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity("counted", f"{key}:parent")
    child = yield context.call_sub_orchestrator("flaky_chain", key, f"{context.instance_id}-child")
    return {"first": first, "child": child}


@app.orchestration_trigger(context_name="context")
def flaky_retry(context: df.DurableOrchestrationContext):
    key = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=2)
    return (yield context.call_activity_with_retry("fails_until_fixed", options, key))


@app.orchestration_trigger(context_name="context")
def retried_then_flaky(context: df.DurableOrchestrationContext):
    """A retry loop that succeeds on its second attempt, then an activity that fails until fixed."""
    key = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=20, max_number_of_attempts=3)
    first = yield context.call_activity_with_retry("fails_once", options, key)
    second = yield context.call_activity("fails_until_fixed", key)
    return [first, second]


@app.orchestration_trigger(context_name="context")
def retrying_beside_flaky(context: df.DurableOrchestrationContext):
    """A retry loop waiting out its retry interval (its first attempt fails at once) when the other branch fails
    the run (0.1 s in)."""
    key = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=500, max_number_of_attempts=3)
    return (
        yield context.task_all(
            [
                context.call_activity_with_retry("fails_twice", options, key),
                context.call_activity("fails_until_fixed_later", key),
            ]
        )
    )


@app.orchestration_trigger(context_name="context")
def loop_gives_up_beside_loop(context: df.DurableOrchestrationContext):
    """Two retry loops at once. The first gives up after its one attempt and fails the run (its retry timer, 0.4 s,
    got the id after the two tasks); meanwhile the second failed once and is on its slow second attempt, whose
    id came after that timer."""
    key = context.get_input()
    gives_up = context.call_activity_with_retry("fails_until_fixed", df.RetryOptions(400, 1), key)
    retrying = context.call_activity_with_retry("fails_once_then_slow", df.RetryOptions(100, 3), key)
    return (yield context.task_all([gives_up, retrying]))


@app.orchestration_trigger(context_name="context")
def child_after_a_dropped_timer(context: df.DurableOrchestrationContext):
    """A retry loop (one attempt, 0.4 s retry timer) left running while the orchestrator awaits a short activity;
    then a child, numbered after the loop's timer, and both awaited: the loop gives up while the child runs."""
    key = context.get_input()
    gives_up = context.call_activity_with_retry("fails_until_fixed", df.RetryOptions(400, 1), key)
    yield context.task_any([gives_up, context.call_activity("sleeps", 0.1)])  # the sleep wins
    child = context.call_sub_orchestrator("sleepy_child", 1.0, f"{context.instance_id}-child")
    return (yield context.task_all([gives_up, child]))


@app.orchestration_trigger(context_name="context")
def sleepy_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("sleeps", context.get_input()))


@app.orchestration_trigger(context_name="context")
def entity_beside_flaky(context: df.DurableOrchestrationContext):
    """An entity operation (0.5 s) and an activity that fails at once: the run fails while the operation runs."""
    key = context.get_input()
    counter = df.EntityId("slow_counter", key)
    return (
        yield context.task_all(
            [context.call_entity(counter, "add_slowly", 1), context.call_activity("fails_until_fixed", key)]
        )
    )


@app.entity_trigger(context_name="context")
def slow_counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add_slowly":
        time.sleep(0.5)
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def child_named(context: df.DurableOrchestrationContext):
    """Calls `waiter` as a sub-orchestration with the instance id it was given."""
    return (yield context.call_sub_orchestrator("waiter", "child", context.get_input()))


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"input": context.get_input()})
    return {"input": context.get_input(), "event": (yield context.wait_for_external_event("Go"))}


# ------------------------------------------------------------------------------------------ activities
def _count(name: str) -> int:
    with LOCK:
        CALLS[name] = CALLS.get(name, 0) + 1
        return CALLS[name]


@app.activity_trigger(input_name="name")
def counted(name: str) -> str:
    return f"{name} #{_count(name)}"


@app.activity_trigger(input_name="key")
def fails_once(key: str) -> str:
    attempt = _count(f"{key}:once")
    if attempt == 1:
        raise RuntimeError(f"{key} fails the first time")
    return f"ok on attempt {attempt}"


@app.activity_trigger(input_name="key")
def fails_once_then_slow(key: str) -> str:
    if _count(f"{key}:slow") == 1:
        time.sleep(0.05)
        raise RuntimeError(f"{key} fails the first time")
    time.sleep(0.6)
    return "ok after a slow attempt"


@app.activity_trigger(input_name="seconds")
def sleeps(seconds: float) -> str:
    time.sleep(seconds)
    return f"slept {seconds} s"


@app.activity_trigger(input_name="key")
def fails_twice(key: str) -> str:
    attempt = _count(f"{key}:twice")
    if attempt <= 2:
        raise RuntimeError(f"{key} fails twice (attempt {attempt})")
    return f"ok on attempt {attempt}"


@app.activity_trigger(input_name="key")
def fails_until_fixed(key: str) -> str:
    attempt = _count(f"{key}:flaky")
    if key not in FIXED:
        raise RuntimeError(f"{key} is not fixed yet (attempt {attempt})")
    return f"fixed on attempt {attempt}"


@app.activity_trigger(input_name="key")
def fails_until_fixed_later(key: str) -> str:
    time.sleep(0.1)
    return fails_until_fixed(key)
