"""`make demo` (`python -m helpers.demo`): run both sample orchestrations once, headless, and print the results.

What it does:
1. Starts the offline model - unless you configured a real model (environment or `functions_app/local.settings.json`)
   - and the embedded Functions host serving `functions_app/` unchanged, each on a free port, with fresh temp state.
2. Starts the single-agent chaining orchestration and the multi-agent concurrent orchestration through the app's
   own routes, polls their status routes with a progress bar, and prints what they returned.
3. Stops everything it started, also on Ctrl-C or failure. The exit status is 0 only if both completed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from tqdm import tqdm

from helpers import processes
from helpers.offline_settings import offline_model_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_APP = REPO_ROOT / "functions_app"
DEFAULT_PROMPT = "What is temperature?"
FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}
MODEL_CALLS_PER_RUN = 2  # chaining: two writer turns; concurrency: one turn per science agent


@dataclass
class RunResult:
    title: str
    status: dict[str, Any]
    seconds: float

    @property
    def completed(self) -> bool:
        return self.status.get("runtimeStatus") == "Completed"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="question for the physicist and the chemist")
    parser.add_argument("--latency-ms", type=int, default=500,
                        help="offline model reply latency, to make the concurrency visible (default 500)")
    parser.add_argument("--offline", action="store_true",
                        help="use the offline model even if a real model is configured")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each orchestration")
    return parser.parse_args(argv)


def load_model_client() -> ModuleType:
    """The app's own backend selection (`functions_app/model_client.py`), so the demo and the app agree."""
    name = "functions_app_model_client"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS_APP / "model_client.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def app_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """What the host will see: local.settings.json `Values`, overridden by the environment (as `func start`)."""
    settings: dict[str, str] = {}
    local_settings = FUNCTIONS_APP / "local.settings.json"
    if local_settings.is_file():
        try:
            values = json.loads(local_settings.read_text(encoding="utf-8-sig")).get("Values") or {}
            settings.update({k: str(v) for k, v in values.items() if v is not None})
        except (ValueError, AttributeError):
            pass  # the host itself reports a broken local.settings.json with a clear message
    settings.update(environ)
    return settings


def configured_backend(settings: Mapping[str, str]) -> Any | None:
    """The real model the user configured, or None (then the offline model is used)."""
    model_client = load_model_client()
    try:
        return model_client.select_backend(settings)
    except model_client.ModelSettingsError as error:
        if any(settings.get(name, "").strip() for name in ("AZURE_OPENAI_ENDPOINT", "OPENAI_BASE_URL",
                                                            "OPENAI_MODEL")):
            print(f"Model settings are incomplete, using the offline model instead:\n  {error}\n")
        return None


def model_calls(model: processes.Service | None) -> int | None:
    if model is None:
        return None
    try:
        return int(httpx.get(f"{model.url}/stats", timeout=5.0).json()["calls"])
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def run_orchestration(
    http: httpx.Client,
    title: str,
    start: Callable[[], httpx.Response],
    *,
    model: processes.Service | None,
    timeout: float,
) -> RunResult:
    """Start one orchestration through its HTTP route, then poll its status route until it finishes."""
    calls_before = model_calls(model)
    began = time.monotonic()
    response = start()
    if response.status_code != 202:
        raise RuntimeError(f"{title}: starting failed with HTTP {response.status_code}: {response.text}")
    status_url = response.json()["statusQueryGetUri"]

    # With the offline model the bar counts model calls; with a real model it shows the status only.
    total = MODEL_CALLS_PER_RUN if calls_before is not None else None
    status: dict[str, Any] = {}
    with tqdm(total=total, desc=title, unit="model call", leave=True, file=sys.stdout,
              disable=None,  # no bar when the output is not a terminal (CI logs): the results still print
              bar_format="{desc}: {bar:20} {n_fmt}/{total_fmt} model calls [{elapsed}]{postfix}"
              if total else "{desc}: [{elapsed}]{postfix}") as bar:
        while time.monotonic() - began < timeout:
            status = http.get(status_url).json()
            bar.set_postfix_str(status.get("runtimeStatus", "?"))
            calls_now = model_calls(model)
            if total and calls_now is not None and calls_before is not None:
                bar.n = min(total, calls_now - calls_before)
                bar.refresh()
            if status.get("runtimeStatus") in FINISHED:
                break
            time.sleep(0.1)
        else:
            status = {**status, "runtimeStatus": status.get("runtimeStatus", "Unknown"),
                      "output": f"did not finish within {timeout:.0f} s"}
    return RunResult(title, status, time.monotonic() - began)


def show(result: RunResult, describe_output: Callable[[Any], list[tuple[str, str]]]) -> None:
    state = result.status.get("runtimeStatus")
    print(f"\n== {result.title}: {state} in {result.seconds:.1f} s (instance {result.status.get('instanceId')})")
    output = result.status.get("output")
    lines = describe_output(output) if result.completed else [("reason", str(output))]
    for label, text in lines:
        print(textwrap.fill(text, width=100, initial_indent=f"   {label + ':':<11}", subsequent_indent=" " * 14))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = app_settings(os.environ)
    backend = None if args.offline else configured_backend(settings)

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-demo-")))
        env: dict[str, str] = {}
        if "TASKHUB_NAME" not in settings:
            env["TASKHUB_NAME"] = "default"
        model: processes.Service | None = None
        try:
            if backend is None:
                print(f"Starting the offline model (scripted replies, {args.latency_ms} ms latency) ...")
                model = stack.enter_context(processes.start_offline_model(
                    port=processes.free_port(), latency_ms=args.latency_ms, log_path=workdir / "model.log"))
                env.update(offline_model_settings(model.url))
                source = f"the offline model at {model.url} (a deterministic scripted server, not a language model)"
            else:
                source = f"your configured model: {backend.describe()}"
            print(f"Model: {source}")
            print("Starting the Functions host with functions_app/ ...")
            host = stack.enter_context(processes.start_host(
                FUNCTIONS_APP, port=processes.free_port(), state_db=workdir / "state.sqlite3", env=env,
                log_path=workdir / "host.log"))
            print(f"Host running at {host.url}\n")
        except processes.ServiceError as error:
            print(f"Could not start the services:\n{error}", file=sys.stderr)
            return 1

        with httpx.Client(base_url=host.url, timeout=30.0) as http:
            single = run_orchestration(
                http, "Single-agent chaining", lambda: http.post("/api/singleagent/run"),
                model=model, timeout=args.timeout)
            multi = run_orchestration(
                http, "Multi-agent concurrency",
                lambda: http.post("/api/multiagent/run", content=args.prompt.encode("utf-8"),
                                  headers={"Content-Type": "text/plain; charset=utf-8"}),
                model=model, timeout=args.timeout)

        show(single, lambda output: [("writer", str(output))])
        show(multi, lambda output: [("prompt", args.prompt), ("physicist", str(output.get("physicist"))),
                                    ("chemist", str(output.get("chemist")))])
        print(f"\nAll answers came from {source}.")
        if model is not None and single.completed and multi.completed:
            print(f"Each model call took about {args.latency_ms} ms: the chaining run made its two calls one after "
                  f"the other ({single.seconds:.1f} s), the concurrent run made both at once ({multi.seconds:.1f} s).")
        if not (single.completed and multi.completed):
            print(f"\nHost log tail:\n{host.log_tail(2000)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the services were already stopped by the ExitStack
        sys.exit(130)
