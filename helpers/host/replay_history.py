"""`GET /admin/instances/{instanceId}/history`: an instance's history exactly as the orchestrator is fed it.

The Durable HTTP API's `showHistory` view is for people: it drops the `OrchestratorStarted` /
`OrchestratorCompleted` markers that delimit episodes, folds each `TaskScheduled` into its completion and
removes event ids. Replaying the orchestrator needs all of that (the markers' timestamps drive
`current_utc_datetime` and so `new_uuid()`). The kit's replay stepper (`lab.replay_steps`) reads this route to
re-run an orchestrator, with the real durable SDK, on each prefix of the real history. It is the embedded
host's own route: real `func start` keeps this history inside its storage provider.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .errors import error_response
from .json_answers import JSONResponse
from .runtime import host_of


async def stored_history(request: Request) -> Response:
    client = host_of(request).durable_client()
    instance_id = request.path_params["instance_id"]
    status = await client.get_status(instance_id, show_input=True)
    if status is None:
        return error_response(404, f"No instance with ID '{instance_id}' found.")
    events = await client.stored_history(instance_id)
    return JSONResponse(
        {
            "instanceId": instance_id,
            "name": status.get("name"),
            "input": status.get("input"),
            "runtimeStatus": status.get("runtimeStatus"),
            "history": events,
        }
    )
