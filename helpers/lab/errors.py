"""The one exception the kit raises for things a learner can fix."""

from __future__ import annotations


class LabError(RuntimeError):
    """Something the learner can fix: the message says what happened and what to try."""
