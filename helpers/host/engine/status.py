"""An instance as the Durable HTTP API shows it: the status object, and the history rendering of showHistory."""

from __future__ import annotations

from typing import Any

from .history import iso_seconds, json_value
from .records import StatusRow


def status_payload(row: StatusRow, show_input: bool) -> dict[str, Any]:
    """StatusResponsePayload: output and customStatus as JSON values. `input` as the extension shows it: the
    value, for an instance started by posting plain JSON; the JSON text, for one the SDK's `start_new` (which
    sends its input as JSON inside a JSON string), a sub-orchestration or continue-as-new started."""
    shown_input = (json_value(row.input) if row.input_is_value else row.input) if show_input else None
    return {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": shown_input,
        "customStatus": json_value(row.custom_status),
        "output": json_value(row.output),
        "createdTime": iso_seconds(row.created),
        "lastUpdatedTime": iso_seconds(row.updated),
    }
