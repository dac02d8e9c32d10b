"""Self-checks for the sharing lesson's exercises."""
from __future__ import annotations
