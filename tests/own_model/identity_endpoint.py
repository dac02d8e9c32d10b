"""A local managed-identity token endpoint, so the Entra ID route runs with a credential the tests control.

It speaks the App Service managed identity protocol that `azure-identity` uses when `IDENTITY_ENDPOINT` and
`IDENTITY_HEADER` are set: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<audience>` with the
header `X-IDENTITY-HEADER: {IDENTITY_HEADER}` answers an access token. `DefaultAzureCredential` (what the app
uses when no `AZURE_OPENAI_API_KEY` is set) tries this credential before asking the Azure CLI, so the app's
unchanged Entra ID path gets a real bearer token — the one the model server posing as Azure OpenAI accepts.
No real sign-in is involved, and nothing here is used outside the tests.

    python -m tests.own_model.identity_endpoint --port 8791 --token TOKEN --secret HEADER_VALUE
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


def create_app(token: str, secret: str) -> Starlette:
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
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.token, args.secret), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
