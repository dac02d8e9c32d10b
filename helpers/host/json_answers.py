"""The host's JSON answers: Starlette's JSONResponse, except for numbers JSON cannot hold.

Python's json writes NaN and infinities as `NaN` / `Infinity` (not JSON) and reads them back, so an instance's
input, output or custom status can hold them: posted as `[1e400]`, or returned by an orchestrator. Starlette
refuses to write them, and the whole status or listing failed with a 500 (found by the kit's generated requests,
tests/fuzz). They are sent as the strings "NaN", "Infinity" and "-Infinity" instead, which is how the extension's
serializer (Newtonsoft.Json, FloatFormatHandling.String) writes them.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except ValueError:  # "Out of range float values are not JSON compliant"
            return super().render(finite(content))


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by its name, as Newtonsoft.Json writes it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value
