"""Run by tests/test_warm_start.py as `-m tests.warm_start_probe OUT CODE [raise]`: reports what it sees, then exits.

It writes argv, the environment, its working directory, `sys.path[0]`, `__name__` and its session to OUT (JSON),
prints a line to stdout and one to stderr (the log must get both at once, unbuffered), and exits with CODE,
or raises when told to.
"""

import json
import os
import sys

out, code = sys.argv[1], int(sys.argv[2])
seen = {
    "argv": sys.argv,
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "path0": sys.path[0],
    "name": __name__,
    "sid": os.getsid(0),
    "pid": os.getpid(),
    "stdin": sys.stdin.read(),
}
with open(out, "w") as f:
    json.dump(seen, f)
print("to stdout")
print("to stderr", file=sys.stderr)
if sys.argv[3:] == ["raise"]:
    raise RuntimeError("the probe was told to fail")
sys.exit(code)
