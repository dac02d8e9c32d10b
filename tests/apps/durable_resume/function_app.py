"""An app for durability checks: every activity invocation is journaled to the file named by the
STEP_JOURNAL_PATH app setting, so a test can see which work ran, and how often, across a host crash.
"""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="start/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["functionName"], None, json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


def _journal(line: str) -> None:
    with open(os.environ["STEP_JOURNAL_PATH"], "a", encoding="utf-8") as journal:
        journal.write(line + "\n")
        journal.flush()
        os.fsync(journal.fileno())


@app.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    """Four journaled steps in sequence, each taking `seconds`."""
    job = context.get_input()
    results = []
    for step in range(1, job["steps"] + 1):
        results.append(
            (
                yield context.call_activity(
                    "journaled_step", {"step": step, "seconds": job["seconds"], "run": context.instance_id}
                )
            )
        )
    return results


@app.activity_trigger(input_name="job")
def journaled_step(job: dict) -> str:
    _journal(f"start {job['run']} {job['step']}")
    time.sleep(job["seconds"])
    _journal(f"done {job['run']} {job['step']}")
    return f"step {job['step']} done"


@app.orchestration_trigger(context_name="context")
def three_steps(context: df.DurableOrchestrationContext):
    """A plain three-activity chain: 1 first episode + 3 replays."""
    a = yield context.call_activity("shout", "one")
    b = yield context.call_activity("shout", "two")
    c = yield context.call_activity("shout", "three")
    return [a, b, c]


@app.activity_trigger(input_name="word")
def shout(word: str) -> str:
    return word.upper()


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext):
    total = context.get_state(lambda: 0)
    if context.operation_name == "add":
        total += context.get_input()
    elif context.operation_name == "get":
        context.set_result(total)
    context.set_state(total)
