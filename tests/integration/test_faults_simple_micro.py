"""The network and HTTP faults on simple-micro, under load: the symptom shows within seconds in user-visible
terms, a realistic remediation through the cluster clears it, and stopping the fault restores the baseline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.simple_micro_lab import (
    Case,
    Lab,
    delete_target,
    failing,
    healthy,
    inject,
    play_case,
    running_lab,
    slow,
    stop_every_fault,
    stop_fault,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab() as made:
        yield made


@pytest.fixture(autouse=True)
def no_fault_left(lab: Lab) -> Iterator[None]:
    """Every fault a test injected is stopped after it, even when it fails."""
    yield
    stop_every_fault(lab)


CASES = [
    Case("network-delay", "time-service", lambda lab, w: slow(lab, w, 900), delete_target("time-service")),
    Case("network-loss", "time-service", lambda lab, w: slow(lab, w, 190), delete_target("time-service")),
    Case("network-partition", "time-service", failing, delete_target("time-service")),
    Case(
        "network-bandwidth",
        "time-service",
        lambda lab, w: slow(lab, w, 300),
        delete_target("time-service"),
        ("bandwidth.rate=1kbps",),
    ),
    Case("network-corrupt", "time-service", lambda lab, w: slow(lab, w, 190), delete_target("time-service")),
    Case("http-abort", "time-service", failing, delete_target("time-service")),
    Case("http-delay", "time-service", lambda lab, w: slow(lab, w, 1500), delete_target("time-service")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_fault_shows_is_remediated_and_stops_cleanly(lab: Lab, case: Case) -> None:
    play_case(lab, case)


def test_duplicate_packets_leave_the_stream_intact(lab: Lab) -> None:
    """TCP discards duplicated segments: a real network shows no symptom, and neither does remedlab."""
    healthy(lab)
    name = inject(lab, "network-duplicate", "time-service")
    window = lab.load.measure(4)
    # every request answered, at the usual pace: the median, as one slow tail on a busy host is no symptom
    limit = max(5 * (lab.baseline.p50_ms or 5.0), 60.0)
    assert window.success_rate >= 0.99 and window.p50_ms is not None and window.p50_ms <= limit, window
    stop_fault(lab, name)
