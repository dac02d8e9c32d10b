"""An app that insists on a setting, like the kit's functions_app does for its model endpoint."""

import os

import azure.functions as func

if not os.environ.get("KIT_REQUIRED_SETTING"):
    raise RuntimeError("Set KIT_REQUIRED_SETTING before starting this app")

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ok")
def ok(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(os.environ["KIT_REQUIRED_SETTING"])
