"""The Durable Functions HTTP API under `/runtime/webhooks/durabletask/`.

One set of routes serves both audiences: the SDK's `DurableOrchestrationClient` (its `rpcBaseUrl` points
here) and people or notebooks using the public URLs (`statusQueryGetUri`, ...). Status codes follow the
Durable extension's HttpApiHandler, because the SDK client decides success by status code alone:
202 = accepted / still running, 200 = finished, 404 = unknown instance, 410 = instance already finished.
Every body is JSON (or empty): the SDK parses all of them with `response.json(content_type=None)`.

Bodies of errors the extension itself produces keep its shape: ASP.NET's `HttpError`
(`{"Message": ..., "ExceptionMessage": ...}`) where it calls CreateErrorResponse, a bare JSON string where it
answers with a message. Errors only this host can run into keep the host's `{"error": ...}`.

Payload decoding: the SDK client sends `json.dumps(json.dumps(value))`, curl users send plain
JSON. A body that decodes to a string holding valid JSON is taken as that JSON text; anything else is
re-encoded, so both `"{\\"n\\": 1}"` and `{"n": 1}` start an orchestration with input `{"n": 1}`. A status
shows the input as the extension does: the JSON text for the first (the SDK's), the value for the second.
Raised events are stored **as the body text**, exactly like the real extension: an event posted by the SDK's
`raise_event(id, name, {"ok": True})` therefore reaches `wait_for_external_event` as the JSON *string*
`'{"ok": true}'`, while `curl -d '{"ok": true}'` delivers the object. Code that works here works on Azure.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..durable_vocabulary import FINISHED_STATUSES, UNFINISHED_STATUSES, RuntimeStatus, entity_scheduler_id
from . import log_writer
from .engine import InstanceExists, InvalidInstanceId, InvalidState, NotFound, NotRunning, UnknownFunction
from .errors import HttpError, read_body
from .json_answers import JSONResponse
from .runtime import host_of

Endpoint = Callable[[Request], Awaitable[Response]]


def _engine_errors(endpoint: Endpoint) -> Endpoint:
    """Translate the engine's 'not found' / 'not running' / 'wrong state' into the codes the SDK expects."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except NotFound as error:
            return JSONResponse({"error": str(error) or "No such instance"}, status_code=404)
        except NotRunning as error:
            return JSONResponse({"error": str(error) or "The instance is no longer running"}, status_code=410)
        except InvalidState as error:  # the extension answers 412 with the reason as a JSON string
            return JSONResponse(str(error), status_code=412)

    return wrapper


def extension_error(
    status: int, message: str, exception: BaseException | None = None, exception_type: str | None = None
) -> JSONResponse:
    """`request.CreateErrorResponse(status, message[, exception])` of the extension: ASP.NET's HttpError shape
    (without its StackTrace, which would name .NET frames this host does not have). `exception_type`: the .NET
    type the extension reports, where clients may look at it."""
    body: dict[str, Any] = {"Message": message}
    if exception is not None:
        body["ExceptionMessage"] = str(exception)
        body["ExceptionType"] = exception_type or type(exception).__name__
    return JSONResponse(body, status_code=status)


def invalid_operation_error(error: BaseException) -> JSONResponse:
    """An InvalidOperationException that reaches HttpApiHandler's catch-all: 500 with the extension's message."""
    return extension_error(
        500,
        "Something went wrong while processing your request",
        error,
        exception_type="System.InvalidOperationException",
    )


def instance_exists_error(error: BaseException) -> JSONResponse:
    """Starting (or restarting in place) an id that is still Pending, Running or Suspended. The extension has no
    handler of its own for it: DTFx's InvalidOperationException reaches HttpApiHandler's catch-all, which
    answers 500 -- the body a Python `start_new` raises on Azure (azure-functions-durable-python#514)."""
    return invalid_operation_error(error)


# ------------------------------------------------------------------------------------------------ decoding


def decode_payload(body: bytes) -> str | None:
    """The JSON text of the value a client posted (see the module docstring), None for an empty body."""
    return decode_posted_input(body)[0]


def decode_posted_input(body: bytes) -> tuple[str | None, bool]:
    """`decode_payload`, and whether the body was plain JSON rather than the SDK's JSON inside a JSON string."""
    if not body.strip():
        return None, False
    parsed = _parse_json(body)
    if isinstance(parsed, str):
        try:
            json.loads(parsed)
            return parsed, False
        except (ValueError, RecursionError):
            pass
    return json.dumps(parsed), True


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: nested past json's limit
        raise HttpError(400, f"Request body is not valid JSON: {error}") from None


def _flag(request: Request, name: str, default: bool = False) -> bool:
    value = _query(request, name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise HttpError(400, f"Query parameter {name} must be true or false, not {value!r}")


def _query(request: Request, name: str) -> str | None:
    """Query parameters are case-insensitive in the real API (`showHistory` = `showhistory`)."""
    lowered = name.lower()
    for key, value in request.query_params.multi_items():
        if key.lower() == lowered:
            return value
    return None


def _time(request: Request, name: str) -> datetime | None:
    value = _query(request, name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, f"Query parameter {name} is not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _filters(request: Request) -> dict[str, Any]:
    statuses = _query(request, "runtimeStatus")
    return {
        "runtime_status": [s.strip() for s in statuses.split(",") if s.strip()] if statuses else None,
        "created_from": _time(request, "createdTimeFrom"),
        "created_to": _time(request, "createdTimeTo"),
        "instance_id_prefix": _query(request, "instanceIdPrefix") or None,
    }


# ------------------------------------------------------------------------------------------- orchestrations


async def start_orchestration(request: Request) -> Response:
    """`POST orchestrators/{name}[/{id}]` (HandleStartOrchestratorRequestAsync): `?version=` overrides host.json
    defaultVersion; `?timeout=&pollingInterval=` (seconds) wait for the result like
    `wait_for_completion_or_create_check_status_response`."""
    host = host_of(request)
    client = host.durable_client()
    name = request.path_params["name"]
    body = await read_body(request, host.max_body_bytes)
    try:
        input_json, input_is_value = decode_posted_input(body)
    except HttpError as error:  # HandleStartOrchestratorRequestAsync's JsonReaderException
        return extension_error(
            400, "Invalid JSON content", ValueError(error.message), exception_type="Newtonsoft.Json.JsonReaderException"
        )
    timeout, interval = _seconds(request, "timeout"), _seconds(request, "pollingInterval")
    try:
        instance_id = await client.start_orchestration(
            name,
            instance_id=request.path_params.get("instance_id"),
            input_json=input_json,
            version=_query(request, "version"),
            input_is_value=input_is_value,
        )
    except UnknownFunction as error:
        # The SDK client raises `ExceptionMessage`; the engine's text follows the extension's wording.
        known = ", ".join(sorted({f.name for f in host.registry.orchestrators.values()})) or "none"
        return extension_error(
            400,
            "One or more of the arguments submitted is incorrect",
            ValueError(f"{error} Orchestrators in this app: {known}."),
        )
    except InstanceExists as error:  # the running instance is left as it is
        return instance_exists_error(error)
    except InvalidInstanceId as error:  # StartNewAsync's ArgumentException, in HandleRequestAsync's catch
        return extension_error(
            400, "One or more of the arguments submitted is incorrect", error, exception_type="System.ArgumentException"
        )
    if timeout is not None and interval is not None:
        return await wait_for_completion_response(request, instance_id, timeout, interval)
    return start_response(request, instance_id)


def start_response(request: Request, instance_id: str) -> Response:
    """The extension's CreateCheckStatusResponse: 202, Location, Retry-After 10 and these eight URLs (the SDK's
    own `create_check_status_response` builds its payload from the binding instead, with `rewindPostUri`)."""
    urls = host_of(request).urls_for(request).management_urls(instance_id)
    body = {
        key: urls[key]
        for key in (
            "id",
            "statusQueryGetUri",
            "sendEventPostUri",
            "terminatePostUri",
            "purgeHistoryDeleteUri",
            "restartPostUri",
            "suspendPostUri",
            "resumePostUri",
        )
    }
    return JSONResponse(body, status_code=202, headers={"Location": urls["statusQueryGetUri"], "Retry-After": "10"})


async def wait_for_completion_response(request: Request, instance_id: str, timeout: float, interval: float) -> Response:
    """WaitForCompletionOrCreateCheckStatusResponseAsync: the output when it completes within `timeout`, the
    status when it failed or was terminated, else the 202 check-status answer."""
    if interval > timeout:
        return extension_error(400, f"Total timeout {timeout:g} should be bigger than retry timeout {interval:g}")
    status = await host_of(request).durable_client().wait_for_instance(instance_id, timeout)
    log_writer.flush()  # as for status reads: the log holds every line of what this answer shows
    if status is not None and status["runtimeStatus"] == RuntimeStatus.Completed:
        return JSONResponse(status["output"], status_code=200)
    if status is not None and status["runtimeStatus"] in FINISHED_STATUSES:
        return await _status_response(request, instance_id, fail_with_500=False)
    return start_response(request, instance_id)


# The longest wait TimeSpan.FromSeconds accepts; the extension fails past it (OverflowException).
LONGEST_WAIT_SECONDS = 922_337_203_685.0


def _seconds(request: Request, name: str) -> float | None:
    """`timeout` / `pollingInterval` of a start-and-wait. Text that is not a number is ignored, as the extension's
    double.TryParse ignores it; a number the extension cannot make a TimeSpan of (NaN, infinite, past
    TimeSpan.MaxValue) and a negative one are refused with 400 -- NaN used to reach asyncio as a 500, infinity
    made the request wait for good."""
    value = _query(request, name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not 0 <= seconds <= LONGEST_WAIT_SECONDS:  # also false for NaN
        raise HttpError(
            400,
            f"Query parameter {name} must be a number of seconds from 0 to {LONGEST_WAIT_SECONDS:.0f}, not {value!r}",
        )
    return seconds


@_engine_errors
async def get_instance(request: Request) -> Response:
    return await _status_response(request, request.path_params["instance_id"])


async def _status_response(request: Request, instance_id: str, fail_with_500: bool | None = None) -> Response:
    """HandleGetStatusRequestAsync: 202 + Location (this URL) + Retry-After 5 while running, 200 when finished
    (500 for Failed with `returnInternalServerErrorOnFailure=true`), 404 when unknown (with a JSON reason: the
    extension sends no body, and the SDK client treats both alike)."""
    log_writer.flush()  # every log line of what this status shows is in the log file first
    status = (
        await host_of(request)
        .durable_client()
        .get_status(
            instance_id,
            show_history=_flag(request, "showHistory"),
            show_history_output=_flag(request, "showHistoryOutput"),
            show_input=_flag(request, "showInput", default=True),
        )
    )
    if status is None:
        return JSONResponse({"error": f"No instance with id '{instance_id}' found"}, status_code=404)
    if status.get("runtimeStatus") in UNFINISHED_STATUSES:
        return JSONResponse(status, status_code=202, headers={"Location": _original_url(request), "Retry-After": "5"})
    if fail_with_500 is None:
        fail_with_500 = _flag(request, "returnInternalServerErrorOnFailure")
    failed = status.get("runtimeStatus") == RuntimeStatus.Failed and fail_with_500
    return JSONResponse(status, status_code=500 if failed else 200)


def _original_url(request: Request) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return str(request.url.replace(query=query)) if query else str(request.url)


async def list_instances(request: Request) -> Response:
    log_writer.flush()
    client = host_of(request).durable_client()
    top = _query(request, "top")
    if top is not None and not (top.isascii() and top.isdigit() and len(top) <= 10 and int(top) < 2**31):
        raise HttpError(400, f"Query parameter top must be a whole number from 0 to {2**31 - 1}, not {top!r}")
    instances = await client.query_instances(
        **_filters(request), top=int(top) if top else None, show_input=_flag(request, "showInput", default=True)
    )
    return JSONResponse(instances, status_code=200)


@_engine_errors
async def raise_event(request: Request) -> Response:
    host = host_of(request)
    body = await read_body(request, host.max_body_bytes)
    if body.strip():
        # As the extension's HttpApiHandler does, so a curl that forgets `-H 'Content-Type: application/json'`
        # fails here the same way it fails under func.
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return extension_error(400, "Only application/json request content is supported")
        try:
            event_json = body.decode("utf-8")  # stored as text, so UTF-8 (json.loads also takes UTF-16 and -32)
        except UnicodeDecodeError as error:
            return extension_error(400, f"The event body must be UTF-8 encoded JSON: {error}")
        _parse_json(body)  # reject malformed JSON with 400; store the text itself (module docstring)
    else:
        event_json = "null"
    await host.durable_client().raise_event(
        request.path_params["instance_id"], request.path_params["event"], event_json
    )
    return Response(status_code=202)


@_engine_errors
async def terminate(request: Request) -> Response:
    """HandleTerminateInstanceRequestAsync: 202; 404 for an unknown instance, 410 for a finished one."""
    await host_of(request).durable_client().terminate(request.path_params["instance_id"], _query(request, "reason"))
    return Response(status_code=202)


@_engine_errors
async def suspend(request: Request) -> Response:
    """HandleSuspendInstanceRequestAsync: 202; 404, 410 as for terminate. Suspending a Suspended instance meets
    DurableClient.SuspendAsync's InvalidOperationException in the handler's catch-all: 500."""
    try:
        await host_of(request).durable_client().suspend(request.path_params["instance_id"], _query(request, "reason"))
    except InvalidState as error:
        return invalid_operation_error(error)
    return Response(status_code=202)


@_engine_errors
async def resume(request: Request) -> Response:
    """HandleResumeInstanceRequestAsync: 202; 404, 410 as for terminate; resuming an instance that is not Suspended
    is DurableClient.ResumeAsync's InvalidOperationException: 500."""
    try:
        await host_of(request).durable_client().resume(request.path_params["instance_id"], _query(request, "reason"))
    except InvalidState as error:
        return invalid_operation_error(error)
    return Response(status_code=202)


async def restart(request: Request) -> Response:
    client = host_of(request).durable_client()
    try:
        new_id = await client.restart(
            request.path_params["instance_id"], _flag(request, "restartWithNewInstanceId", default=True)
        )
    except NotFound as error:  # RestartAsync throws ArgumentException for an unknown instance
        return extension_error(400, "InstanceId does not match a valid orchestration instance.", ValueError(str(error)))
    except InstanceExists as error:  # restartWithNewInstanceId=false while it still runs: StartNewAsync refuses
        return instance_exists_error(error)
    timeout, interval = _seconds(request, "timeout"), _seconds(request, "pollingInterval")
    if timeout is not None and interval is not None:
        return await wait_for_completion_response(request, new_id, timeout, interval)
    return start_response(request, new_id)


async def rewind(request: Request) -> Response:
    """HandleRewindInstanceRequestAsync: 202 for a Failed instance; 404 for an unknown one and 410 for one that
    Completed, was Terminated or Canceled (the SDK's `rewind` turns 410 into "The rewind operation is only
    supported on failed orchestration instances."); an instance still running meets DurableClient.RewindAsync's
    InvalidOperationException in the handler's catch-all: 500."""
    try:
        await host_of(request).durable_client().rewind(request.path_params["instance_id"], _query(request, "reason"))
    except NotFound as error:
        return JSONResponse({"error": str(error)}, status_code=404)
    except NotRunning as error:
        return JSONResponse({"error": str(error)}, status_code=410)
    except InvalidState as error:
        return invalid_operation_error(error)
    return Response(status_code=202)


@_engine_errors
async def purge_instance(request: Request) -> Response:
    instance_id = request.path_params["instance_id"]
    deleted = await host_of(request).durable_client().purge(instance_id)
    if not deleted:  # the extension sends no body; a reason, as for every 404 here (the SDK reads only the code)
        return JSONResponse({"error": f"No instance with ID '{instance_id}' found."}, status_code=404)
    return JSONResponse({"instancesDeleted": deleted}, status_code=200)


async def purge_instances(request: Request) -> Response:
    filters = _filters(request)
    if filters["created_from"] is None:  # the extension refuses an unbounded purge the same way
        return JSONResponse("Please provide value for 'createdTimeFrom' parameter.", status_code=400)
    deleted = await host_of(request).durable_client().purge_by(**filters)
    if not deleted:
        return JSONResponse({"error": "No finished instance matches the filters."}, status_code=404)
    return JSONResponse({"instancesDeleted": deleted}, status_code=200)


# ------------------------------------------------------------------------------------------------- entities


async def signal_entity(request: Request) -> Response:
    """HandlePostEntityOperationRequestAsync: 202. The operation is `?op=` (empty when missing, as there); a
    body is parsed as JSON only when it is sent as `application/json`, any other body is the input as text;
    an unknown entity is the ArgumentException of ThrowIfFunctionDoesNotExist, a 400."""
    host = host_of(request)
    name, key = request.path_params["name"], request.path_params["key"]
    operation = _query(request, "op") or ""
    body = await read_body(request, host.max_body_bytes)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body:
        input_json = "null"
    elif media_type == "application/json":
        try:
            input_json = decode_payload(body) or "null"
        except HttpError as error:
            return extension_error(400, f"Could not parse JSON content: {error.message}")
    else:
        input_json = json.dumps(body.decode("utf-8", errors="replace"))
    try:
        await host.durable_client().signal_entity(name, key, operation, input_json)
    except UnknownFunction as error:
        return extension_error(400, str(error))
    return Response(status_code=202)


async def read_entity(request: Request) -> Response:
    log_writer.flush()
    name, key = request.path_params["name"], request.path_params["key"]
    exists, state_json = await host_of(request).durable_client().read_entity(name, key)
    if not exists:
        return JSONResponse({"error": f"Entity {entity_scheduler_id(name, key)} does not exist"}, status_code=404)
    # The body is the state value itself, as the extension answers: the SDK and agent code read it as the state.
    return Response(state_json if state_json is not None else "null", media_type="application/json")


async def list_entities(request: Request) -> Response:
    log_writer.flush()
    entities = (
        await host_of(request)
        .durable_client()
        .list_entities(entity_name=request.path_params.get("name"), fetch_state=_flag(request, "fetchState"))
    )
    return JSONResponse(entities, status_code=200)


def _one_task_hub(endpoint: Endpoint) -> Endpoint:
    """`?taskHub=` naming another task hub: the extension's GetClient would answer from that hub, which this host
    does not have -- its instances are not there (404), and a start there is refused (400) rather than silently
    put into this host's own hub."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        named = request.query_params.get("taskHub")
        hub = host_of(request).config.hub_name
        if named and named.lower() != hub.lower():
            reason = (
                f"taskHub={named} names another task hub; this host serves only its own, '{hub}' "
                "(host.json extensions.durableTask.hubName)."
            )
            return JSONResponse({"error": reason}, status_code=400 if endpoint is start_orchestration else 404)
        return await endpoint(request)

    return wrapper


# path, endpoint, method: HttpApiHandler's routes, every one subject to the task hub check
_ENDPOINTS: list[tuple[str, Endpoint, str]] = [
    ("/orchestrators/{name}", start_orchestration, "POST"),
    ("/orchestrators/{name}/{instance_id}", start_orchestration, "POST"),
    ("/instances", list_instances, "GET"),
    ("/instances/", list_instances, "GET"),
    ("/instances", purge_instances, "DELETE"),
    ("/instances/", purge_instances, "DELETE"),
    ("/instances/{instance_id}", get_instance, "GET"),
    ("/instances/{instance_id}", purge_instance, "DELETE"),
    ("/instances/{instance_id}/raiseEvent/{event}", raise_event, "POST"),
    ("/instances/{instance_id}/terminate", terminate, "POST"),
    ("/instances/{instance_id}/suspend", suspend, "POST"),
    ("/instances/{instance_id}/resume", resume, "POST"),
    ("/instances/{instance_id}/restart", restart, "POST"),
    ("/instances/{instance_id}/rewind", rewind, "POST"),
    ("/entities", list_entities, "GET"),
    ("/entities/", list_entities, "GET"),
    ("/entities/{name}", list_entities, "GET"),
    ("/entities/{name}/{key}", read_entity, "GET"),
    ("/entities/{name}/{key}", signal_entity, "POST"),
]
# The Functions host hands GET, POST and DELETE under runtime/webhooks/durabletask to the extension, and its
# HttpApiHandler answers 404 to one it has no operation for: `POST instances/purge` (an instance id, no operation),
# `GET orchestrators/x`. Routing alone would answer 405 where another method is served on the same path.
WEBHOOK_METHODS = ("GET", "POST", "DELETE")


async def no_operation(request: Request) -> Response:
    raise HttpError(404, f"Not found: the Durable HTTP API has no {request.method} {request.url.path}")


ROUTES = [
    *(Route(path, _one_task_hub(endpoint), methods=[method]) for path, endpoint, method in _ENDPOINTS),
    Route("/{path:path}", no_operation, methods=list(WEBHOOK_METHODS)),
]
