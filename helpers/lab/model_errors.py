"""One clear message for a model call that failed: which backend, what it said, which setting to fix and where.

A wrong key, a wrong deployment name, an exhausted quota and an unreachable endpoint all end the same way deep
inside the app: the agent's entity records an error and the orchestration fails with the client's exception
text. The learner needs the opposite view — the backend, the answer's status, the one setting to change and
the file (or shell) it comes from. The gateway's call records (status and the backend's own error message) and
the kit's `BackendChoice` (which backend, which settings) give that without guessing.
"""

from __future__ import annotations

import re
from pathlib import Path

from .environment import BackendChoice, setting_origin
from .errors import LabError

MAX_QUOTED_CHARS = 400  # of the backend's own message
RESTART_HINT = "Then start the kit again: kit.stop(); kit = lab.start()."
# azure-identity's words when no credential could produce a token (DefaultAzureCredential, az login, ...).
_NO_CREDENTIAL = re.compile(
    r"DefaultAzureCredential|CredentialUnavailable|ClientAuthenticationError|az login|"
    r"AzureCliCredential|ManagedIdentityCredential",
    re.IGNORECASE,
)


class ModelBackendError(LabError):
    """The model backend refused or could not answer a call; the message says which setting to fix."""


def _where(name: str, app_dir: Path) -> str:
    return f"{name} — read from {setting_origin(name, app_dir)}"


def explain_model_failure(backend: BackendChoice, status: int | None, error: str | None, app_dir: Path) -> str:
    """The learner-facing message for a failed model call (`status` None: the call never reached the backend)."""
    text = " ".join((error or "").split()) if error else ""
    if status is None and error and _NO_CREDENTIAL.search(error):
        text = error.strip().splitlines()[0]  # azure-identity then lists every credential it tried
    text = text if len(text) <= MAX_QUOTED_CHARS else text[: MAX_QUOTED_CHARS - 3] + "..."
    said = f": {text.rstrip('.')}." if text else "."
    who = backend.label
    model = f"{'deployment' if backend.kind == 'azure_openai' else 'model'} {backend.model_name!r}"
    if error and "[model gateway] Injected " in error:  # the kit's own fault injection (kit.set_model_faults)
        return (
            f"The call failed on purpose, with {status}{said} Faults are injected in front of {who}; "
            "turn them off with kit.set_model_faults()."
        )
    if backend.kind == "offline":
        return f"The offline model answered {status}{said} It fails only when faults are injected."

    if status is None and error and _NO_CREDENTIAL.search(error):
        return (
            f"No Microsoft Entra ID token for {who}: AZURE_OPENAI_API_KEY is not set, so the app asks "
            f"azure-identity for a token, and none of its credentials had one{said}\n"
            "Fix: sign in with `az login` (the account needs the 'Cognitive Services OpenAI User' role on the "
            f"resource), or set {_where('AZURE_OPENAI_API_KEY', app_dir)}. {RESTART_HINT}"
        )
    if status in (401, 403):
        if backend.kind == "azure_openai" and backend.auth == "Microsoft Entra ID":
            fix = (
                "give the signed-in account the 'Cognitive Services OpenAI User' role on the resource "
                f"(`az login` as that account), or set {_where('AZURE_OPENAI_API_KEY', app_dir)}"
            )
        else:
            fix = f"{_where(backend.key_setting, app_dir)}"
        return f"{who} refused the key ({status}){said}\nFix: {fix}. {RESTART_HINT}"
    if status == 404:
        if backend.kind == "azure_openai":
            fix = (
                f"{_where('AZURE_OPENAI_CHAT_DEPLOYMENT_NAME', app_dir)}: use the deployment's name as the "
                "portal lists it under Deployments (not the model's name); check also "
                f"{_where('AZURE_OPENAI_ENDPOINT', app_dir)}"
            )
        else:
            fix = (
                f"{_where('OPENAI_MODEL', app_dir)} (a model the server lists at /models), and "
                f"{_where('OPENAI_BASE_URL', app_dir)} (most servers want it to end in /v1)"
            )
        return f"{who} has no {model} (404){said}\nFix: {fix}. {RESTART_HINT}"
    if status == 429:
        return (
            f"{who} is rate limiting {model} (429: quota or tokens-per-minute exhausted){said}\n"
            "The app's client already retried with backoff. Fix: wait a minute and run the cell again, "
            "or raise the deployment's quota; in a workshop, give each learner their own key or deployment."
        )
    if status in (502, 503, 504) and error and ("could not reach" in error or "timed out talking" in error):
        return (
            f"The kit could not reach {who}{said}\n"
            f"Fix: {_where(backend.endpoint_setting, app_dir)}; check the address, that the server runs, "
            "and behind a corporate proxy set HTTPS_PROXY (and SSL_CERT_FILE for its certificate). "
            f"{RESTART_HINT}"
        )
    if status is not None and status >= 500:
        return (
            f"{who} failed with {status}{said}\nThe app's client already retried. This is the backend's "
            "problem, not your settings: try again in a minute."
        )
    if status is not None:
        return f"{who} refused the request ({status}){said}"
    return f"The model call to {who} failed{said}"
