"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remedlab.apps.kit.tracing import set_span_processor
from tests.unit.test_kit_tracing import Collect


@pytest.fixture
def collected() -> Iterator[Collect]:
    collect = Collect()
    previous = set_span_processor(collect)
    try:
        yield collect
    finally:
        set_span_processor(previous)
