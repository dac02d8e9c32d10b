"""Functions turned off with `AzureWebJobs.<function>.Disabled` (the test sets the settings): an HTTP trigger, an
activity, an entity and an orchestrator that are disabled, beside enabled ones that call them."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client) -> func.HttpResponse:
    try:
        instance_id = await client.start_new(req.route_params["name"])
    except Exception as exc:
        return func.HttpResponse(json.dumps({"refused": str(exc)}), status_code=409, mimetype="application/json")
    return client.create_check_status_response(req, instance_id)


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}"


@app.activity_trigger(input_name="name")
def switched_off(name: str) -> str:
    return f"ran although disabled: {name}"


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext) -> None:
    context.set_state(context.get_state(lambda: 0) + 1)
    context.set_result(context.get_state(lambda: 0))


@app.orchestration_trigger(context_name="context")
def greets(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("hello", "Ann"))


@app.orchestration_trigger(context_name="context")
def calls_switched_off(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("switched_off", "Ann"))


@app.orchestration_trigger(context_name="context")
def counts(context: df.DurableOrchestrationContext):
    return (yield context.call_entity(df.EntityId("Counter", "k"), "add"))


@app.orchestration_trigger(context_name="context")
def idle(context: df.DurableOrchestrationContext):
    return "never started"
