"""Self-checks for the lessons' exercises: each evaluates what the learner did and answers with a `Verdict`.

A self-check cell in a lesson calls one of these and shows its verdict: "✓ ..." when the answer is right, or
"✗ Not yet: ..." with a hint when it is not — never an exception, so an unsolved lesson still runs top to bottom
(and passes its notebook test). The checks really evaluate: they run the learner's code on the kit, read the
history, entity state, host log and model calls it produced, and compare with what the concept requires. Each
module holds one lesson's checks; tests run every check on a right and on a wrong answer.

    verdict = lab.checks.chaining.three_turns(kit, three_turns)
    verdict            # ✓ ... / ✗ Not yet: ...   (verdict.ok is True or False)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., "Verdict"])

UNSOLVED_MARK = "NotImplementedError"  # every exercise template raises it until the learner writes the code


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    hint: str = ""

    def __repr__(self) -> str:
        if self.ok:
            return f"✓ {self.message}"
        return f"✗ Not yet: {self.message}" + (f"\n  Hint: {self.hint}" if self.hint else "")

    def __bool__(self) -> bool:
        return self.ok


def passed(message: str) -> Verdict:
    return Verdict(True, message)


def not_yet(message: str, hint: str = "") -> Verdict:
    return Verdict(False, message, hint)


def unsolved(function: Callable[..., Any]) -> bool:
    """Is `function` still the exercise's template (its body raises NotImplementedError)?"""
    try:
        return UNSOLVED_MARK in inspect.getsource(function)
    except (OSError, TypeError):
        return False


def never_raises(check: F) -> F:
    """A check that fails on its own (a kit that stopped, an unexpected answer) says so as "not yet"."""

    @functools.wraps(check)
    def safe(*args: Any, **kwargs: Any) -> Verdict:
        try:
            return check(*args, **kwargs)
        except Exception as error:
            return not_yet(
                f"the check could not run your answer: {type(error).__name__}: {error}",
                "read the message above; fix the code cell and run it again, then this check.",
            )

    return safe  # type: ignore[return-value]


from . import at_least_once, azure, chaining, concurrency, hitl, replay, sharing, streams, versioning, workflows  # noqa: E402  (use Verdict above)

__all__ = [
    "Verdict",
    "at_least_once",
    "azure",
    "chaining",
    "concurrency",
    "hitl",
    "never_raises",
    "not_yet",
    "passed",
    "replay",
    "sharing",
    "streams",
    "unsolved",
    "versioning",
    "workflows",
]
