"""The benchmark's Functions app: the smallest orchestrations that expose the host's own overhead.

Activities either sleep a fixed time (so any end-to-end time above N x sleep is the host's scheduling cost)
or do nothing (so throughput measures only the durable machinery: HTTP start, episodes, SQLite, replay).
Written as for `func start` (Python v2 model); the embedded host runs it unchanged.
"""

import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="milliseconds")
def sleep_ms(milliseconds: int) -> dict:
    """Blocks its worker thread like real I/O-bound work (a model call) would. Returns when it ran by its own
    clock (`time.perf_counter()`, one clock for every thread of the host process), so the benchmark can time the
    host's step from one activity's return to the next one's start to the microsecond."""
    began = time.perf_counter()
    time.sleep(milliseconds / 1000)
    return {"ms": milliseconds, "began": began, "ended": time.perf_counter()}


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.orchestration_trigger(context_name="context")
def sleep_chain(context: df.DurableOrchestrationContext):
    """{"count": N, "ms": M}: N sleeping activities one after another; returns what each one reported."""
    spec = context.get_input()
    ran = []
    for _ in range(spec["count"]):
        ran.append((yield context.call_activity("sleep_ms", spec["ms"])))
    return ran


@app.orchestration_trigger(context_name="context")
def sleep_fan_out(context: df.DurableOrchestrationContext):
    """{"count": N, "ms": M}: N sleeping activities at once, joined with task_all."""
    spec = context.get_input()
    results = yield context.task_all([context.call_activity("sleep_ms", spec["ms"]) for _ in range(spec["count"])])
    return len(results)


@app.orchestration_trigger(context_name="context")
def noop_chain_of_two(context: df.DurableOrchestrationContext):
    """The throughput shape, the same as the durabletask baseline's `chain_of_two`."""
    first = yield context.call_activity("noop", context.get_input())
    second = yield context.call_activity("noop", first)
    return second


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client) -> func.HttpResponse:
    """An app-level HTTP starter, as Microsoft's samples write it (the bench can use it or the Durable HTTP API)."""
    body = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(req.route_params["name"], None, body)
    return client.create_check_status_response(req, instance_id)
