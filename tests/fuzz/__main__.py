"""`make fuzz`: python -m tests.fuzz [--requests N] [--seed S] -- many generated requests against a running kit.

Prints what it sent, what came back and every property violation; exits 1 when there is one. `make test` runs a
small derandomized run of the same harness (tests/fuzz/test_fuzz.py); this one draws new requests each time
(a new seed unless --seed is given; the seed is printed so a run can be repeated).
"""

from __future__ import annotations

import argparse
import random
import sys

from .harness import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="how many requests to generate (default 10000)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: a new one, printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"fuzzing a kit (teaching app, offline model, gateway) with {args.requests} requests, seed {seed}")
    report = run(args.requests, seed=seed)
    print(report.summary())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
