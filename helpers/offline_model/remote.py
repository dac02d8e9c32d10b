"""Posing as a remote backend: which keys and which models the server accepts, answered as the real ones do.

The kit tests its "bring your own model" path against the offline model started as a *remote*: a separate
process that, like Azure OpenAI or OpenAI, refuses a wrong key with 401 and an unknown deployment or model
with 404, in their own error shapes. Without `--api-key` / `--models` the server accepts anything (the
offline default).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

# The words the real services use (Azure OpenAI data plane; OpenAI's API), so the kit's explanations are
# exercised against the messages learners really see.
AZURE_BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your resource."
)
AZURE_NO_DEPLOYMENT = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)


@dataclass(frozen=True)
class RemoteRules:
    api_keys: frozenset[str] = frozenset()  # empty: any key (or none) is fine
    models: frozenset[str] = frozenset()  # empty: any model or deployment name is fine

    def refuse_key(self, request: Request, azure: bool) -> JSONResponse | None:
        """401 unless the request carries an accepted key (`api-key` header, or `Authorization: Bearer`)."""
        if not self.api_keys:
            return None
        bearer = request.headers.get("authorization", "")
        offered = request.headers.get("api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        if offered in self.api_keys:
            return None
        if azure:
            return JSONResponse({"error": {"code": "401", "message": AZURE_BAD_KEY}}, status_code=401)
        shown = f"{offered[:3]}{'*' * 8}{offered[-4:]}" if len(offered) > 8 else "****"
        message = (
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}},
            status_code=401,
        )

    def refuse_model(self, model: str, azure: bool) -> JSONResponse | None:
        """404 for a deployment (Azure) or model (OpenAI) this server does not have."""
        if not self.models or model in self.models:
            return None
        if azure:
            return JSONResponse(
                {"error": {"code": "DeploymentNotFound", "message": AZURE_NO_DEPLOYMENT}}, status_code=404
            )
        message = f"The model `{model}` does not exist or you do not have access to it."
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "model_not_found"}},
            status_code=404,
        )
