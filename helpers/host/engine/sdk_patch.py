"""Putting a memo in place of one name of a durable SDK module, and taking it out again.

What sdk_timestamps.py and sdk_executor_memo.py share: the module may be missing (another SDK version), the
name may be gone, a memo may already be in place (install is idempotent), and the benchmark puts the SDK's
own function back to time the SDK as shipped. The replacement carries `memoised` and `original`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def install(module_name: str, attribute: str, memoise: Callable[[Any], Callable[..., Any] | None]) -> bool:
    """Replace `module_name.attribute` by `memoise(current)`; True when a memo is in place. `memoise` may answer
    None to leave a function it does not recognise alone."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    current = getattr(module, attribute, None)
    if current is None:
        return False
    if getattr(current, "memoised", False):
        return True
    replacement = memoise(current)
    if replacement is None:
        return False
    replacement.memoised = True  # type: ignore[attr-defined]
    replacement.original = current  # type: ignore[attr-defined]
    setattr(module, attribute, replacement)
    return True


def uninstall(module_name: str, attribute: str) -> None:
    """Put back what `install` replaced."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    current = getattr(module, attribute, None)
    if current is not None and getattr(current, "memoised", False):
        setattr(module, attribute, current.original)
