"""Lesson 11's self-check tells a right .funcignore line from wrong ones, and never raises."""

from __future__ import annotations

import pytest

from helpers.lab import checks

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (..., "replace the ... with your .funcignore line"),
        (42, "is not a .funcignore line"),
        ("model*", "model_client.py stays out of the package (.funcignore line 15: model*)"),
        ("*.jsonl", "models/notes.txt still ships"),
        ("models/eval-set.jsonl", "models/notes.txt still ships"),
        # Right about models/, but it also leaves out what Azure needs: the rehearsal catches it.
        ("models/\nrequirements.txt", "the rehearsal fails: ✗ package: requirements.txt is not in the package"),
    ],
)
def test_wrong_lines_are_not_yet(line: object, says: str) -> None:
    verdict = checks.azure.models_line(line)
    assert not verdict.ok and says in repr(verdict), repr(verdict)


def test_a_line_naming_the_folder_passes_and_the_rehearsal_runs_both_orchestrations() -> None:
    verdict = checks.azure.models_line("models/")
    assert verdict.ok, repr(verdict)
    assert "keeps model_client.py" in repr(verdict)
    assert "single-agent chaining Completed, multi-agent concurrency Completed" in repr(verdict)
