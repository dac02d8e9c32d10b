"""HTTP triggers exercising routing, methods, request parts, sync/async code and failures."""

import asyncio
import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo/{name}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Reflects everything the function saw, so tests can compare it with what they sent."""
    payload = {
        "method": req.method,
        "url": req.url,
        "route_params": dict(req.route_params),
        "params": dict(req.params),
        "header": req.headers.get("x-test-header"),
        "body": req.get_body().decode("utf-8"),
    }
    try:
        payload["json"] = req.get_json()
    except ValueError:
        payload["json_error"] = True
    return func.HttpResponse(json.dumps(payload), mimetype="application/json", headers={"X-Echo": "yes"})


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"id={int(req.route_params['id'])}")


@app.route(route="items/{slug}", methods=["GET"])
def item_by_slug(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"slug={req.route_params['slug']}")


@app.route(route="greet/{name?}", methods=["GET"])
def greet(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"Hello, {req.route_params.get('name') or 'stranger'}!")


@app.route(route="slow", methods=["GET"])
async def slow(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.params.get("seconds", "0.3")))
    return func.HttpResponse("done", status_code=201)


@app.route(route="loop-id", methods=["GET"])
async def loop_id(req: func.HttpRequest) -> func.HttpResponse:
    """Async functions share one event loop (the durable client depends on it)."""
    return func.HttpResponse(str(id(asyncio.get_running_loop())))


@app.route(route="boom", methods=["GET", "POST"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("the function failed on purpose")


@app.route(route="async-boom")
async def async_boom(req: func.HttpRequest) -> func.HttpResponse:
    raise ValueError("async failure on purpose")


@app.route(route="plain-dict")
def plain_dict(req: func.HttpRequest):
    return {"kind": "dict"}


@app.route(route="plain-text")
def plain_text(req: func.HttpRequest) -> str:
    return "just text"


@app.route(route="setting/{name}", methods=["GET"])
def setting(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"value": os.environ.get(req.route_params["name"])}), mimetype="application/json"
    )


@app.function_name("Renamed")
@app.route(route="renamed", methods=["PUT"])
def original_name(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"function_name": context.function_name, "has_invocation_id": bool(context.invocation_id)}),
        mimetype="application/json",
    )
