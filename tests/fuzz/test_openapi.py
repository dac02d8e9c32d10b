"""The OpenAPI description (helpers/host/openapi.py) covers every route the host serves, loads in Schemathesis,
and the copy for learners, docs/durable-http-api.yaml, is what the kit writes today."""

from __future__ import annotations

import re
from pathlib import Path

import schemathesis
import yaml
from starlette.routing import Mount, Route

from helpers.host import durable_api, openapi
from helpers.host.app import create_app
from helpers.host.durable_urls import WEBHOOK_PATH

ROOT = Path(__file__).resolve().parents[2]


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def test_every_route_of_the_durable_api_and_the_admin_is_described() -> None:
    described = {(shape(path), method.upper()) for path, ops in openapi.document()["paths"].items() for method in ops}
    served = {(shape(WEBHOOK_PATH + path), method) for path, _, method in durable_api._ENDPOINTS}
    assert served <= described, sorted(served - described)


def test_the_admin_routes_of_a_built_app_are_described() -> None:
    class _Registry:
        mcp_functions = ()  # an app without MCP triggers: no MCP server

    class _Host:  # only what create_app reads at build time
        registry = _Registry()

    app = create_app(_Host())  # type: ignore[arg-type]
    admin = {
        (shape(route.path), method)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/admin")
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert any(isinstance(route, Mount) for route in app.routes)
    described = {(shape(path), method.upper()) for path, ops in openapi.document()["paths"].items() for method in ops}
    assert admin and admin <= described, sorted(admin - described)


def test_schemathesis_reads_every_operation() -> None:
    schema = schemathesis.openapi.from_dict(openapi.document())
    operations = list(schema.get_all_operations())
    assert len(operations) >= 20
    assert all(type(operation).__name__ == "Ok" for operation in operations), operations


def test_the_learners_copy_is_current() -> None:
    written = (ROOT / "docs" / "durable-http-api.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(written) == openapi.document(), (
        "docs/durable-http-api.yaml is out of date: python -m helpers.host.openapi > docs/durable-http-api.yaml"
    )
