"""The settings that point `functions_app/` at the kit's offline model — one definition for every launcher.

The offline model serves the Azure OpenAI routes, so the app's production Azure OpenAI client runs unchanged;
only the endpoint differs. Used by `helpers.lab`, `make demo`, the tests and the benchmarks.
"""

from __future__ import annotations

# Any deployment name works with the offline model; this one reads like a real deployment in logs and payloads.
OFFLINE_DEPLOYMENT = "gpt-4o-mini"
# The offline model accepts any key; the Azure OpenAI client insists on having one.
OFFLINE_API_KEY = "offline-model-accepts-any-key"
# Every setting a real backend could be picked up from (see functions_app/model_client.py).
MODEL_VARIABLES = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
    "AZURE_OPENAI_MODEL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OPENAI_API_KEY",
)


def offline_model_settings(model_url: str) -> dict[str, str]:
    """Environment for a host whose app must talk to the offline model at `model_url` and nothing else.

    Empty values hide any real backend configured in the shell or in local.settings.json (variables already in
    the environment win over local.settings.json, as under `func start`).
    """
    settings = {name: "" for name in MODEL_VARIABLES}
    settings.update(
        {
            "AZURE_OPENAI_ENDPOINT": model_url,
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": OFFLINE_DEPLOYMENT,
            "AZURE_OPENAI_API_KEY": OFFLINE_API_KEY,
        }
    )
    return settings


def offline_host_env(model_url: str, task_hub: str = "default") -> dict[str, str]:
    """`offline_model_settings` plus the task hub name `functions_app/host.json` asks for (`%TASKHUB_NAME%`)."""
    return {**offline_model_settings(model_url), "TASKHUB_NAME": task_hub}
