"""The baseline runbook remediates every MicroRemed fault type on a real Hotel Reservation, seeing only
what any agent may see, through the server with the agent token."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml

from remedlab.agents.episode import DONE, Incident
from remedlab.agents.run import run_agent
from remedlab.observe.workload.mix import parse_mix
from tests.integration.agent_episodes import FaultLab, episode_story, fault_lab
from tests.integration.load_harness import BackgroundLoad

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
# (fault, target): services for most faults, the reservation database for disk-io (only databases have
# volumes), and a service other than geo for pod-config-error so one bad rollout cannot mask another.
EPISODES = [
    ("cpu-stress", "geo"),
    ("memory-stress", "geo"),
    ("network-delay", "geo"),
    ("network-loss", "geo"),
    ("pod-fail", "geo"),
    ("pod-config-error", "rate"),
    ("disk-io", "postgres-reservation"),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[FaultLab]:
    with fault_lab(NS, "frontend", 5000) as lab:
        yield lab


def booking_load(lab: FaultLab) -> BackgroundLoad:
    """Bookings write to the reservation database (searches are served from memory and caches), so a
    slow disk under it shows only when people book: half the requests here are bookings."""
    raw = yaml.safe_load(resources.files("remedlab.apps.hotel_reservation").joinpath("workload.yaml").read_text())
    for request in raw["requests"]:
        request["weight"] = 50 if request["name"] in ("reserve", "search") else 0.01
    ip = lab.server.get("services", NS, "frontend")["spec"]["clusterIP"]
    return BackgroundLoad(ip, 5000, "hotel-reservation", rate=6, mix=parse_mix(raw))


@pytest.mark.timeout(360)  # room for the runbook to look again after a playbook stopped at its limit
@pytest.mark.parametrize(("fault", "target"), EPISODES, ids=[f for f, _ in EPISODES])
def test_baseline_remediates(lab: FaultLab, fault: str, target: str, tmp_path: Path) -> None:
    with booking_load(lab) if fault == "disk-io" else _nothing(), lab.fault(fault, target) as chaos:
        lab.wait_fault_shows(chaos)  # in effect before the agent looks (a stressor may start slowly on a busy host)
        result = run_agent("baseline", Incident(NS), lab.api, out_dir=tmp_path)
        assert result.ended == DONE, episode_story(result, tmp_path)
        assert not lab.fault_shows(chaos), f"{fault} on {target} still shows after {result.actions}"
        lab.assert_serving()
    assert result.actions and all(a["ok"] for a in result.actions), episode_story(result, tmp_path)
    assert any(target in str(a["why"]) for a in result.actions), result.actions


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
