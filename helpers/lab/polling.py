"""Wait for an orchestration to finish, with a progress bar: `lab.poll(status_url)`.

Progress bars: `tqdm.auto` draws a widget in JupyterLab / VS Code (ipywidgets) and a text bar on stderr
anywhere else (a terminal, `make demo`, CI logs). In a notebook the widget is shown through a display handle
that is updated once the instance finished, so a saved notebook's text fallback shows the finished bar, not its
first drawing. nbval does not replay display updates, so `notebooks/sanitize.cfg` reduces any bar line to its
description before it compares outputs.

The widget's colour says how the instance ended: green for `Completed` (tqdm's "success" style, which a bar that
closes full gets), red for `Failed`, `Terminated` or `Canceled` (its "danger" style), so a failed run never
looks like a finished one. The text bar says it in words only (`desc: Failed`): no colour codes in saved outputs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from tqdm.auto import tqdm

from ..durable_vocabulary import FINISHED_STATUSES
from .errors import LabError
from .model_errors import ModelBackendError
from .session import kit_serving

DEFAULT_TIMEOUT = 60.0  # for a status URL no running kit handed out


def _progress_bar(desc: str, total: int) -> tuple[Any, Any]:
    """(bar, display handle): a widget with a handle in a notebook, a stderr text bar (no handle) elsewhere."""
    options = dict(
        total=total,
        desc=f"{desc}: starting",
        unit="s",
        leave=True,
        bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}]",
    )
    from tqdm.notebook import tqdm_notebook

    if issubclass(tqdm, tqdm_notebook):  # tqdm.auto chose the widget: a notebook with ipywidgets
        from IPython.display import display

        bar = tqdm(display=False, **options)
        return bar, display(bar.container, display_id=True)
    return tqdm(file=sys.stderr, ncols=80, **options), None


def _show_as_failed(bar: Any) -> None:
    """Turn a notebook widget bar red (tqdm's "danger" style, which its `close()` then keeps); text bars stay."""
    if hasattr(bar, "container"):  # tqdm.notebook: an ipywidgets HBox of label, progress bar, label
        bar.display(bar_style="danger", check_delay=False)


def poll(
    status_url: str,
    *,
    timeout: float | None = None,
    interval: float = 0.25,
    desc: str = "orchestration",
    client: httpx.Client | None = None,
    expect: str | None = "Completed",
    explain: Callable[[dict[str, Any]], str | None] | None = None,
) -> dict[str, Any]:
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
    # Whole seconds keep the redraws few and readable.
    bar, handle = _progress_bar(desc, int(timeout))
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
            if runtime_status in FINISHED_STATUSES:
                bar.n = bar.total  # a finished instance fills the bar, so the final line is the same every run
                bar.refresh()
                if runtime_status != "Completed":
                    _show_as_failed(bar)
                break
            if time.monotonic() - started > timeout:
                raise LabError(
                    f"{desc}: still {runtime_status} after {timeout:.0f}s. Look at the host log "
                    "(kit.host_log(instance_id)) for errors, or poll again with a larger timeout."
                )
            time.sleep(interval)
    finally:
        bar.close()
        if handle is not None:
            handle.update(bar.container)  # the saved notebook's text fallback: the finished bar
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
