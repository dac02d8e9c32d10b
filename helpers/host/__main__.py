"""`python -m helpers.host [APP_DIR] [--port 7071] [--state-db PATH] [--host 127.0.0.1]` — run a Functions app locally.

Start-up happens in a fixed order so that a broken app never leaves a half-started server behind:
settings → import and index function_app.py → open the durable store → bind the port → print the functions.
Any failure before binding exits with status 1 and the reason on stderr.

SIGTERM / Ctrl-C: uvicorn stops accepting connections, waits up to --graceful-seconds for in-flight requests,
then the app's lifespan closes the durable engine and its store. After that orderly shutdown SIGTERM ends the
process with exit status 0 (a supervisor asked it to stop, and it did); Ctrl-C ends it with 130 as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from ..parent_watch import stop_when_parent_exits
from . import log_writer
from .app import create_app
from .engine import DurableEngine
from .engine.http_calls import DEFAULT_TIMEOUT_SECONDS
from .mcp_server import MCP_PATH
from .registry import AppLoadError, load_registry
from .routing import RouteTemplateError
from .runtime import DEFAULT_MAX_BODY_BYTES, HostRuntime
from .settings import SettingsError, disabled_functions, load_host_config, load_local_settings
from .user_code import UserCodeRunner

LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


class StartupError(Exception):
    """The host cannot start; the message is printed on stderr as the reason."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.host", description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", nargs="?", default="functions_app", help="folder with function_app.py")
    parser.add_argument("--port", type=int, default=7071, help="port to listen on (default: 7071, like func start)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument(
        "--state-db",
        type=Path,
        default=None,
        help="SQLite file with all durable state (default: .state/<app folder name>.sqlite3)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body accepted, larger ones get 413 (default: 8 MiB)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="host log detail (default: info; debug adds the HTTP access log)",
    )
    parser.add_argument(
        "--graceful-seconds",
        type=float,
        default=5.0,
        help="on SIGTERM/Ctrl-C, how long in-flight requests may take to finish",
    )
    parser.add_argument(
        "--call-http-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds a context.call_http request may take before its task fails (default: 240, "
        "the Durable extension's HttpClient timeout)",
    )
    return parser.parse_args(argv)


def load_host(args: argparse.Namespace, logger: logging.Logger) -> HostRuntime:
    """Everything that can fail because of the app, done before any socket is opened."""
    app_dir = Path(args.app_dir).resolve()
    if not app_dir.is_dir():
        raise StartupError(f"App directory not found: {app_dir}")
    try:
        load_local_settings(app_dir)
        config = load_host_config(app_dir)
        registry = load_registry(app_dir, disabled=disabled_functions())
    except (SettingsError, AppLoadError) as error:
        raise StartupError(str(error)) from error
    # The app and its libraries stay loaded for the host's lifetime: move them out of the garbage collector's
    # view, so full collections only walk what requests and episodes allocate (they took ~15 ms otherwise).
    gc.freeze()
    if args.max_body_bytes <= 0:
        raise StartupError("--max-body-bytes must be positive")

    # Outside the app folder, so deploying the app never ships local state.
    state_db = args.state_db or Path(".state") / f"{app_dir.name}.sqlite3"
    try:
        state_db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StartupError(f"Cannot create the folder for --state-db {state_db}: {error}") from error
    runner = UserCodeRunner()
    if args.call_http_timeout <= 0:
        raise StartupError("--call-http-timeout must be positive")
    engine = DurableEngine(
        registry,
        str(state_db),
        runner,
        config.hub_name,
        logging.getLogger("host.durable"),
        versioning=config.versioning,
        http_timeout=args.call_http_timeout,
    )
    try:
        return HostRuntime(app_dir, registry, config, runner, engine, logger, max_body_bytes=args.max_body_bytes)
    except RouteTemplateError as error:
        runner.shutdown(wait=False)
        raise StartupError(f"Bad route in function_app.py: {error}") from error


def print_functions(host: HostRuntime, origin: str) -> None:
    """The listing `func start` prints, so people know which URLs to call."""
    lines = ["", "Functions:", ""]
    http = {f.function_name: f for f in host.registry.http_functions}
    for info in host.registry.all_functions:
        if info.name in http:
            function = http[info.name]
            methods = ",".join(sorted(function.methods)) or "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS"
            lines.append(f"  {info.name}: [{methods}] {host.public_url(origin, function)}")
        else:
            lines.append(f"  {info.name}: {info.trigger}" + (" (disabled)" if info.disabled else ""))
    lines.append("")
    if host.registry.mcp_functions:  # as the MCP extension announces itself under func start
        lines.append(f"MCP server endpoint: {origin}{MCP_PATH}")
        lines.append(f"MCP server legacy SSE endpoint: {origin}{MCP_PATH}/sse")
        lines.append("")
    print("\n".join(lines), flush=True)


async def serve(host: HostRuntime, args: argparse.Namespace) -> int:
    if host.engine is not None:
        try:
            await host.engine.start()
        except Exception as error:
            raise StartupError(f"Durable engine failed to start: {type(error).__name__}: {error}") from error
    config = uvicorn.Config(
        create_app(host, bind_host=args.host),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        lifespan="on",
        timeout_graceful_shutdown=args.graceful_seconds,
        log_config=None,  # keep our logging set-up
    )
    server = _AnnouncingServer(config, lambda: _announce(host, args))
    # uvicorn re-raises the signal it caught once shutdown is complete, so that the process dies by it. For
    # SIGTERM that shutdown *is* the requested outcome: make the re-raised signal a no-op and exit 0.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    try:
        await server.serve()
    finally:
        await host.close()  # normally already done by the app's lifespan; idempotent
    return 0 if server.started else 1


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, printing the function list in the same loop step in which it starts listening: no
    request is answered before the list is out, so a client that waits for the host to answer finds it."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._announce()


def _announce(host: HostRuntime, args: argparse.Namespace) -> None:
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print_functions(host, f"http://{shown_host}:{args.port}")
    host.logger.info("Host started (pid %s); press Ctrl-C to stop", os.getpid())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_when_parent_exits()
    listener = log_writer.configure(args.log_level, LOG_FORMAT)
    logger = logging.getLogger("host")
    try:
        host = load_host(args, logger)
        freeze_startup_objects()
        return run_loop(serve(host, args))
    except StartupError as error:
        listener.stop()  # the log lines before the reason, then the reason
        print(f"Host failed to start: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        listener.stop()


def freeze_startup_objects() -> None:
    """Move everything imported so far (the app, its libraries, the registry) out of the garbage collector's view.

    An agent app imports agent-framework, openai, pydantic and the durable SDK: over 100,000 objects that live as
    long as the process. Every full collection would walk them all again -- 144 ms measured for functions_app
    on a 2-core machine, with the event loop stopped -- though none of them can become garbage. `gc.freeze()`
    is CPython's tool for exactly this (it is what pre-forking servers call after loading their app);
    collections then only visit what the host allocated since (the same full collection: under 1 ms). Medians
    barely move (make bench); the occasional stall does. No collection first: that would be the very 144 ms walk, added to every start, to
    reclaim the little garbage importing leaves.
    """
    gc.freeze()


def run_loop(main_coroutine: Any) -> int:
    """Run the host's event loop: uvloop when it is installed (its callbacks, timers and cross-thread wake-ups
    cost a fraction of asyncio's, and the engine makes several per orchestration step), asyncio otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_coroutine)
    return uvloop.run(main_coroutine)


if __name__ == "__main__":
    sys.exit(main())
