"""Everything a request handler needs, gathered in one object the Starlette app carries in `app.state.host`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from .durable_urls import DurableUrls
from .engine import Client, DurableEngine
from .errors import HttpError
from .registry import HttpFunction, Registry
from .routing import Router
from .settings import HostConfig
from .user_code import UserCodeRunner

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass
class HostRuntime:
    app_dir: Path
    registry: Registry
    config: HostConfig
    runner: UserCodeRunner
    engine: DurableEngine | None
    logger: logging.Logger
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    router: Router[HttpFunction] = field(init=False)
    closed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        # Compiling every template here makes a bad route a start-up error, not a surprise on first request.
        self.router = Router()
        for function in self.registry.http_functions:
            self.router.add(function.route, function.methods, function)

    def public_url(self, origin: str, function: HttpFunction) -> str:
        prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
        return f"{origin}{prefix}/{function.route}"

    def urls_for(self, request: Request) -> DurableUrls:
        origin = str(request.base_url).rstrip("/")
        server = request.scope.get("server")
        if server and server[1] is not None:
            host, port = server
            host = f"[{host}]" if ":" in host else host
            rpc_origin = f"http://{host}:{port}"
        else:  # unix socket or a test client: call back through the origin
            rpc_origin = origin
        return DurableUrls(origin=origin, rpc_origin=rpc_origin, hub_name=self.config.hub_name)

    async def close(self) -> None:
        """Stop the engine (it lets in-flight work finish briefly and closes the store), then the workers."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.engine is not None:
                await self.engine.stop()
        finally:
            self.runner.shutdown(wait=False)
            self.logger.info("Host stopped")

    def durable_client(self) -> Client:
        """The engine's client operations, for the Durable HTTP API (501 when this host runs no engine)."""
        if self.engine is None:
            raise HttpError(501, "This host runs without a durable engine, so the durable API is not available")
        return self.engine.client


def host_of(request: Request) -> HostRuntime:
    return request.app.state.host
