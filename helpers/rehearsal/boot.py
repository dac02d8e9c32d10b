"""Start the embedded host inside the clean environment: `python -I boot.py HOST_LAYER PYCACHE -- HOST_ARGS...`.

Run as a script by the clean venv's Python in isolated mode (`-I`: no PYTHON* variables, no user site, not even
the current folder on the path), so only the standard library and the packages `requirements.txt` installed are
importable. Two steps, in one process:

1. Import `function_app.py` from the package folder, as the Azure Functions Python worker does (the app's folder
   first on the path, then its packages). The host's own packages are not reachable yet, so an app that needs a
   package `requirements.txt` does not bring fails here. The failure goes to stderr as one line after
   `IMPORT_FAILED_MARK`, in JSON, for the rehearsal to explain.
2. Put the host layer (the host's packages and the kit's `helpers`) at the *end* of the path and run
   `helpers.host` on the package folder. It imports `function_app.py` again (the host always does); the app's
   packages are already loaded, so that costs little.

This file imports nothing from the kit before step 2: it must run where the kit is not installed.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

IMPORT_FAILED_MARK = "KIT-REHEARSAL-IMPORT-FAILED "
IMPORT_FAILED_EXIT = 3


def import_app(app_dir: Path) -> None:
    """Import function_app.py as the Functions worker would; exit with the failure described in one JSON line."""
    sys.path.insert(0, str(app_dir))
    try:
        import function_app  # noqa: F401  (importing it is the test)
    except BaseException as error:  # a settings check may raise SystemExit; report that too
        if isinstance(error, KeyboardInterrupt):
            raise
        frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == app_dir]
        where = f"{Path(frames[-1].filename).name} line {frames[-1].lineno}: {frames[-1].line}" if frames else ""
        report = {"error": type(error).__name__, "message": str(error), "module": missing_module(error), "where": where}
        print(IMPORT_FAILED_MARK + json.dumps(report), file=sys.stderr, flush=True)
        raise SystemExit(IMPORT_FAILED_EXIT) from None
    sys.modules.pop("function_app", None)  # the host imports it afresh, as it always does


def missing_module(error: BaseException) -> str | None:
    """The module an import error could not find, following the chain: a library that wraps the error in its
    own message (Agent Framework's lazy `agent_framework.openai`) keeps the original as the cause."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ImportError) and seen.name:
            return seen.name
        seen = seen.__cause__ or seen.__context__
    return None


def main(argv: list[str]) -> int:
    layer, pycache, separator, *host_args = argv
    if separator != "--" or not host_args:
        raise SystemExit("usage: python -I boot.py HOST_LAYER PYCACHE -- APP_DIR [host options]")
    # Compiled modules go to the environment's own folder, never into the package or the venv.
    sys.pycache_prefix = pycache
    import_app(Path(host_args[0]).resolve())
    sys.path.append(layer)
    sys.argv = ["helpers.host", *host_args]
    from helpers.host.__main__ import main as host_main

    return host_main(host_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
