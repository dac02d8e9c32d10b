"""Error answers of the host: always JSON (the durable SDK parses every body as JSON), never a crash."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .json_answers import JSONResponse


class HttpError(Exception):
    """Raised anywhere in request handling; becomes `status` with `{"error": message, ...extra}`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refusing more than `limit` bytes with 413 before buffering it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if declared_size > limit:
            raise HttpError(413, f"Request body of {declared_size} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"Request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
