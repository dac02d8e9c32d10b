"""Self-checks for the replay lesson's exercises."""
from __future__ import annotations
