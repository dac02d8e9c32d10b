"""Stop a background service when the process that started it is gone.

`helpers.processes` starts the host and the offline model in a session of their own (so a Ctrl-C meant for a
notebook or a test run does not hit them) and stops them when Python exits. A kernel that crashes or is killed
cannot run that clean-up, and its services would keep their ports and state files busy. So `helpers.processes`
hands each service the id of the process that started it; the service checks once a second that this process
is still its parent and, when it is not, stops itself exactly as if it had been sent SIGTERM (orderly shutdown).
"""

from __future__ import annotations

import os
import signal
import threading
import time

PARENT_PID_VARIABLE = "KIT_PARENT_PID"


def stop_when_parent_exits(interval: float = 1.0) -> None:
    """Start the watch if this process was started by `helpers.processes`; do nothing otherwise."""
    expected = os.environ.get(PARENT_PID_VARIABLE, "")
    if not expected.isdigit():
        return

    def watch() -> None:
        # When the parent dies the child is re-parented (to init or a subreaper), so getppid() changes; this
        # also cannot be fooled by the parent's pid being reused by another process.
        while os.getppid() == int(expected):
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
