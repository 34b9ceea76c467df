from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.pod_logs import WATCH
from tests.integration.server_harness import ServerProcess


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    WATCH.begin_test()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's report holds what its servers and their pods logged while it ran."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        report.sections.extend(WATCH.sections(call.start))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess()
    try:
        proc.start()
        yield proc
    finally:
        proc.cleanup()
