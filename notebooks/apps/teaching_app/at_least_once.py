"""Notebook 07 (at least once): side effects that run twice, idempotency keys, retries, failed model calls.

Durable Functions runs an activity (and an entity operation, such as an agent's turn) **at least once**: work
that was in flight when the host crashed runs again, because its completion was never recorded in history.
These functions make that visible.

- `send_welcome_email` - a side effect: it writes one line to the outbox (a stand-in for a mail provider),
  then waits `RECEIPT_SECONDS` for a "receipt" before it returns. Crash the host during the wait and the
  restarted host runs it again: a second e-mail.
- `send_welcome_email_once` - the same, given an **idempotency key**: the outbox accepts each key once, like
  a provider that de-duplicates by key (many payment and messaging APIs do). The key must be the same every
  time the same send is attempted, so the orchestrator builds it from what stays the same for this send: its
  instance id and the step.
- `welcome_email` / `welcome_email_once` - orchestrators that send one e-mail, without and with a key.
- `flaky_lookup` - fails its first two attempts per instance ("the weather service is down"), then answers.
  `lookup_without_retry` fails; `lookup_with_retry` uses `call_activity_with_retry` + `RetryOptions`.
- `writer_with_retry` - the chaining writer's first turn, retried by the orchestrator when the agent comes back
  with no text (its model call failed). Agent calls are entity operations, which have no `RetryOptions`, so the
  loop is written out: a durable timer between attempts, a wait that starts at `WRITER_FIRST_RETRY_SECONDS` and
  grows by `WRITER_BACKOFF_COEFFICIENT`, at most `WRITER_MAX_ATTEMPTS` attempts, all on one session.
- `GET /api/lab/outbox` - what the outbox holds; `DELETE /api/lab/outbox` empties it.

The outbox and the attempt counters live in `LAB_WORK_DIR` (the running kit's own folder, set by `lab.start`).
`LAB_RECEIPT_SECONDS` (default 2) sets the receipt wait; tests shorten it.
"""

import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
from kit_app import WRITER_AGENT_NAME, app

WORK_DIR = Path(os.environ.get("LAB_WORK_DIR") or tempfile.gettempdir())
OUTBOX = WORK_DIR / "outbox.jsonl"
ATTEMPTS = WORK_DIR / "flaky_attempts.json"
# How long a send waits after writing: the window in which a crash makes the send run again.
RECEIPT_SECONDS = float(os.environ.get("LAB_RECEIPT_SECONDS") or 2.0)
FLAKY_FAILURES = 2
WRITER_PROMPT = "Write a concise inspirational sentence about learning."
WRITER_MAX_ATTEMPTS = 3
WRITER_FIRST_RETRY_SECONDS = 1.0
WRITER_BACKOFF_COEFFICIENT = 2.0


def outbox() -> list[dict]:
    if not OUTBOX.exists():
        return []
    return [json.loads(line) for line in OUTBOX.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append(entry: dict) -> None:
    with open(OUTBOX, "a", encoding="utf-8") as out:  # one line per write: a crash never leaves half an e-mail
        out.write(json.dumps(entry) + "\n")
        out.flush()
        os.fsync(out.fileno())


@app.activity_trigger(input_name="email")
def send_welcome_email(email: dict) -> str:
    """Sends (writes) the e-mail, then waits for the provider's receipt. Not idempotent."""
    _append({"to": email["to"], "instance": email.get("instance"), "key": None})
    time.sleep(RECEIPT_SECONDS)
    return f"sent to {email['to']}"


@app.activity_trigger(input_name="email")
def send_welcome_email_once(email: dict) -> str:
    """Sends the e-mail unless one with the same idempotency key was sent already."""
    key = email.get("idempotency_key")
    if not key:
        raise ValueError("send_welcome_email_once needs an 'idempotency_key'.")
    if any(entry["key"] == key for entry in outbox()):
        return f"already sent ({key})"
    _append({"to": email["to"], "instance": email.get("instance"), "key": key})
    time.sleep(RECEIPT_SECONDS)
    return f"sent to {email['to']} ({key})"


@app.orchestration_trigger(context_name="context")
def welcome_email(context: df.DurableOrchestrationContext):
    user = context.get_input()
    return (yield context.call_activity("send_welcome_email", {"to": user, "instance": context.instance_id}))


@app.orchestration_trigger(context_name="context")
def welcome_email_once(context: df.DurableOrchestrationContext):
    user = context.get_input()
    key = f"{context.instance_id}:welcome-email"  # the same on every replay, every retry, every re-run
    return (
        yield context.call_activity(
            "send_welcome_email_once", {"to": user, "instance": context.instance_id, "idempotency_key": key}
        )
    )


@app.activity_trigger(input_name="request")
def flaky_lookup(request: dict) -> str:
    """Fails the first FLAKY_FAILURES attempts for each instance, then answers."""
    attempts = json.loads(ATTEMPTS.read_text(encoding="utf-8")) if ATTEMPTS.exists() else {}
    instance = request["instance"]
    attempts[instance] = attempts.get(instance, 0) + 1
    ATTEMPTS.write_text(json.dumps(attempts), encoding="utf-8")
    if attempts[instance] <= FLAKY_FAILURES:
        raise ConnectionError(f"the weather service is down (attempt {attempts[instance]})")
    return f"Sunny in {request['city']} (attempt {attempts[instance]})"


@app.orchestration_trigger(context_name="context")
def lookup_without_retry(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky_lookup", {"city": "Oslo", "instance": context.instance_id}))


@app.orchestration_trigger(context_name="context")
def lookup_with_retry(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=500, max_number_of_attempts=3)
    return (
        yield context.call_activity_with_retry("flaky_lookup", retry, {"city": "Oslo", "instance": context.instance_id})
    )


@app.orchestration_trigger(context_name="context")
def writer_with_retry(context: df.DurableOrchestrationContext):
    """The writer's first turn, retried while the agent answers with no text; a durable timer between attempts."""
    writer = app.get_agent(context, WRITER_AGENT_NAME)
    session = writer.create_session()
    wait = WRITER_FIRST_RETRY_SECONDS
    for attempt in range(1, WRITER_MAX_ATTEMPTS + 1):
        answer = yield writer.run(WRITER_PROMPT, session=session)
        if answer.text.strip():
            return {"attempts": attempt, "text": answer.text}
        if attempt == WRITER_MAX_ATTEMPTS:
            break
        context.set_custom_status(
            {"attempt": attempt, "result": "no text: the model call failed", "next attempt in seconds": wait}
        )
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=wait))
        wait *= WRITER_BACKOFF_COEFFICIENT
    raise RuntimeError(
        f"{WRITER_AGENT_NAME} returned no text in {WRITER_MAX_ATTEMPTS} attempts: the model keeps failing."
    )


@app.route(route="lab/outbox", methods=["GET", "DELETE"])
def outbox_route(req: func.HttpRequest) -> func.HttpResponse:
    if req.method == "DELETE":
        OUTBOX.unlink(missing_ok=True)
    return func.HttpResponse(json.dumps(outbox()), mimetype="application/json")
