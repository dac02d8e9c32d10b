"""Wait for an orchestration to finish, with a progress bar: `lab.poll(status_url)`.

Progress bars and stable notebook outputs: `poll` draws a plain `tqdm` bar on stderr (not `tqdm.auto`, which
needs ipywidgets and otherwise falls back with a warning). The bar redraws in place with carriage returns;
nbval keeps only the text after the last carriage return, and `notebooks/sanitize.cfg` replaces the bar's
elapsed-time tail. So learners see a live bar while the stored and re-run outputs still compare equal.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from tqdm import tqdm

from .errors import LabError
from .model_errors import ModelBackendError
from .session import kit_serving

DEFAULT_TIMEOUT = 60.0  # for a status URL no running kit handed out
FINISHED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


def poll(status_url: str, *, timeout: float | None = None, interval: float = 0.25, desc: str = "orchestration",
         client: httpx.Client | None = None, expect: str | None = "Completed",
         explain: Callable[[dict[str, Any]], str | None] | None = None) -> dict[str, Any]:
    """GET `status_url` until the instance finishes; show a progress bar; return the final status JSON.

    Works with the app's status routes (always 200) and the Durable HTTP API (202 while running). The bar
    fills with the time budget (`timeout`, default: the kit's `wait_budget`, 60 s offline and 300 s with a
    real model) and shows the current `runtimeStatus`. `expect` (default "Completed") makes any other final
    status raise a `LabError` quoting the instance's output, which holds the failure reason — or, when
    `explain` recognises a failed model call, a `ModelBackendError` that names the setting to fix; pass
    `expect=None` to get failed statuses back instead.
    """
    kit = kit_serving(status_url)
    if timeout is None:
        timeout = kit.wait_budget if kit is not None else DEFAULT_TIMEOUT
    if explain is None and kit is not None:
        explain = kit.explain_failure
    own_client = client is None
    http = client or httpx.Client(timeout=10.0, trust_env=False)
    # Text printed before the bar must reach the notebook first: stdout and stderr are separate buffers.
    sys.stdout.flush()
    # tqdm.std, not tqdm.auto: see the module docstring. Whole seconds keep the redraws few and readable.
    bar = tqdm(total=int(timeout), desc=f"{desc}: starting", unit="s", file=sys.stderr, leave=True, ncols=80,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}]")
    started = time.monotonic()
    status: dict[str, Any] = {}
    try:
        while True:
            response = http.get(status_url)
            if response.status_code == 404:
                raise LabError(f"{status_url} answered 404: no such instance (yet?). Body: {response.text[:200]}")
            if response.status_code >= 400 and response.status_code != 500:
                raise LabError(f"{status_url} answered {response.status_code}: {response.text[:300]}")
            status = response.json()
            runtime_status = status.get("runtimeStatus", "?")
            bar.set_description_str(f"{desc}: {runtime_status}", refresh=False)
            bar.n = min(int(time.monotonic() - started), bar.total)
            bar.refresh()
            if runtime_status in FINISHED:
                bar.n = bar.total  # a finished instance fills the bar, so the final line is the same every run
                bar.refresh()
                break
            if time.monotonic() - started > timeout:
                raise LabError(
                    f"{desc}: still {runtime_status} after {timeout:.0f}s. Look at the host log "
                    "(kit.host_log(instance_id)) for errors, or poll again with a larger timeout."
                )
            time.sleep(interval)
    finally:
        bar.close()
        # The kernel sends stdout and stderr in separate, timed batches. Flushing now sends the bar's final
        # line before anything the caller prints next, so the saved notebook shows them in that order.
        sys.stderr.flush()
        if own_client:
            http.close()
    if expect and status.get("runtimeStatus") != expect:
        reason = explain(status) if explain is not None and status.get("runtimeStatus") == "Failed" else None
        if reason:
            raise ModelBackendError(f"{desc} ended Failed because a model call failed. {reason}")
        raise LabError(f"{desc} ended {status.get('runtimeStatus')}, expected {expect}: {status.get('output')}")
    return status
