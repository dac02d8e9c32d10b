"""The warm process: imports the services' libraries once, then forks a service for each request.

Protocol, one JSON object per line. On stdin: `{"argv": ["-m", "helpers.host", ...], "env": {...}, "cwd": "...",
"log": "..."}`. On stdout: `{"ready": true}` once the libraries are imported; `{"pid": N}` (or `{"error": "..."}`)
for each request, in order; `{"exited": N, "code": C}` whenever a service ends (C as `Popen.returncode`: the
exit status, or minus the signal that ended it). End of stdin (the parent is gone) ends this process; its
services notice their parent changed and stop themselves (parent_watch.py).

The forked child becomes the service the way `python -m module args` would: a session of its own, stdin from
/dev/null, stdout and stderr unbuffered into the log, exactly the given environment and working directory,
`sys.argv` as `-m` sets it; then it runs the module as `__main__` and leaves through the normal interpreter exit
(atexit handlers, non-daemon threads joined), with the module's exit status.

Nothing here starts a thread: forking a process that has threads is unsafe, and this one forks all the time.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import runpy
import selectors
import signal
import sys
import traceback
from typing import Any

# What the kit's services import before they do anything of their own: the libraries under the host, the
# offline model and the gateway, not the user's function_app, not the services' `__main__` modules (they must
# run fresh, as `__main__`), and not Agent Framework: it reads a setting when imported
# (AGENT_FRAMEWORK_USER_AGENT_DISABLED), which the host may only learn from local.settings.json. Importing it
# on top of these costs a service about 0.15 s.
PRELOAD = (
    "openai",
    "pydantic",
    "httpx",
    "aiohttp",
    "starlette.applications",
    "uvicorn",
    "azure.functions",
    "azure.durable_functions",
    "durabletask.client",
    "helpers.host.app",
    "helpers.offline_model.server",
    "helpers.model_gateway.server",
)


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a library that fails here fails again, with its reason, in the service
            pass


def serve(requests: io.BufferedReader, replies: io.BufferedWriter) -> None:
    """Answer requests until stdin ends; returns in the parent only (a child leaves through `become`)."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a Python handler, so the wake-up byte is written
    selector = selectors.DefaultSelector()
    selector.register(requests, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)

    def say(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message).encode() + b"\n")
        replies.flush()

    say({"ready": True})
    while True:
        for key, _ in selector.select():
            if key.fileobj is requests:
                line = requests.readline()
                if not line:
                    return
                try:
                    request = json.loads(line)
                    pid = os.fork()
                except Exception as exc:  # a bad request or no fork: the parent starts it itself
                    say({"error": f"{type(exc).__name__}: {exc}"})
                    continue
                if pid == 0:
                    selector.close()
                    os.close(wake_read)
                    os.close(wake_write)  # stdin and stdout (this protocol) are replaced by `become`
                    become(request)  # never returns
                say({"pid": pid})
            else:
                os.read(wake_read, 512)
            for pid, code in reap():
                say({"exited": pid, "code": code})


def reap() -> list[tuple[int, int]]:
    ended: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append((pid, os.waitstatus_to_exitcode(status)))


def become(request: dict[str, Any]) -> None:
    """Turn this forked child into `python <argv>`; leaves through SystemExit with the module's status."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # as Popen(start_new_session=True): a Ctrl-C meant for the parent does not reach the service
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    for fd in {null, log} - {0, 1, 2}:
        os.close(fd)
    sys.stdin = open(0, closefd=False)  # the process's own stdin, for its whole life
    sys.stdout = io.TextIOWrapper(open(1, "wb", 0, closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(open(2, "wb", 0, closefd=False), write_through=True)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # what `python -m` puts first
    argv = list(request["argv"])
    if argv[:1] != ["-m"] or len(argv) < 2:
        raise SystemExit(f"warm start runs `-m module ...` only, not {argv!r}")
    sys.argv = [argv[1], *argv[2:]]  # run_module replaces argv[0] with the module's file, as -m does
    try:
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        raise SystemExit(1) from None
    raise SystemExit(0)


def main() -> None:
    sys.path[0] = os.getcwd()
    preload()
    serve(sys.stdin.buffer, sys.stdout.buffer)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
