"""Self-checks for the at_least_once lesson's exercises."""
from __future__ import annotations
