"""Exceptions the engine raises to its callers; the HTTP layer maps each one to a status code."""

from __future__ import annotations

from typing import Literal


class EngineError(Exception):
    """Base class of every error the durable engine reports to a caller."""


class UnknownFunction(EngineError):
    """The named orchestrator or entity is not declared in function_app.py (HTTP 400)."""


class InvalidInstanceId(EngineError):
    """An instance id the extension refuses: it starts with @, holds / \\ # ? or a control character, or is longer
    than 256 characters (HTTP 400, the extension's ArgumentException)."""


class InstanceExists(EngineError):
    """An orchestration with this instance id is still Pending, Running or Suspended (HTTP 500, as the extension answers)."""


class NotFound(EngineError):
    """No orchestration instance with this id (HTTP 404)."""


class NotRunning(EngineError):
    """The instance already finished, so it cannot take this request (HTTP 410)."""


class StoreError(EngineError):
    """The state file is not ours, is corrupted or has an unknown schema; it was left untouched."""


class InvalidState(EngineError):
    """The instance exists but its state does not allow the request: purging a running one (HTTP 412), rewinding one
    that is not Failed, suspending a Suspended one or resuming one that is not (HTTP 500, the extension's
    InvalidOperationException)."""


def unknown_function_message(name: str, kind: Literal["orchestrator", "activity", "entity"]) -> str:
    """The extension's words for a function it cannot find (ThrowIfFunctionDoesNotExist, TaskNonexistentActivityShim)."""
    return f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function."
