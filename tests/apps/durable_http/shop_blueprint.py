"""Durable functions declared on a `df.Blueprint` in their own module, registered by function_app.py.

This is the layout of Microsoft's `samples-v2/blueprint` sample: the app directory is importable, so
`from shop_blueprint import bp` must work under any host.
"""

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="orders", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_order(req: func.HttpRequest, client) -> func.HttpResponse:
    try:
        order = req.get_json()
    except ValueError:
        return func.HttpResponse('{"error": "body must be a JSON order"}', status_code=400, mimetype="application/json")
    instance_id = await client.start_new("process_order", client_input=order)
    return client.create_check_status_response(req, instance_id)


@bp.orchestration_trigger(context_name="context")
def process_order(context: df.DurableOrchestrationContext):
    order = context.get_input()
    total = yield context.call_activity("price_order", order)
    return {"order": order["id"], "total": total}


@bp.activity_trigger(input_name="order")
def price_order(order: dict) -> float:
    return round(sum(line["qty"] * line["price"] for line in order["lines"]), 2)
