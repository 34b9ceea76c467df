"""Clusters running at once on one host never draw the same loopback ranges: each holds a host-wide
lock on its ranges for as long as its process lives."""

from __future__ import annotations

import subprocess
import sys
import time

from remedlab.cluster.dataplane import ipam

HOLDER = """
import time
from remedlab.cluster.dataplane import ipam
# the first range from the top that no live cluster holds: the suite's own clusters draw theirs at once
print(next((second for second in range(248, 62, -2) if ipam.claim_range(second)), None), flush=True)
time.sleep(30)
"""


def test_a_range_held_by_a_live_process_is_not_claimed_and_is_freed_when_it_ends() -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        claimed = holder.stdout.readline().strip()
        assert claimed.isdigit(), claimed
        second = int(claimed)
        assert ipam.claim_range(second) is False
    finally:
        holder.kill()
        holder.wait(10)
    deadline = time.monotonic() + 5
    while not ipam.claim_range(second):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ipam.claim_range(second)  # held by this process now: claiming again is fine
