"""Fixtures shared by the durable conformance modules that drive the `durable_patterns` app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import DurableApi


@pytest.fixture(scope="module")
def api(start_module_host) -> Iterator[DurableApi]:
    """One host per test module running tests/host/apps/durable_patterns, and a client for it."""
    client = DurableApi(start_module_host("durable_patterns").url)
    yield client
    client.close()


def unique(prefix: str) -> str:
    """An instance id / entity key no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
