"""Collected only when `KIT_AF_SAMPLES` names a checkout of the samples: `make test` must neither run these tests
nor report them skipped. The fixtures start the services every sample shares."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLES_VARIABLE = "KIT_AF_SAMPLES"

if not os.environ.get(SAMPLES_VARIABLE):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def offline_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The kit's offline model, one per test process: every sample's agents talk to it through the kit's client."""
    from helpers import processes

    model = processes.start_offline_model(log_path=tmp_path_factory.mktemp("model") / "model.log")
    try:
        yield model
    finally:
        model.stop()


def samples_root() -> Path:
    """The samples folder `KIT_AF_SAMPLES` names (the Makefile checks it before pytest starts)."""
    return Path(os.environ[SAMPLES_VARIABLE]).expanduser().resolve()
