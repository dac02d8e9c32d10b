"""Which model backend `functions_app/model_client.py` builds for each combination of settings.

No network: building a client contacts nothing, so these tests only look at what was built.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI

from tests.app.conftest import FUNCTIONS_APP, load_app_module

model_client = load_app_module("model_client")

MODEL_VARIABLES = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_MODEL",
    "AZURE_OPENAI_CHAT_COMPLETION_MODEL",
    "AZURE_OPENAI_BASE_URL",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_CHAT_COMPLETION_MODEL",
    "OPENAI_ORG_ID",
)


@pytest.fixture(autouse=True)
def clean_model_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The client also reads the process environment, so every test starts with no model variables at all."""
    for name in MODEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def build(monkeypatch: pytest.MonkeyPatch, **settings: str):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    backend = model_client.select_backend()
    return backend, model_client.create_chat_client(backend)


def test_azure_openai_with_key(clean_model_environment: pytest.MonkeyPatch) -> None:
    backend, client = build(
        clean_model_environment,
        AZURE_OPENAI_ENDPOINT="https://contoso.openai.azure.com/",
        AZURE_OPENAI_CHAT_DEPLOYMENT_NAME="gpt-4o-mini",
        AZURE_OPENAI_API_KEY="secret-key-123",
    )
    assert backend.kind == "azure_openai"
    assert isinstance(client.client, AsyncAzureOpenAI)
    assert client.model == "gpt-4o-mini"
    assert client.client.api_key == "secret-key-123"
    assert str(client.client.base_url).startswith("https://contoso.openai.azure.com/openai")


def test_azure_openai_without_key_uses_async_entra_id_credential(
    clean_model_environment: pytest.MonkeyPatch,
) -> None:
    import azure.identity.aio
    from azure.core.credentials_async import AsyncTokenCredential

    created: list[object] = []

    class RecordingCredential(azure.identity.aio.DefaultAzureCredential):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    clean_model_environment.setattr(azure.identity.aio, "DefaultAzureCredential", RecordingCredential)
    backend, client = build(
        clean_model_environment,
        AZURE_OPENAI_ENDPOINT="https://contoso.openai.azure.com",
        AZURE_OPENAI_CHAT_DEPLOYMENT_NAME="gpt-4o-mini",
        AZURE_OPENAI_API_VERSION="2024-10-21",
    )
    assert backend.auth == "Microsoft Entra ID"
    assert len(created) == 1 and isinstance(created[0], AsyncTokenCredential)
    assert isinstance(client.client, AsyncAzureOpenAI)
    assert client.client._azure_ad_token_provider is not None  # token provider, not a key
    assert client.api_version == "2024-10-21"


def test_azure_wins_over_openai_settings(clean_model_environment: pytest.MonkeyPatch) -> None:
    """The client's own precedence would pick OpenAI when OPENAI_API_KEY is set; the seed settings must win."""
    backend, client = build(
        clean_model_environment,
        AZURE_OPENAI_ENDPOINT="http://127.0.0.1:9",
        AZURE_OPENAI_CHAT_DEPLOYMENT_NAME="offline",
        AZURE_OPENAI_API_KEY="any",
        OPENAI_API_KEY="sk-other",
        OPENAI_MODEL="gpt-4o",
        OPENAI_BASE_URL="http://127.0.0.1:11434/v1",
    )
    assert backend.kind == "azure_openai"
    assert isinstance(client.client, AsyncAzureOpenAI)
    assert client.model == "offline"
    assert str(client.client.base_url).startswith("http://127.0.0.1:9/openai")


def test_openai_compatible_server_without_key(clean_model_environment: pytest.MonkeyPatch) -> None:
    backend, client = build(
        clean_model_environment, OPENAI_BASE_URL="http://127.0.0.1:11434/v1", OPENAI_MODEL="llama3.2"
    )
    assert backend.kind == "openai_compatible"
    assert type(client.client) is AsyncOpenAI
    assert client.model == "llama3.2"
    assert str(client.client.base_url) == "http://127.0.0.1:11434/v1/"
    assert client.client.api_key == model_client.PLACEHOLDER_API_KEY


def test_openai_with_key_and_default_base_url(clean_model_environment: pytest.MonkeyPatch) -> None:
    backend, client = build(clean_model_environment, OPENAI_API_KEY="sk-test-999", OPENAI_MODEL="gpt-4o-mini")
    assert type(client.client) is AsyncOpenAI
    assert client.client.api_key == "sk-test-999"
    assert str(client.client.base_url).startswith("https://api.openai.com/")
    assert "api.openai.com" in backend.describe()


def test_nothing_configured_names_the_variables(clean_model_environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(model_client.ModelSettingsError) as error:
        model_client.select_backend()
    for name in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "OPENAI_API_KEY",
    ):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}, "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:1234/v1"}, "OPENAI_MODEL"),
        ({"OPENAI_MODEL": "gpt-4o"}, "OPENAI_BASE_URL"),
        (
            {"AZURE_OPENAI_ENDPOINT": "<AZURE_OPENAI_ENDPOINT>", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "m"},
            "AZURE_OPENAI_ENDPOINT still holds the template placeholder",
        ),
    ],
)
def test_incomplete_settings_name_what_is_missing(
    clean_model_environment: pytest.MonkeyPatch, settings: dict[str, str], named: str
) -> None:
    with pytest.raises(model_client.ModelSettingsError, match=named):
        build(clean_model_environment, **settings)


def test_empty_values_count_as_unset(clean_model_environment: pytest.MonkeyPatch) -> None:
    """local.settings.json.template ships "" for the optional key: that must mean Entra ID, not an empty key."""
    backend = model_client.select_backend(
        {"AZURE_OPENAI_ENDPOINT": "https://x", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "d", "AZURE_OPENAI_API_KEY": " "}
    )
    assert backend.api_key is None and backend.auth == "Microsoft Entra ID"


def test_secrets_never_appear_in_descriptions(caplog: pytest.LogCaptureFixture) -> None:
    environ = {
        "AZURE_OPENAI_ENDPOINT": "https://user:hunter2@contoso.openai.azure.com:8443/some/path?sig=abc",
        "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "gpt-4o-mini",
        "AZURE_OPENAI_API_KEY": "super-secret-key",
    }
    backend = model_client.select_backend(environ)
    with caplog.at_level("INFO"):
        model_client.chat_client_from_environment(environ)
    for text in (backend.describe(), repr(backend), caplog.text):
        assert "super-secret-key" not in text and "hunter2" not in text and "sig=abc" not in text
    assert "https://contoso.openai.azure.com:8443" in backend.describe()
    assert "https://contoso.openai.azure.com:8443" in caplog.text


def test_app_refuses_to_load_without_model_settings() -> None:
    """Import fails with the settings help, which is what makes the host refuse to start."""
    env = {key: value for key, value in os.environ.items() if key not in MODEL_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", "import function_app"],
        cwd=FUNCTIONS_APP,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ModelSettingsError" in result.stderr
    assert "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_CHAT_DEPLOYMENT_NAME" in result.stderr


@pytest.mark.parametrize(
    "settings",
    [
        {
            "AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com/",
            "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "m",
            "AZURE_OPENAI_API_KEY": "k",
        },
        {"AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com/", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "m"},
        {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "OPENAI_MODEL": "llama3"},
    ],
    ids=["azure-key", "azure-entra-id", "openai-compatible"],
)
def test_every_backend_bounds_model_requests_with_a_timeout(
    clean_model_environment: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    # The openai default (600 s per attempt) would leave an orchestration Running for half an hour on a hung model.
    _, client = build(clean_model_environment, **settings)
    assert client.client.timeout == model_client.MODEL_REQUEST_TIMEOUT_SECONDS
    assert model_client.MODEL_REQUEST_TIMEOUT_SECONDS <= 300
    # 429 and 5xx are retried with backoff by the openai client itself, as configured here.
    assert client.client.max_retries == model_client.MODEL_MAX_RETRIES >= 2
