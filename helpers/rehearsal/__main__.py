"""`python -m helpers.rehearsal [APP_DIR] [--work-dir DIR]` — rehearse deploying the app to Azure, offline.

Uses the app settings lesson 11's deployment gives the app (`helpers.rehearsal.plan.AzurePlan`), prints one line
per step, and exits 1 when a step fails, so a deployment script stops before it uploads anything. The zip it
rehearsed is left in `WORK_DIR/package/` for `az functionapp deployment source config-zip --src` to upload.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .plan import AzurePlan
from .run import rehearse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.rehearsal", description=__doc__.splitlines()[0])
    parser.add_argument("app_dir", nargs="?", default="functions_app", help="the app folder (default: functions_app)")
    parser.add_argument("--work-dir", type=Path, default=Path("build/azure"), help="default: build/azure")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rehearsal = rehearse(args.app_dir, AzurePlan().app_settings(), work_dir=args.work_dir)
    print(rehearsal, flush=True)
    if rehearsal.package is not None and rehearsal.ok:
        print(f"The rehearsed zip: {rehearsal.package.zip_path}")
    return 0 if rehearsal.ok else 1


if __name__ == "__main__":
    sys.exit(main())
