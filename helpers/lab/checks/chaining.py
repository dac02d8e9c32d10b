"""Self-checks for the chaining lesson's exercises."""
from __future__ import annotations
