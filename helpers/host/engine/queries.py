"""The read side: instance rows rendered as Durable HTTP API status objects, and the SQL of instance filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...durable_vocabulary import canonical_status
from .history import iso, iso_seconds, parse_iso
from .instances import jt_value

STATUS_COLUMNS = (
    "instance_id, name, status, input, output, custom_status, created, updated, json_extract(book, '$.input_is_value')"
)
INSTANCES_WITH_INPUTS = "instances LEFT JOIN inputs USING (instance_id)"  # the input has a table of its own


def status_from_row(row: tuple, show_input: bool) -> dict[str, Any]:
    """StatusResponsePayload: output and customStatus as JSON values. `input` as the extension shows it: the
    value, for an instance started by posting plain JSON; the JSON text, for one the SDK's `start_new` (which
    sends its input as JSON inside a JSON string), a sub-orchestration or continue-as-new started."""
    instance_id, name, status, input_json, output, custom_status, created, updated, input_is_value = row
    return {
        "name": name,
        "instanceId": instance_id,
        "runtimeStatus": status,
        "input": (jt_value(input_json) if input_is_value else input_json) if show_input else None,
        "customStatus": jt_value(custom_status),
        "output": jt_value(output),
        "createdTime": iso_seconds(created),
        "lastUpdatedTime": iso_seconds(updated),
    }


def filter_sql(
    runtime_status: list[str] | None, created_from: Any, created_to: Any, prefix: str | None
) -> tuple[str, list[Any]]:
    """` WHERE ...` and its parameters for the list/purge filters of the Durable HTTP API."""
    clauses: list[str] = []
    params: list[Any] = []
    if runtime_status:
        wanted = [s.strip() for s in runtime_status if s and s.strip()]
        wanted = [canonical_status(s) for s in wanted]
        clauses.append(f"status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    for bound, op in ((created_from, ">="), (created_to, "<=")):
        if bound:
            when = bound if isinstance(bound, datetime) else parse_iso(str(bound))
            clauses.append(f"created {op} ?")
            params.append(iso(when))
    if prefix:
        clauses.append("substr(instance_id, 1, ?) = ?")
        params.extend([len(prefix), prefix])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
