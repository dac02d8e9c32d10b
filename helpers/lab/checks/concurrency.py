"""Self-checks for the concurrency lesson's exercises."""
from __future__ import annotations
