"""A local managed-identity token endpoint, so the Entra ID route runs with a credential the kit controls.

It speaks the App Service managed identity protocol that `azure-identity` uses when `IDENTITY_ENDPOINT` and
`IDENTITY_HEADER` are set (Azure Functions sets both for an app with a managed identity):
`GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<audience>[&client_id=<id>]` with the header
`X-IDENTITY-HEADER: {IDENTITY_HEADER}` answers an access token. `DefaultAzureCredential` (what the app uses
when no `AZURE_OPENAI_API_KEY` is set) tries this credential before asking the Azure CLI, so the app's
unchanged Entra ID path gets a real bearer token — the one the model server posing as Azure OpenAI accepts.
No real sign-in is involved. Used by the own-model tests and by the deployment rehearsal (`helpers.rehearsal`).

With `--client-id`, the endpoint stands for an app that has only that user-assigned identity: a request must
name it (`DefaultAzureCredential` does when `AZURE_CLIENT_ID` is set), as Azure refuses a token request that
names no identity when the app has no system-assigned one.

    python -m helpers.identity_endpoint --port 8791 --token TOKEN --secret HEADER_VALUE [--client-id ID]
"""

from __future__ import annotations

import argparse
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# The audience azure-identity asks for on behalf of the Azure OpenAI client (scope minus "/.default").
COGNITIVE_SERVICES = "https://cognitiveservices.azure.com"


def create_app(token: str, secret: str, client_id: str | None = None) -> Starlette:
    issued: list[str] = []

    async def get_token(request: Request) -> JSONResponse:
        if request.headers.get("x-identity-header") != secret:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is wrong"}, status_code=401
            )
        resource = request.query_params.get("resource", "")
        if resource.rstrip("/") != COGNITIVE_SERVICES:
            return JSONResponse(
                {"error": "invalid_resource", "error_description": f"no token for {resource!r}"}, status_code=400
            )
        asked_for = request.query_params.get("client_id")
        if client_id is not None and asked_for != client_id:
            what = f"client id {asked_for!r}" if asked_for else "no client id (set AZURE_CLIENT_ID)"
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": f"the app has no managed identity with {what}; it has {client_id!r}",
                },
                status_code=400,
            )
        issued.append(resource)
        return JSONResponse(
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + 3600),
                "resource": resource,
                "token_type": "Bearer",
            }
        )

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"issued": len(issued)})

    return Starlette(routes=[Route("/msi/token", get_token), Route("/issued", count)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True, help="the access token to hand out")
    parser.add_argument("--secret", required=True, help="the X-IDENTITY-HEADER value callers must send")
    parser.add_argument("--client-id", help="the one user-assigned identity's client id requests must name")
    args = parser.parse_args(argv)
    app = create_app(args.token, args.secret, args.client_id)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
