"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from remedlab.apps.kit.tracing import set_span_processor
from remedlab.cluster.node.time_shift import build_shim
from tests.unit.test_kit_tracing import Collect


@pytest.fixture
def collected() -> Iterator[Collect]:
    collect = Collect()
    previous = set_span_processor(collect)
    try:
        yield collect
    finally:
        set_span_processor(previous)


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """The pod shim (clock, IO faults, source address, resolver), built for this test."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler (make setup installs gcc)")
    built, note = build_shim(tmp_path / "home")
    assert built is not None, note
    return built
