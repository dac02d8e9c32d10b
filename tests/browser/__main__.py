"""Run lessons in JupyterLab in a real browser, as a learner does, and check what the page shows: `make browser-check`.

    python -m tests.browser [NN ...]        # default: every lesson, 00-11; screenshots in build/browser-check/

For each lesson this starts JupyterLab from the kit's `.venv` on a free loopback port with a random token, opens the
notebook in headless Chromium (Debian's `chromium`, driven by Playwright), runs all cells from the Run menu, waits
for the last cell, and then checks what a learner must see:

- the notebook opened on the kit's kernel, "Python (durable agents kit)", without asking for one;
- every cell ran, and no cell shows an error or a traceback;
- every `lab.poll` progress bar is green for `Completed` and red for `Failed` or `Terminated` (its description says
  which), and the lessons that fail an instance on purpose show at least one red bar;
- every mermaid diagram rendered as an SVG;
- URLs in a `fields_table` break only between their parts, never mid-word, and copy whole.

It saves screenshots of the whole notebook, a viewport at a time, for a person to look at: the checks catch what
they name, not everything a learner could trip on.

JupyterLab works on copies of the notebooks in a temporary folder, so autosave never touches the repository; the
kernelspec the notebooks name is registered there for this `.venv` only (`JUPYTER_PATH`), and the user settings
turn off autosave, update checks and news, and virtual scrolling (every cell stays in the page).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_LESSONS = tuple(f"{number:02d}" for number in range(12))  # every lesson
# Lessons that end an instance Failed on purpose, and how many such bars each must show.
EXPECTED_RED_BARS = {"04": 1, "06": 1, "07": 2, "08": 1}
# What each lesson's clean-up cell prints last: "host running: False", except where it stops no kit of its own.
CLEANUP_LINES = {"11": "work folder removed: True"}
# Debian's chromium by default; KIT_CHROMIUM names another Chromium-based browser (Google Chrome on a GitHub runner,
# where Ubuntu's `chromium` is only a snap wrapper).
CHROMIUM = os.environ.get("KIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KIT_KERNEL = {"name": "durable-agents-kit", "display_name": "Python (durable agents kit)"}
RUN_TIMEOUT_SECONDS = 600
VIEWPORT = {"width": 1400, "height": 1000}
# User settings for the JupyterLab under test (JSON5 files under <settings>/<plugin id>.jupyterlab-settings).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"checkForUpdates": False, "fetchNews": "false"},
}


@dataclass
class Result:
    lesson: str
    problems: list[str] = field(default_factory=list)
    bars: list[tuple[str, str]] = field(default_factory=list)  # (description, style)
    mermaid: tuple[int, int] = (0, 0)  # (diagrams in the notebook, SVGs rendered)
    screenshots: list[str] = field(default_factory=list)
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_workspace(lessons: list[Path], where: Path) -> tuple[Path, dict[str, str]]:
    """Copies of the lessons (and kernel_check.py), the kit's kernelspec and the user settings, under `where`."""
    served = where / "notebooks"
    served.mkdir()
    for lesson in lessons:
        shutil.copy(lesson, served / lesson.name)
    shutil.copy(NOTEBOOKS / "kernel_check.py", served / "kernel_check.py")
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--prefix", str(where / "env"), "--name", KIT_KERNEL["name"]]
        + ["--display-name", KIT_KERNEL["display_name"]],
        check=True,
        capture_output=True,
    )
    settings = where / "settings"
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit("/", 1)
        target = settings / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values), encoding="utf-8")
    env = {
        **os.environ,
        "JUPYTER_PATH": str(where / "env" / "share" / "jupyter"),  # first: the kit's kernel for this .venv
        "JUPYTER_CONFIG_DIR": str(where / "config"),  # no user configuration of this machine's JupyterLab
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(where / "workspaces"),
    }
    return served, env


def start_lab(served: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """JupyterLab on a free loopback port with a random token; returns (process, base URL with the token)."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={served}",
        "--LabApp.news_url=",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI images often run as root
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"JupyterLab exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/api/status", params={"token": token}, timeout=2).status_code == 200:
                return process, f"{base}|{token}"
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit(f"JupyterLab did not answer on {base} within 60 s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the JupyterLab this script started (its own process group: the kernels it started go too)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


# ------------------------------------------------------------------------------------------------ the page

PAGE_STATE = """
() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
  const bars = [...document.querySelectorAll('.jp-OutputArea-output .widget-hbox')]
    .filter(box => box.querySelector('.progress-bar'))
    .map(box => {
      const bar = box.querySelector('.progress-bar');
      const style = ['success', 'danger', 'info', 'warning'].find(s => bar.classList.contains('progress-bar-' + s)) || '';
      return [box.textContent.replace(/\\s+/g, ' ').trim(), style];
    });
  const stderr = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(o => o.textContent);
  // a URL may wrap only where the kit put <wbr>: a style that breaks anywhere would cut it mid-word
  const wrapped = [...document.querySelectorAll('.jp-OutputArea-output code.kit-url')]
    .filter(code => { const s = getComputedStyle(code);
      return s.overflowWrap !== 'normal' || s.wordBreak === 'break-all' || s.whiteSpace.startsWith('pre')
        || /\\s/.test(code.textContent); })
    .map(code => code.textContent);
  return {
    prompts,
    bars,
    stderr,
    wrapped,
    // JupyterLab draws a mermaid block as an SVG image; one it cannot parse stays source text, marked as a warning
    mermaidSvgs: [...document.querySelectorAll('.jp-RenderedMermaid:not(.jp-mod-warning)')]
      .filter(m => m.querySelector('svg, img[src^="data:image/svg"]')).length,
    kernel: (document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName, .jp-Toolbar-kernelName') || {}).textContent || '',
    dialog: (document.querySelector('.jp-Dialog') || {}).textContent || '',
    lastOutput: cells.length ? cells[cells.length - 1].querySelector('.jp-OutputArea')?.textContent || '' : '',
  };
}
"""

ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception|WrongKernel)\b.*:", re.M)


def check_lesson(browser, base: str, token: str, lesson: Path, out_dir: Path) -> Result:
    result = Result(lesson.name[:2])
    source = json.loads(lesson.read_text(encoding="utf-8"))
    diagrams = sum("```mermaid" in "".join(c["source"]) for c in source["cells"] if c["cell_type"] == "markdown")
    page = browser.new_page(viewport=VIEWPORT)
    started = time.monotonic()
    try:
        # a workspace of its own, reset: only this notebook opens, in a fresh layout
        page.goto(f"{base}/lab/workspaces/check-{result.lesson}/tree/{lesson.name}?token={token}&reset")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_function(
            "() => document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')",
            timeout=60_000,
        )
        try:  # the toolbar names the kernel once the session has started it
            page.wait_for_function(
                "name => (document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName, .jp-Toolbar-kernelName')"
                " || {}).textContent.includes(name)",
                arg=KIT_KERNEL["display_name"],
                timeout=30_000,
            )
        except Exception:  # reported below, with the name the toolbar shows
            pass
        state = page.evaluate(PAGE_STATE)
        if state["dialog"]:
            result.problems.append(f"a dialog opened with the notebook: {state['dialog'][:200]}")
        if KIT_KERNEL["display_name"] not in state["kernel"]:
            result.problems.append(f"the notebook opened on kernel {state['kernel']!r}, not the kit's")
        # the stored outputs go first, so every prompt and output on the page comes from this run
        page.click(".lm-MenuBar-item:has-text('Edit')")
        page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]"
            ".every(p => !/\\d/.test(p.textContent))",
            timeout=30_000,
        )
        page.click(".lm-MenuBar-item:has-text('Run')")
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
                const idle = document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
                return idle && prompts.length && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=RUN_TIMEOUT_SECONDS * 1000,
            polling=500,
        )
        page.wait_for_timeout(1500)  # widgets and mermaid finish drawing
        state = page.evaluate(PAGE_STATE)
        result.seconds = time.monotonic() - started
        result.bars = [tuple(bar) for bar in state["bars"]]
        result.mermaid = (diagrams, state["mermaidSvgs"])
        unrun = [p for p in state["prompts"] if not re.search(r"\[\d+\]", p)]
        if unrun:
            result.problems.append(f"{len(unrun)} cells did not run (an earlier cell failed?)")
        if CLEANUP_LINES.get(lesson.name[:2], "host running: False") not in state["lastOutput"]:
            result.problems.append(f"the clean-up cell did not print its line: {state['lastOutput'][:200]!r}")
        for text in state["stderr"]:
            if ERROR_TEXT.search(text):
                result.problems.append(f"a cell shows an error: {text.strip()[:300]}")
        for description, style in result.bars:
            wanted = "danger" if re.search(r": (Failed|Terminated|Canceled)\b", description) else "success"
            if style != wanted:
                result.problems.append(f"the bar {description!r} is {style or 'unstyled'}, not {wanted}")
        red = sum(style == "danger" for _, style in result.bars)
        if red < EXPECTED_RED_BARS.get(result.lesson, 0):
            result.problems.append(f"{red} red bars; this lesson fails {EXPECTED_RED_BARS[result.lesson]} on purpose")
        if state["mermaidSvgs"] < diagrams:
            result.problems.append(f"{diagrams} mermaid diagrams, {state['mermaidSvgs']} rendered as SVG")
        for url in state["wrapped"]:
            result.problems.append(f"a URL may break mid-word or copies with spaces: {url[:120]}")
        result.screenshots = screenshots(page, out_dir / result.lesson)
    except Exception as error:  # a timeout or a page that never loaded: report it with a screenshot
        result.problems.append(f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")
        (out_dir / result.lesson).mkdir(parents=True, exist_ok=True)
        failure = out_dir / result.lesson / "failure.png"
        page.screenshot(path=str(failure))
        result.screenshots.append(str(failure))
    finally:
        page.close()
        shut_down_kernels(base, token)
    return result


def shut_down_kernels(base: str, token: str) -> None:
    """End every session of the JupyterLab under test (closing a page leaves its kernel running)."""
    headers = {"Authorization": f"token {token}"}
    for session in httpx.get(f"{base}/api/sessions", headers=headers, timeout=10).json():
        httpx.delete(f"{base}/api/sessions/{session['id']}", headers=headers, timeout=30)


def screenshots(page, folder: Path) -> list[str]:
    """The notebook from top to bottom, one viewport per file (the notebook scrolls inside its panel)."""
    folder.mkdir(parents=True, exist_ok=True)
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    height = page.evaluate(f"() => document.querySelector('{scroller}').scrollHeight")
    step = page.evaluate(f"() => document.querySelector('{scroller}').clientHeight")
    saved = []
    for number, top in enumerate(range(0, max(height, 1), max(step - 80, 200)), start=1):
        page.evaluate(f"() => document.querySelector('{scroller}').scrollTo(0, {top})")
        page.wait_for_timeout(150)
        path = folder / f"{number:02d}.png"
        page.screenshot(path=str(path))
        saved.append(str(path))
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "lessons", nargs="*", default=list(DEFAULT_LESSONS), help="lesson numbers (default: %(default)s)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "browser-check", help="screenshots go here")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), "
            "or name another Chromium-based browser in KIT_CHROMIUM."
        )
    from playwright.sync_api import sync_playwright  # a maintainer tool: requirements-dev.txt

    lessons = []
    for number in args.lessons:
        matches = sorted(NOTEBOOKS.glob(f"{number}_*.ipynb"))
        if len(matches) != 1:
            raise SystemExit(f"{number!r} must name exactly one lesson in {NOTEBOOKS}")
        lessons.append(matches[0])
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="browser-check-") as scratch:
        served, env = prepare_workspace(lessons, Path(scratch))
        process, address = start_lab(served, env, args.out / "jupyterlab.log")
        base, token = address.split("|")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    for lesson in lessons:
                        print(f"{lesson.name}: running all cells in JupyterLab ...", flush=True)
                        result = check_lesson(browser, base, token, lesson, args.out)
                        results.append(result)
                        red = sum(style == "danger" for _, style in result.bars)
                        print(
                            f"  {result.seconds:.0f} s, {len(result.bars)} progress bars ({red} red), "
                            f"mermaid {result.mermaid[1]}/{result.mermaid[0]} as SVG, "
                            f"{len(result.screenshots)} screenshots in {args.out / result.lesson}",
                            flush=True,
                        )
                        for problem in result.problems:
                            print(f"  PROBLEM: {problem}", flush=True)
                finally:
                    browser.close()
        finally:
            stop(process)
    (args.out / "results.json").write_text(json.dumps([r.__dict__ for r in results], indent=2), encoding="utf-8")
    failed = [r.lesson for r in results if r.problems]
    print("browser check:", "problems in " + ", ".join(failed) if failed else "every check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
