"""The command lines lesson 11 shows: the deployment script its plan writes, its delete command, and every
`az`, `func` or `azd` command written in its text (inline code and code blocks of its markdown cells)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from helpers.rehearsal.plan import AzurePlan

from .script_calls import recorded_calls

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSON_NOTEBOOKS = (
    REPO_ROOT / "notebooks" / "11_going_to_azure.ipynb",
    REPO_ROOT / "notebooks" / "solutions" / "11_going_to_azure_solution.ipynb",
)
TOOLS = ("az", "func", "azd")
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL)


def plan_calls(plan: AzurePlan, scratch: Path) -> list[list[str]]:
    """Every `az` call of the plan's deployment script and its delete command, without the leading `az`."""
    calls, done = recorded_calls(plan.script(), scratch)
    if done.returncode != 0:
        raise AssertionError(f"the deployment script failed under bash: {done.stderr}")
    return [call[1:] for call in calls if call[0] == "az"] + [shlex.split(plan.delete_command())[1:]]


def text_commands(notebooks: tuple[Path, ...] = LESSON_NOTEBOOKS) -> list[tuple[str, list[str]]]:
    """(tool, argv without the tool) for every command of `TOOLS` in the notebooks' markdown."""
    found = []
    for path in notebooks:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            snippets = [block for block in _FENCE.findall(text)]
            snippets += _INLINE.findall(_FENCE.sub("", text))
            for snippet in snippets:
                for line in snippet.splitlines():
                    words = shlex.split(line, comments=True) if line.strip() else []
                    if words and words[0] in TOOLS:
                        found.append((words[0], words[1:]))
    return found
