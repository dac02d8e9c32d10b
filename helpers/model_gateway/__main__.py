"""`python -m helpers.model_gateway --upstream URL [--port N] [--label TEXT]`.

The upstream URL may also come from the environment (`KIT_GATEWAY_UPSTREAM`), so it never shows in a
process list; a base URL normally holds no secret, but a proxy URL with user info would.
"""

from __future__ import annotations

import argparse
import os
import sys

from aiohttp import web

from ..parent_watch import stop_when_parent_exits
from .server import create_app

UPSTREAM_VARIABLE = "KIT_GATEWAY_UPSTREAM"
DEFAULT_PORT = 8790


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.model_gateway",
        description="Recording pass-through in front of a chat model backend (OpenAI or Azure OpenAI routes).",
    )
    parser.add_argument(
        "--upstream",
        default=os.environ.get(UPSTREAM_VARIABLE),
        help=f"base URL to forward to (default: ${UPSTREAM_VARIABLE}); paths and queries are appended",
    )
    parser.add_argument("--label", default="the model backend", help="who the upstream is, for messages")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default: {DEFAULT_PORT})")
    return parser.parse_args(argv)


def _fast_loop():
    """uvloop's event loop when it is installed (not on Windows), else asyncio's own."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.upstream or not args.upstream.startswith(("http://", "https://")):
        print(
            f"model gateway: give --upstream (or ${UPSTREAM_VARIABLE}) as an http:// or https:// URL", file=sys.stderr
        )
        return 2
    stop_when_parent_exits()
    app = create_app(args.upstream, args.label)
    print(f"model gateway on http://{args.host}:{args.port}, forwarding to {args.label}", flush=True)
    # No access log: it would only repeat what /_gateway/stats records (and never shows headers anyway).
    web.run_app(
        app,
        loop=_fast_loop(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        handle_signals=True,
        shutdown_timeout=5.0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
