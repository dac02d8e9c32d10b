"""A plain `func.FunctionApp` with HTTP triggers of every shape, plus durable functions from a Blueprint.

Written the way an app for `func start` is written; the conformance tests run it unchanged on the embedded host.
"""

import json
import os

import azure.functions as func
from shop_blueprint import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Sync function; optional route parameter, falling back to the query string, then to a default."""
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(f"{os.environ['SHOP_GREETING']}, {name}!", mimetype="text/plain")


@app.route(route="echo/{category}/{item_id:int}", methods=["POST", "PUT"])
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Async function; reflects everything the host put into the HttpRequest."""
    try:
        body = req.get_json()
    except ValueError:
        return func.HttpResponse(
            json.dumps({"error": "body is not JSON"}), status_code=400, mimetype="application/json"
        )
    reply = {
        "method": req.method,
        "route_params": dict(req.route_params),
        "query": dict(req.params),
        "trace_id": req.headers.get("x-trace-id"),
        "content_type": req.headers.get("Content-Type"),
        "body": body,
        "url_path": req.url.split("?")[0].split("/", 3)[-1],
    }
    return func.HttpResponse(
        json.dumps(reply), status_code=200, mimetype="application/json", headers={"X-Echo-Method": req.method}
    )


@app.route(route="raw", methods=[func.HttpMethod.POST])
def raw_body(req: func.HttpRequest) -> func.HttpResponse:
    """Binary bodies arrive byte for byte."""
    data = req.get_body()
    return func.HttpResponse(
        json.dumps({"length": len(data), "first": data[:1].hex(), "last": data[-1:].hex()}), mimetype="application/json"
    )


@app.function_name("TeapotFunction")
@app.route(route="teapot")
def teapot(req: func.HttpRequest) -> func.HttpResponse:
    """No `methods` given: every method is accepted. Custom status code and headers pass through."""
    return func.HttpResponse("short and stout", status_code=418, headers={"X-Brew": req.method.lower()})


@app.route(route="fail")
def fail(req: func.HttpRequest) -> func.HttpResponse:
    """An unhandled exception in user code: the host answers 500 and keeps serving."""
    raise RuntimeError("this function always fails")
