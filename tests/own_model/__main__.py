"""`python -m tests.own_model [--latency-ms 1000] [--foreign PATH_TO_fakellm] [--out DIR] [NOTEBOOK...]`.

Starts the remotes, then runs every lesson (and solution) notebook once per route with `LAB_MODEL=env`:

- `openai`       OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY -> the offline model started as a remote
                 that checks the key and the model name (401 / 404 as OpenAI answers), ~1 s per call;
- `azure-key`    AZURE_OPENAI_ENDPOINT / _CHAT_DEPLOYMENT_NAME / _API_KEY -> the same remote, Azure routes;
- `azure-entra`  the same without a key: the app's DefaultAzureCredential gets its bearer token from a local
                 managed-identity endpoint (`helpers/identity_endpoint.py`), and the remote accepts only that token;
- `foreign`      OpenAI-compatible settings -> fakellm, a mock server the kit did not write (its own text,
                 no token usage in streams), when `--foreign` names its executable.

Outputs are not compared with the stored ones (real answers differ). A run fails on any cell error that the
cell does not expect, when a route's key or token appears in any output, or when no output shows an answer
of that route's model. Executed notebooks are saved under `--out` (default `build/own-model/<route>/`) so a
failure can be read in the notebook itself; CI uploads them.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nbformat

from helpers import processes
from helpers.execute_notebooks import execute
from helpers.offline_settings import MODEL_VARIABLES

REPO_ROOT = processes.REPO_ROOT
DEPLOYMENT = "kit-test-deployment"
MODEL = "kit-test-model"
FOREIGN_CONFIG = Path(__file__).with_name("fakellm.yaml")
# Words every reply of the foreign server contains (see fakellm.yaml): proof the lessons showed its answers.
FOREIGN_MARK = "thoughtful answer"
OFFLINE_MARK = "[offline model"
CELL_TIMEOUT = 300
PARALLEL = 3  # notebooks at a time: each waits on ~1 s model calls far more than it computes


@dataclass
class Route:
    name: str
    env: dict[str, str]
    answer_mark: str  # text that only this route's model answers contain
    secrets: list[str] = field(default_factory=list)  # values that must never appear in an output


def wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode}")
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f}s")


def start_process(args: list[str], url: str, what: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    wait_http(url, process, what)
    return process


def lesson_notebooks(names: list[str]) -> list[Path]:
    folder = REPO_ROOT / "notebooks"
    every = sorted(folder.glob("[0-9][0-9]_*.ipynb")) + sorted((folder / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    return [path for path in every if any(path.name.startswith(name) for name in names)]


def unexpected_errors(notebook: nbformat.NotebookNode) -> list[str]:
    """The error outputs of cells not marked as raising on purpose (tag or NBVAL_RAISES_EXCEPTION)."""
    found = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        expected = "raises-exception" in cell.metadata.get("tags", []) or cell.source.lstrip().startswith(
            "# NBVAL_RAISES_EXCEPTION"
        )
        for output in cell.get("outputs", []):
            if output.output_type == "error" and not expected:
                found.append(f"cell {number}: {output.ename}: {output.evalue}")
    return found


def all_text(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook)


def run_one(path: Path, route: Route, out_dir: Path, base_env: dict[str, str]) -> tuple[str, list[str], float]:
    target = out_dir / route.name / path.relative_to(REPO_ROOT / "notebooks")
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**base_env, **route.env}
    problems: list[str] = []
    seconds = 0.0
    try:
        seconds = execute(path, timeout=CELL_TIMEOUT, save_to=target, env=env, allow_errors=True)
    except Exception as error:
        problems.append(f"did not finish: {type(error).__name__}: {str(error)[-500:]}")
    saved = nbformat.read(target, as_version=4)
    problems += unexpected_errors(saved)
    text = all_text(saved)
    problems += [f"a secret of route {route.name} appears in an output" for s in route.secrets if s in text]
    return str(path.relative_to(REPO_ROOT)), problems, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="name prefixes (default: every lesson and solution)")
    parser.add_argument("--latency-ms", type=int, default=1000, help="latency of the remote offline model")
    parser.add_argument("--foreign", help="the fakellm executable (the foreign route runs only with it)")
    parser.add_argument("--routes", default="openai,azure-key,azure-entra,foreign")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "own-model")
    args = parser.parse_args(argv)
    wanted = set(args.routes.split(","))
    logs = Path(tempfile.mkdtemp(prefix="own-model-"))

    api_key = "sk-test-" + secrets.token_hex(12)
    token = "entra-test-" + secrets.token_hex(16)
    identity_secret = secrets.token_hex(8)
    remote = processes.start_offline_model(
        latency_ms=args.latency_ms,
        log_path=logs / "remote.log",
        extra_args=["--api-key", api_key, "--api-key", token, "--models", f"{MODEL},{DEPLOYMENT}"],
    )
    started: list[subprocess.Popen[bytes]] = []
    identity_port = processes.free_port()
    started.append(
        start_process(
            [
                sys.executable,
                "-m",
                "helpers.identity_endpoint",
                "--port",
                str(identity_port),
                "--token",
                token,
                "--secret",
                identity_secret,
            ],
            f"http://127.0.0.1:{identity_port}/issued",
            "identity endpoint",
            logs / "identity.log",
        )
    )

    routes = [
        Route(
            "openai",
            {"OPENAI_BASE_URL": remote.url + "/v1", "OPENAI_MODEL": MODEL, "OPENAI_API_KEY": api_key},
            OFFLINE_MARK,
            [api_key],
        ),
        Route(
            "azure-key",
            {
                "AZURE_OPENAI_ENDPOINT": remote.url,
                "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": DEPLOYMENT,
                "AZURE_OPENAI_API_KEY": api_key,
            },
            OFFLINE_MARK,
            [api_key],
        ),
        Route(
            "azure-entra",
            {
                "AZURE_OPENAI_ENDPOINT": remote.url,
                "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": DEPLOYMENT,
                "IDENTITY_ENDPOINT": f"http://127.0.0.1:{identity_port}/msi/token",
                "IDENTITY_HEADER": identity_secret,
            },
            OFFLINE_MARK,
            [token, identity_secret],
        ),
    ]
    if args.foreign and "foreign" in wanted:
        foreign_port = processes.free_port()
        started.append(
            start_process(
                [args.foreign, "serve", "--port", str(foreign_port), "--config", str(FOREIGN_CONFIG)],
                f"http://127.0.0.1:{foreign_port}/_fakellm/stats",
                "fakellm",
                logs / "fakellm.log",
            )
        )
        foreign_key = "sk-foreign-" + secrets.token_hex(8)
        routes.append(
            Route(
                "foreign",
                {
                    "OPENAI_BASE_URL": f"http://127.0.0.1:{foreign_port}/v1",
                    "OPENAI_MODEL": "gpt-4o-mini",
                    "OPENAI_API_KEY": foreign_key,
                },
                FOREIGN_MARK,
                [foreign_key],
            )
        )
    routes = [route for route in routes if route.name in wanted]

    # The learner's shell, minus any model settings of its own, plus LAB_MODEL=env.
    base_env = {
        name: value
        for name, value in os.environ.items()
        if name not in MODEL_VARIABLES and name not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "LAB_MODEL")
    }
    base_env["LAB_MODEL"] = "env"
    notebooks = lesson_notebooks(args.notebooks)
    jobs = [(path, route) for route in routes for path in notebooks]
    print(f"{len(notebooks)} notebooks x routes {', '.join(r.name for r in routes)}; outputs in {args.out}", flush=True)
    failures = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            futures = {pool.submit(run_one, path, route, args.out, base_env): route for path, route in jobs}
            for future in concurrent.futures.as_completed(futures):
                route = futures[future]
                name, problems, seconds = future.result()
                if problems:
                    failures += 1
                    print(f"FAILED [{route.name}] {name}", *(f"    {p}" for p in problems), sep="\n", flush=True)
                else:
                    print(f"ok     [{route.name}] {name} ({seconds:.0f} s)", flush=True)
        for route in routes:
            shown = any(
                route.answer_mark in all_text(nbformat.read(p, as_version=4))
                for p in (args.out / route.name).rglob("*.ipynb")
            )
            if not shown:
                failures += 1
                print(f"FAILED [{route.name}] no notebook output shows an answer of this route's model", flush=True)
        served = httpx.get(remote.url + "/stats", timeout=10, trust_env=False).json()["calls"]
        print(f"the remote served {served} model calls for these runs", flush=True)
    finally:
        remote.stop()
        for process in started:
            process.terminate()
            process.wait(timeout=10)
    print(f"{'FAILED' if failures else 'passed'}: {len(jobs)} notebook runs, {failures} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
