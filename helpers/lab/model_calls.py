"""The model calls the app really made, for any backend: records, fault injection and a one-call backend check.

Every kit puts the model gateway (`helpers.model_gateway`) between the app and its backend — the offline
model, Azure OpenAI or any OpenAI-compatible server — so `kit.model_calls()` reads the same records whatever
answers: when each call started and ended, how many messages it sent, which agent made it, the status, the
tokens when the backend reports them, and for a failed call the backend's own error message (keys scrubbed).
Fault injection also sits in the gateway, so `kit.set_model_faults(...)` works in front of every backend.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from .environment import BackendChoice, _model_client, settings_as_host_sees_them
from .errors import LabError
from .model_errors import ModelBackendError, explain_model_failure

PROBE_HEADER = "x-kit-probe"  # helpers.model_gateway forwards such calls without recording them
PROBE_PROMPT = "Reply with exactly one word: ready"
PROBE_TIMEOUT = 60.0
# The app's wording when an agent produced no answer (functions_app/function_app.py `answer_text`).
AGENT_FAILED_MARK = "returned no text"


@dataclass(frozen=True)
class ModelCheck:
    """The result of one tiny real call to the backend the app will use."""

    backend: str  # who was asked (no secrets)
    requested: str | None  # the deployment or model name the app asks for
    answered_by: str | None  # the model the answer names (e.g. gpt-4o-mini-2024-07-18)
    reply: str
    seconds: float

    def __repr__(self) -> str:
        reply = " ".join(self.reply.split())
        reply = reply if len(reply) <= 80 else reply[:77] + "..."
        return "\n".join(
            [
                f"✓ {self.backend} answered in {self.seconds:.1f} s",
                f"  asked for:   {self.requested}",
                f"  answered by: {self.answered_by or '(the answer names no model)'}",
                f"  reply:       {reply!r}",
            ]
        )


def _epoch(iso_time: Any) -> float | None:
    if not isinstance(iso_time, str):
        return None
    try:
        return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class ModelRecords:
    """Mixed into the running kit (`Lab`): it has `model`, `app_dir`, `_http` and the gateway's URL."""

    model: BackendChoice
    app_dir: Path
    _http: httpx.Client

    @property
    def gateway_url(self) -> str:
        raise NotImplementedError

    def _model_settings(self) -> dict[str, str]:
        """The settings that point the app's model client at the gateway (see `session.host_environment`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- records

    def model_stats(self) -> dict[str, Any]:
        """Counters and recent calls (`calls`, `in_flight`, `failed`, `recent_calls`, ...) from the gateway."""
        response = self._http.get(self.gateway_url + "/_gateway/stats")
        response.raise_for_status()
        return response.json()

    def model_calls(self, since: int = 0) -> list[dict[str, Any]]:
        """The app's model calls after call number `since` (take `model_stats()["calls"]` first).

        Each record has `start` / `end` (epoch seconds; `end` is None while in flight), `status`, `agent` and
        `persona` (who called), `input_messages` (how many messages the model was sent — the whole
        conversation, every time), `prompt_tokens` / `completion_tokens` when the backend reports them,
        `response_model` (who answered) and, for a failed call, `error`.
        """
        return [call for call in self.model_stats()["recent_calls"] if call["id"] > since]

    def set_model_faults(self, **faults: Any) -> dict[str, Any]:
        """Make the next model calls fail on purpose, in front of any backend; no arguments turns faults off.

        Settings (see `helpers.model_traffic.faults`): `fail_first=N`, `fail_every=K`, `fail_rate=p`,
        `timeout_every=K`, with `fail_status` (default 429), `retry_after_seconds`, `timeout_seconds`, `seed`.
        Calls are counted from this call on. Injected answers say they were injected.
        """
        response = self._http.post(self.gateway_url + "/_gateway/faults", json=faults)
        if response.status_code >= 400:
            raise LabError(f"The model gateway refused the faults {faults}: {response.json()['error']['message']}")
        return response.json()

    # ------------------------------------------------------------------------------------ explanations

    def explain_failure(self, status: dict[str, Any]) -> str | None:
        """Why an instance failed, in the learner's terms, when a model call was the cause; else None."""
        output = str(status.get("output") or "")
        created = _epoch(status.get("createdTime"))
        failed = [
            call
            for call in self.model_calls()
            if (call["status"] or 0) >= 400 and (created is None or call["start"] >= created - 1)
        ]
        if failed:
            last = failed[-1]
            return explain_model_failure(self.model, last["status"], last.get("error"), self.app_dir)
        if AGENT_FAILED_MARK in output:  # the call failed before it reached the gateway (e.g. no Entra token)
            return explain_model_failure(self.model, None, output, self.app_dir)
        return None

    # ------------------------------------------------------------------------------------------- check

    def check_model(self) -> ModelCheck:
        """Make one tiny real call through the app's own client code; raise `ModelBackendError` if it fails.

        The call goes through the gateway like the app's calls, but is not recorded: lessons count the
        app's calls only. It uses the app's `model_client.py` (same backend choice, same key or Entra ID
        credential), with at most one retry so a broken setting is reported in seconds.
        """
        model_client = _model_client(self.app_dir)
        settings = {**settings_as_host_sees_them(self.app_dir), **self._model_settings()}
        backend = model_client.select_backend(settings)
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a notebook's kernel already runs a loop
            status, error, answer = pool.submit(asyncio.run, _probe(model_client, backend)).result()
        seconds = time.monotonic() - began
        if answer is None:
            raise ModelBackendError(explain_model_failure(self.model, status, error, self.app_dir))
        reply = (answer.choices[0].message.content or "") if answer.choices else ""
        return ModelCheck(self.model.label, self.model.model_name, answer.model or None, reply, seconds)


async def _probe(model_client: Any, backend: Any) -> tuple[int | None, str | None, Any]:
    """(status, error, answer): one chat completion with the app's client; exceptions become status + text."""
    import openai

    credential = None
    if backend.kind == "azure_openai" and not backend.api_key:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()  # the app's own choice; made here so it can be closed
    chat_client = model_client.create_chat_client(backend, credential)
    client = chat_client.client.with_options(max_retries=1, timeout=PROBE_TIMEOUT)
    try:
        answer = await client.chat.completions.create(
            model=backend.model, messages=[{"role": "user", "content": PROBE_PROMPT}], extra_headers={PROBE_HEADER: "1"}
        )
        return 200, None, answer
    except openai.APIStatusError as exc:
        return exc.status_code, _api_message(exc), None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        return None, f"{type(cause).__name__}: {cause}", None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}", None
    finally:
        await client.close()
        if credential is not None:
            await credential.close()


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            code = inner.get("code")
            return f"{inner['message']} (code: {code})" if code else str(inner["message"])
    return str(getattr(exc, "message", exc))
