"""Choose the chat model backend for the agents from environment variables.

The agents in `function_app.py` all talk to one Chat Completions client. Which server that client talks to is
decided here, once, when the function app is imported. The first backend whose variables are present wins:

1. **Azure OpenAI** - `AZURE_OPENAI_ENDPOINT` and `AZURE_OPENAI_CHAT_DEPLOYMENT_NAME` (the names the original
   Agent Framework samples use; `AZURE_OPENAI_MODEL` is accepted for the deployment too). Authentication uses
   `AZURE_OPENAI_API_KEY` when it is set, otherwise Microsoft Entra ID through `azure.identity.aio.DefaultAzureCredential` (`az login` on a
   laptop, a managed identity in Azure). `AZURE_OPENAI_API_VERSION` is optional.
   The kit's offline default uses this path too: `AZURE_OPENAI_ENDPOINT` points at the local offline model server
   and any key will do, so the production Azure client code runs unchanged.
2. **Any OpenAI-compatible server** (OpenAI, Ollama, LM Studio, vLLM, ...) - `OPENAI_MODEL` plus `OPENAI_BASE_URL`
   and/or `OPENAI_API_KEY`. Local servers usually need no key; a placeholder is sent then.
3. **Nothing configured** - `ModelSettingsError` names the variables, so the Functions host refuses to start
   with a message that says what to set.

Why not let the client read the environment itself: the current `OpenAIChatCompletionClient` ignores the samples'
`AZURE_OPENAI_CHAT_DEPLOYMENT_NAME` and silently prefers `OPENAI_API_KEY` over Azure settings. Choosing here
makes the order explicit and the chosen backend visible in the log (secrets are never logged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from agent_framework.openai import OpenAIChatCompletionClient

logger = logging.getLogger(__name__)

# Sent to OpenAI-compatible servers that need no key (Ollama, LM Studio); the openai package insists on one.
PLACEHOLDER_API_KEY = "not-needed"

SETTINGS_HELP = (
    "No chat model is configured. Set either\n"
    "  Azure OpenAI:   AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_CHAT_DEPLOYMENT_NAME "
    "(plus AZURE_OPENAI_API_KEY, or sign in with `az login` for Microsoft Entra ID; "
    "AZURE_OPENAI_API_VERSION is optional), or\n"
    "  OpenAI-compatible server: OPENAI_MODEL with OPENAI_BASE_URL and/or OPENAI_API_KEY.\n"
    "For the offline model, point AZURE_OPENAI_ENDPOINT at it (http://127.0.0.1:<port>) with any "
    "AZURE_OPENAI_API_KEY. Put them in local.settings.json (Values) or the environment."
)


class ModelSettingsError(RuntimeError):
    """The environment does not describe a usable model backend."""


@dataclass(frozen=True, repr=False)
class ModelBackend:
    """Which model server the agents use, read from the environment (nothing is contacted yet)."""

    kind: Literal["azure_openai", "openai_compatible"]
    model: str
    endpoint: str | None
    api_key: str | None  # never printed: see __repr__ and describe()
    api_version: str | None = None

    def __repr__(self) -> str:  # the endpoint may carry user info or a signed query: show its host only
        where = endpoint_host(self.endpoint) if self.endpoint else None
        return f"ModelBackend(kind={self.kind!r}, model={self.model!r}, endpoint={where!r}, auth={self.auth!r})"

    @property
    def auth(self) -> str:
        if self.api_key:
            return "API key"
        return "Microsoft Entra ID" if self.kind == "azure_openai" else "no key"

    def describe(self) -> str:
        """One log line: backend, endpoint host and model, never the key itself."""
        label = "Azure OpenAI" if self.kind == "azure_openai" else "OpenAI-compatible server"
        where = endpoint_host(self.endpoint) if self.endpoint else "api.openai.com (default)"
        key = " ****" if self.api_key else ""
        return f"{label} at {where}, model/deployment {self.model!r}, auth: {self.auth}{key}"


def endpoint_host(url: str) -> str:
    """`scheme://host[:port]` of a URL - drops any user info, path or query that could hold a secret."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"


def select_backend(environ: Mapping[str, str] | None = None) -> ModelBackend:
    """Pick the backend from `environ` (default: the process environment). Raises `ModelSettingsError`."""
    env = os.environ if environ is None else environ

    def setting(name: str) -> str | None:
        value = env.get(name, "").strip()
        if value.startswith("<") and value.endswith(">"):
            raise ModelSettingsError(
                f"{name} still holds the template placeholder {value}: put the real value in "
                "local.settings.json, or remove the setting."
            )
        return value or None

    azure_endpoint = setting("AZURE_OPENAI_ENDPOINT")
    if azure_endpoint:
        deployment = setting("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME") or setting("AZURE_OPENAI_MODEL")
        if not deployment:
            raise ModelSettingsError(
                "AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_CHAT_DEPLOYMENT_NAME is not: "
                "set it to the name of your chat model deployment."
            )
        return ModelBackend(
            kind="azure_openai",
            model=deployment,
            endpoint=azure_endpoint,
            api_key=setting("AZURE_OPENAI_API_KEY"),
            api_version=setting("AZURE_OPENAI_API_VERSION"),
        )

    base_url, model, api_key = setting("OPENAI_BASE_URL"), setting("OPENAI_MODEL"), setting("OPENAI_API_KEY")
    if base_url or model:
        if not model:
            raise ModelSettingsError("OPENAI_BASE_URL is set but OPENAI_MODEL is not: set it to the model name.")
        if not (base_url or api_key):
            raise ModelSettingsError(
                "OPENAI_MODEL is set but neither OPENAI_BASE_URL nor OPENAI_API_KEY is: set OPENAI_BASE_URL for a "
                "local OpenAI-compatible server, or OPENAI_API_KEY for OpenAI."
            )
        return ModelBackend(kind="openai_compatible", model=model, endpoint=base_url, api_key=api_key)

    raise ModelSettingsError(SETTINGS_HELP)


# Seconds one model request may take before the openai client gives up (and retries, then reports the error).
# The openai default is 600 s; with the client's retries and the agent entity's streaming-then-plain fallback, a
# model that hangs would keep an orchestration Running for about half an hour before it fails.
MODEL_REQUEST_TIMEOUT_SECONDS = 120.0
# How often the openai client retries a call that failed with 408, 409, 429 or 5xx, or could not connect. It
# waits between tries with exponential backoff (0.5 s doubling, up to 8 s, with jitter) and honours the
# `Retry-After` / `retry-after-ms` a rate-limited backend sends. The agent entity then tries once more without
# streaming, so a backend that keeps failing is asked 2 x (1 + retries) times before the run fails.
MODEL_MAX_RETRIES = 3


def create_chat_client(backend: ModelBackend, credential: Any = None) -> OpenAIChatCompletionClient:
    """Build the Chat Completions client for `backend`, with a bounded timeout and retries. No network traffic.

    `credential`: the async Azure credential for Microsoft Entra ID (default: a new `DefaultAzureCredential`);
    a caller that passes its own can close it when done.
    """
    chat_client = _chat_client_for(backend, credential)
    # The agent-framework client has no timeout or retry parameters; `with_options` returns a copy of its openai
    # client (Azure or plain) with the same endpoint and credentials and the new settings.
    chat_client.client = chat_client.client.with_options(
        timeout=MODEL_REQUEST_TIMEOUT_SECONDS, max_retries=MODEL_MAX_RETRIES
    )
    return chat_client


def _chat_client_for(backend: ModelBackend, credential: Any = None) -> OpenAIChatCompletionClient:
    from agent_framework.openai import OpenAIChatCompletionClient

    if backend.kind == "azure_openai":
        if backend.api_key:
            return OpenAIChatCompletionClient(
                model=backend.model,
                azure_endpoint=backend.endpoint,
                api_key=backend.api_key,
                api_version=backend.api_version,
            )
        # The async credential: agent calls run on an event loop, and a synchronous credential would block it
        # while it fetches a token (for `az login` that means running the Azure CLI).
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return OpenAIChatCompletionClient(
            model=backend.model,
            azure_endpoint=backend.endpoint,
            credential=credential,
            api_version=backend.api_version,
        )

    return OpenAIChatCompletionClient(
        model=backend.model,
        base_url=backend.endpoint,
        api_key=backend.api_key or PLACEHOLDER_API_KEY,
    )


def chat_client_from_environment(environ: Mapping[str, str] | None = None) -> OpenAIChatCompletionClient:
    """Select the backend, log which one was chosen, and build its client."""
    backend = select_backend(environ)
    logger.info("Model backend: %s", backend.describe())
    return create_chat_client(backend)
