"""The conformance modules that drive the `durable_patterns` app share one host per module (the suite's other
fixtures and wait helpers are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import DurableApi, HostLauncher


@pytest.fixture(scope="module")
def api(start_module_host: HostLauncher) -> Iterator[DurableApi]:
    """One host per test module running tests/apps/durable_patterns, and a client for it."""
    client = DurableApi(start_module_host("durable_patterns").url)
    yield client
    client.close()
