"""Self-checks for the hitl lesson's exercises."""
from __future__ import annotations
