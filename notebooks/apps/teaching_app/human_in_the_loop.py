"""Notebook 06 (a human in the loop): a writer drafts, a person approves or rejects, a durable timer sets a deadline.

The shape of Agent Framework's human-in-the-loop sample (`07_single_agent_orchestration_hitl`), on today's API
(`create_session()` / `session=`, structured output through `options`):

1. `ContentWriterAgent` drafts a short article (structured output: `{"title", "content"}`).
2. The orchestration records where it waits in its custom status, notifies the reviewer (an activity), then
   waits for the external event `HumanApproval` **raced against a durable timer**:
   `task_any([wait_for_external_event(...), create_timer(deadline)])`.
3. Approved: the `publish_content` activity runs and the orchestration completes with the article.
   Rejected: the writer revises **on the same session** with the reviewer's feedback, and the loop waits again
   (at most `max_review_attempts` drafts). No decision before the deadline: the instance fails with a timeout.

The decision is an external event: send it with the standard Durable HTTP API
(`POST /runtime/webhooks/durabletask/instances/{id}/raiseEvent/HumanApproval`, JSON body) or the app's own
`POST /api/hitl/approve/{instanceId}`. `GET /api/hitl/status/{instanceId}` shows the custom status.
"""

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from agent_framework import Agent
from kit_app import app, kit
from model_client import chat_client_from_environment
from pydantic import BaseModel, ValidationError
from sharing_lessons import _error

logger = logging.getLogger("teaching_app.hitl")

CONTENT_WRITER_AGENT_NAME = "ContentWriterAgent"
HUMAN_APPROVAL_EVENT = "HumanApproval"
MAX_TOPIC_CHARS = 200
UNTITLED = "(untitled)"


class ContentGenerationInput(BaseModel):
    topic: str
    max_review_attempts: int = 3
    approval_timeout_seconds: float = 300


class GeneratedContent(BaseModel):
    """A draft. Sent to the model as the structured-output schema (`response_format`) of every writer turn.

    Agent Framework checks the answer with `model_validate_json` and fails the agent's task when that raises.
    A model that ignores the schema answers prose, not JSON: that prose is kept as an untitled draft instead,
    so a person can still review it and the run goes on.
    """

    title: str
    content: str

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> "GeneratedContent":
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError:
            text = json_data.decode() if isinstance(json_data, (bytes, bytearray)) else str(json_data)
            return cls(title=UNTITLED, content=text.strip())


class HumanApproval(BaseModel):
    approved: bool
    feedback: str = ""


app.add_agent(
    Agent(
        client=chat_client_from_environment(),
        name=CONTENT_WRITER_AGENT_NAME,
        instructions=(
            "You are a professional content writer. You write short, engaging, well-structured articles of at most "
            "80 words. Return your response as JSON with 'title' and 'content' fields."
        ),
    )
)


def as_content(response: Any) -> GeneratedContent:
    """The draft from the agent's answer: its structured value, its text as JSON, or its text as the content.

    A model that ignores the JSON schema still produces a reviewable draft (untitled) instead of failing the run;
    an empty answer means the model call failed, and fails the run with the model's error (`answer_text`).
    """
    try:
        value = getattr(response, "value", None)  # parsed on first access
    except (ValueError, ValidationError):
        value = None
    if isinstance(value, GeneratedContent):
        return value
    text = kit.answer_text(response, CONTENT_WRITER_AGENT_NAME)
    return GeneratedContent.model_validate_json(text)


def as_approval(raw: Any) -> HumanApproval:
    """The reviewer's decision from the event's data: `{"approved": bool, "feedback": str}` (or its JSON text)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return HumanApproval(approved=False, feedback=raw)
    if isinstance(raw, Mapping):
        return HumanApproval.model_validate(raw)
    raise ValueError(
        f"The {HUMAN_APPROVAL_EVENT} event needs {{'approved': true|false, 'feedback': '...'}}, not {raw!r}."
    )


@app.activity_trigger(input_name="draft")
def notify_user_for_approval(draft: dict) -> str:
    """Stands in for an e-mail or a chat message to the reviewer."""
    logger.info("NOTIFICATION: please review draft %s: %s", draft.get("number"), draft.get("title"))
    return f"reviewer notified about draft {draft.get('number')}"


@app.activity_trigger(input_name="draft")
def publish_content(draft: dict) -> str:
    """Stands in for publishing to a website."""
    logger.info("PUBLISHING: %s", draft.get("title"))
    return f"published: {draft.get('title')}"


@app.orchestration_trigger(context_name="context")
def content_generation_hitl_orchestration(context: df.DurableOrchestrationContext):
    """Draft, then wait for a human decision or the deadline; revise on rejection, publish on approval."""
    try:
        request = ContentGenerationInput.model_validate(context.get_input() or {})
    except ValidationError as exc:
        raise ValueError(f"Invalid content generation input: {exc}") from None

    writer = app.get_agent(context, CONTENT_WRITER_AGENT_NAME)
    session = writer.create_session()
    options = {"response_format": GeneratedContent}

    context.set_custom_status({"step": "drafting", "draft": 1})
    draft = as_content(
        (yield writer.run(f"Write a short article about '{request.topic}'.", session=session, options=options))
    )

    for number in range(1, request.max_review_attempts + 1):
        context.set_custom_status({"step": "notifying reviewer", "draft": number, "title": draft.title})
        yield context.call_activity("notify_user_for_approval", {"number": number, **draft.model_dump()})

        # Durable time, not the wall clock: current_utc_datetime is this episode's start as history recorded
        # it, so every replay computes the same deadline. The status is saved with the timer, in one episode.
        deadline = context.current_utc_datetime + timedelta(seconds=request.approval_timeout_seconds)
        context.set_custom_status(
            {"step": "waiting for approval", "draft": number, "title": draft.title, "deadline": deadline.isoformat()}
        )
        approval_task = context.wait_for_external_event(HUMAN_APPROVAL_EVENT)
        timeout_task = context.create_timer(deadline)
        winner = yield context.task_any([approval_task, timeout_task])

        if winner != approval_task:
            context.set_custom_status({"step": "timed out", "draft": number})
            raise TimeoutError(
                f"Human approval timed out after {request.approval_timeout_seconds:g} s (draft {number})."
            )
        timeout_task.cancel()
        decision = as_approval(approval_task.result)
        if decision.approved:
            context.set_custom_status({"step": "publishing", "draft": number})
            yield context.call_activity("publish_content", {"number": number, **draft.model_dump()})
            context.set_custom_status({"step": "published", "draft": number})
            return {"title": draft.title, "content": draft.content, "drafts": number}

        context.set_custom_status({"step": "revising", "draft": number + 1, "feedback": decision.feedback})
        draft = as_content(
            (
                yield writer.run(
                    "The content was rejected by a human reviewer. Please rewrite the article incorporating their "
                    f"feedback.\n\nHuman Feedback: {decision.feedback or 'No feedback provided.'}",
                    session=session,
                    options=options,
                )
            )
        )

    raise RuntimeError(f"Content could not be approved after {request.max_review_attempts} draft(s).")


@app.route(route="hitl/run", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_content_generation(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    try:
        body = req.get_json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's json reads
        return _error(
            'Send a JSON body: {"topic": "..."} (optional: max_review_attempts, approval_timeout_seconds).', 400
        )
    try:
        request = ContentGenerationInput.model_validate(body)
    except ValidationError as exc:
        return _error(f"Invalid content generation input: {exc.errors()[0]['msg']}", 400)
    if not request.topic.strip() or len(request.topic) > MAX_TOPIC_CHARS:
        return _error(f"The topic must be 1-{MAX_TOPIC_CHARS} characters.", 400)
    instance_id = await client.start_new("content_generation_hitl_orchestration", client_input=request.model_dump())
    return client.create_check_status_response(req, instance_id)


@app.route(route="hitl/approve/{instanceId}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def send_human_approval(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    try:
        approval = HumanApproval.model_validate(req.get_json())
    except (ValueError, RecursionError, ValidationError):
        return _error('Send a JSON body: {"approved": true|false, "feedback": "..."}.', 400)
    instance_id = req.route_params["instanceId"]
    try:
        await client.raise_event(instance_id, HUMAN_APPROVAL_EVENT, approval.model_dump())
    except Exception as exc:  # the SDK raises when the instance does not exist (404) or has finished (410)
        return _error(
            f"Could not send the decision to instance {instance_id!r}: {exc}", 410 if "is gone" in str(exc) else 404
        )
    return func.HttpResponse(
        json.dumps(
            {
                "message": "Human approval sent to orchestration.",
                "instanceId": instance_id,
                "approved": approval.approved,
            }
        ),
        mimetype="application/json",
    )


@app.route(route="hitl/status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_content_generation_status(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    if not kit.addressable_instance_id(req.route_params["instanceId"]):
        return _error("Instance not found.", 404)
    status = await client.get_status(req.route_params["instanceId"], show_input=True)
    if status is None or status.runtime_status is None:
        return _error("Instance not found.", 404)
    body = {
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.name,
        "workflowStatus": status.custom_status,
        "input": status.input_,
        "output": status.output,
    }
    return func.HttpResponse(json.dumps(body, default=str), mimetype="application/json")
