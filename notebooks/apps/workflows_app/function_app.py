"""A Functions app that hosts Agent Framework workflows as durable orchestrations (notebook 09).

`AgentFunctionApp(workflows=[...])` turns each `Workflow` into Durable Functions: the orchestration
`dafx-<workflow>`, one activity per function executor, one entity per agent executor, and the routes
`POST /api/workflow/<workflow>/run`, `GET /api/workflow/<workflow>/status/{instanceId}` and
`POST /api/workflow/<workflow>/respond/{instanceId}/{requestId}`. The refund desk (`refund_desk.py`) is this
app's workflow.

Why an app of its own, not one more module of `apps/teaching_app`: `AgentFunctionApp` takes workflows only
when it is created (`workflow=` / `workflows=`; it has no method to add one later), and the teaching app's
`AgentFunctionApp` is created by the kit's `functions_app/function_app.py`, which stays as it deploys.

`create_app(*workflows)` builds the app with the refund desk plus any other workflows: `kit.deploy` calls it
to host a workflow written in a notebook (`@lab.workflow`) beside the refund desk.

One route of the app's own: `GET /api/graphs/{workflowName}` draws a hosted workflow with Agent Framework's
`WorkflowViz` (Mermaid text) and says which executor runs as what.
"""

import json
import sys
from pathlib import Path

import azure.functions as func
from agent_framework import AgentExecutor, Workflow, WorkflowBuilder, WorkflowViz  # noqa: F401 (for kit.deploy)
from agent_framework.azure import AgentFunctionApp

# The agents use the kit's model client (functions_app/model_client.py), so they talk to the same backend.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "functions_app"))

from refund_desk import (
    AUTO_REFUND_LIMIT,  # noqa: F401 — the names below are what code deployed from a notebook (`kit.deploy`) uses
    Decision,  # noqa: F401
    refund_desk_executors,  # noqa: F401
    refund_desk_workflow,
    route_is,  # noqa: F401
)


def create_app(*workflows: Workflow) -> AgentFunctionApp:
    """An `AgentFunctionApp` hosting the refund desk and `workflows`, with the graph route."""
    app = AgentFunctionApp(workflows=[refund_desk_workflow(), *workflows], enable_health_check=True)

    @app.route(route="graphs/{workflowName}", methods=["GET"])
    def workflow_graph(req: func.HttpRequest) -> func.HttpResponse:
        """A hosted workflow's graph as Mermaid text, and what each executor runs as on Durable Functions."""
        name = req.route_params.get("workflowName", "")
        workflow = app.workflows.get(name)
        if workflow is None:
            body = {"error": f"No workflow {name!r}; this app hosts {', '.join(sorted(app.workflows))}."}
            return func.HttpResponse(json.dumps(body), status_code=404, mimetype="application/json")
        executors = [
            {
                "executor": executor_id,
                "runs as": "agent entity" if isinstance(executor, AgentExecutor) else "activity",
                "function": f"dafx-{name}-{executor_id}",
            }
            for executor_id, executor in workflow.executors.items()
        ]
        body = {"workflow": name, "mermaid": WorkflowViz(workflow).to_mermaid(), "executors": executors}
        return func.HttpResponse(json.dumps(body), mimetype="application/json")

    return app


app = create_app()
