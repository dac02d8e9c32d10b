"""Run a deployment script under bash with `az` stubbed, and return every command line it would have run.

bash itself splits the words, so what comes back is exactly what `az` would receive from a learner's shell:
quotes removed, `$(...)` substitutions run (their `az` calls are recorded too), multi-line continuations joined.
Each stubbed `az` answers `STUB_ANSWER`, which later commands receive where they use a shell variable.
`.venv/bin/python` (the script's rehearsal step) is stubbed the same way, from a scratch folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

STUB_ANSWER = "stub-value"
RECORD_END = "\x1e"  # one call's arguments are NUL-separated, and the call ends with this record separator
_STUB = f"""{{ printf '%s\\0' "$0" "$@"; printf '{RECORD_END}\\0'; }} >> "$KIT_RECORD"; echo {STUB_ANSWER}"""


def recorded_calls(script: str, scratch: Path) -> tuple[list[list[str]], subprocess.CompletedProcess[str]]:
    """([program, arg, ...] for every stubbed call, in order; bash's result). `scratch` is the working folder."""
    scratch.mkdir(parents=True, exist_ok=True)
    record = scratch / "calls.bin"
    record.write_bytes(b"")
    python_stub = scratch / ".venv" / "bin" / "python"
    python_stub.parent.mkdir(parents=True, exist_ok=True)
    python_stub.write_text(f"#!/usr/bin/env bash\n{_STUB.replace('$0', '.venv/bin/python')}\n")
    python_stub.chmod(0o755)
    prelude = f'az() {{ {_STUB.replace("$0", "az")}; }}\nexport KIT_RECORD="{record}"\n'
    done = subprocess.run(
        ["bash", "-c", prelude + script], capture_output=True, text=True, timeout=30, cwd=scratch, check=False
    )
    calls: list[list[str]] = []
    current: list[str] = []
    for part in record.read_bytes().decode().split("\0")[:-1]:
        if part == RECORD_END:
            calls.append(current)
            current = []
        else:
            current.append(part)
    return calls, done
