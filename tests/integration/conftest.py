from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.server_harness import ServerProcess


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess()
    try:
        proc.start()
        yield proc
    finally:
        proc.cleanup()
