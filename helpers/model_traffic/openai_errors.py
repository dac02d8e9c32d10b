"""The OpenAI error envelope, which both model servers answer errors with (their own, and injected faults)."""

from __future__ import annotations


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, object]:
    """`{"error": {"message", "type", "param", "code"}}`: what the openai client reads an error from."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
