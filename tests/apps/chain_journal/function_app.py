"""A two-activity chain whose activities journal every invocation, for load and crash tests.

Each activity appends `start <instance> <step> <pid>` before its work and `done <instance> <step> <pid>` after
it to the file named by the ACTIVITY_JOURNAL_PATH setting. One `os.write` on an O_APPEND descriptor per line:
the line is in the OS page cache as soon as the call returns, so it survives `kill -9` of the host (only a
power cut could lose it) and lines from concurrent activities never interleave.
"""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _journal(kind: str, job: dict) -> None:
    line = f"{kind} {job['run']} {job['step']} {os.getpid()}\n".encode()
    fd = os.open(os.environ["ACTIVITY_JOURNAL_PATH"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@app.route(route="chain/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_chain(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start `chain` under the caller's instance id, so a client whose answer was lost can check, then retry."""
    body = req.get_body()
    job = json.loads(body) if body else {}
    instance_id = await client.start_new("chain", req.route_params["instanceId"], job)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    """Two journaled activities in sequence; the output names both, so a lost or swapped result shows."""
    job = context.get_input() or {}
    ms = int(job.get("ms", 0))
    first = yield context.call_activity("journaled_step", {"run": context.instance_id, "step": 1, "ms": ms})
    second = yield context.call_activity("journaled_step", {"run": context.instance_id, "step": 2, "ms": ms})
    return [first, second]


@app.activity_trigger(input_name="job")
def journaled_step(job: dict) -> str:
    _journal("start", job)
    time.sleep(job["ms"] / 1000)
    _journal("done", job)
    return f"{job['run']}:{job['step']}"
