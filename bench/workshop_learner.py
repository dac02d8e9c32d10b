"""One learner of the workshop-room benchmark: runs lessons top to bottom, one after the other, in a kernel of its own.

    python -m bench.workshop_learner --out DIR NOTEBOOK...

Each notebook runs as "Restart Kernel and Run All Cells" would: a fresh kernel of the Python running this (the
shared .venv), working directory the notebook's folder, every cell in order; the executed copy is saved in DIR.
A failing cell fails that notebook (its error is kept in the saved copy) and the learner goes on to the next one,
as a person would. One JSON line per notebook on stdout: name, seconds, ok, the error's last line (and the traceback
when the kernel, not a cell, failed); a last line with the processor time the learner's runner, kernels and kit
services used.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

from nbclient.exceptions import CellExecutionError

from helpers.execute_notebooks import execute


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workshop_learner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the executed notebooks")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may take (default 600)")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        started = time.monotonic()
        ok, error, where = True, "", ""
        try:
            execute(path, timeout=args.timeout, save_to=args.out / path.name, env=dict(os.environ))
        except CellExecutionError as failure:
            ok, error = False, str(failure).strip().splitlines()[-1][:300]
        except Exception as failure:  # a kernel that died or never started is this learner's failure, not ours
            ok, error = False, f"{type(failure).__name__}: {failure}"[:300]
            # Where it came from (kernel start, a socket, the client) is what a fix needs: kept in the results.
            where = traceback.format_exc()[-4000:]
        seconds = time.monotonic() - started
        result = {"notebook": path.name, "seconds": round(seconds, 2), "ok": ok, "error": error}
        if where:
            result["traceback"] = where
        print(json.dumps(result), flush=True)
    # Processor time of this runner and everything it waited for: the kernels, and the kit services they stopped.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"cpu_seconds": round(cpu, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
