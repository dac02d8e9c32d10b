"""Re-execute notebooks in place and save their outputs: `python -m helpers.execute_notebooks notebooks [NAME...]`.

The stored outputs are what nbval later compares a fresh run against, so they must come from a real run of
the current code — never from hand edits. The kernel is the Python running this command (the same choice as
`pytest --nbval-current-env`), its working directory is the notebook's folder, and no per-cell timing metadata
is written, so a re-run changes a notebook file only where an output really changed.

Every saved notebook names the kit's kernel (`KIT_KERNELSPEC`, the one `make setup` registers), so JupyterLab or
VS Code opens it on the kit's Python when that kernel exists; the tests never read it (`--nbval-current-env`).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager
from nbval.plugin import coalesce_streams

CELL_TIMEOUT_SECONDS = 180
# How long a new kernel may take to answer: as `make lab` gives it (KERNEL_START_SECONDS), not nbclient's 60 s,
# which a machine running many kernels and kits at once (a workshop room) exceeds.
KERNEL_START_SECONDS = 180
# The kernel `make setup` registers (Makefile KERNEL_NAME's default and display name).
KIT_KERNELSPEC = {"display_name": "Python (durable agents kit)", "language": "python", "name": "durable-agents-kit"}


def execute(
    path: Path,
    *,
    timeout: int = CELL_TIMEOUT_SECONDS,
    save_to: Path | None = None,
    env: dict[str, str] | None = None,
    allow_errors: bool = False,
) -> float:
    """Run every cell of `path` top to bottom and write the outputs back (or to `save_to`). Returns the seconds.

    `env`: the kernel's whole environment (default: this process's). `allow_errors`: run on after a failing
    cell (the error is in that cell's outputs) instead of raising `CellExecutionError`.
    """
    notebook = nbformat.read(path, as_version=4)
    kernel = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME, kernel_spec_manager=NbvalKernelspecManager())
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=timeout,
        startup_timeout=KERNEL_START_SECONDS,
        record_timing=False,
        store_widget_state=False,  # a bar's widget models change on every run; its text fallback is enough
        coalesce_streams=False,  # nbclient's would move all stdout above stderr: see `in_arrival_order`
        allow_errors=allow_errors,  # a cell meant to fail is tagged `raises-exception` (NBVAL_RAISES_EXCEPTION)
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    started = time.monotonic()
    try:
        client.execute(**({"env": env} if env is not None else {}))
    finally:
        notebook.metadata.pop("widgets", None)  # widget state from an earlier run: stale model ids
        notebook.metadata["kernelspec"] = dict(KIT_KERNELSPEC)  # open on the kit's kernel, not this run's
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = in_arrival_order(cell.outputs)
        nbformat.write(notebook, save_to or path)  # keep what ran, so a failure can be read in the notebook itself
        if kernel.has_kernel:  # nbclient shuts down only kernels it created itself
            kernel.shutdown_kernel(now=False)
    return time.monotonic() - started


def in_arrival_order(outputs: list) -> list:
    """Merge each run of consecutive same-stream outputs (nbval's merge, which also applies `\\r`), keeping order.

    A progress bar on stderr that finished before the cell printed its result stays above the result, as
    JupyterLab shows it. nbval merges all of a stream's text before comparing, so the order is not compared.
    """
    merged: list = []
    for _, run in itertools.groupby(outputs, key=lambda o: o.get("name") if o.output_type == "stream" else id(o)):
        merged.extend(coalesce_streams(list(run)))
    return merged


def notebooks_in(folder: Path, names: list[str]) -> list[Path]:
    """All notebooks in `folder`, or those named (a file name, or a unique prefix such as `03`)."""
    if not names:
        return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    chosen = []
    for name in names:
        matches = sorted(folder.glob(name if name.endswith(".ipynb") else f"{name}*.ipynb"))
        if len(matches) != 1:
            found = ", ".join(p.name for p in matches) or "none"
            raise SystemExit(f"{name!r} must name exactly one notebook in {folder} (found: {found})")
        chosen.append(matches[0])
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder holding the notebooks (e.g. notebooks)")
    parser.add_argument("names", nargs="*", help="only these notebooks (file names or unique prefixes, e.g. 03)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_SECONDS, help="seconds per cell")
    parser.add_argument("--out", type=Path, help="save the executed notebooks in this folder, not in place")
    parser.add_argument("--allow-errors", action="store_true", help="run on after a failing cell (kept in its output)")
    args = parser.parse_args(argv)
    failures = 0
    for path in notebooks_in(args.folder, args.names):
        print(f"executing {path} ...", flush=True)
        target = None
        if args.out is not None:
            target = args.out / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            seconds = execute(path, timeout=args.timeout, save_to=target, allow_errors=args.allow_errors)
        except CellExecutionError as error:
            failures += 1
            print(f"FAILED {path}:\n{error}", file=sys.stderr, flush=True)
            continue
        print(f"ok {path} ({seconds:.1f}s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
