"""The pod shim's IO faults reach files a process opened before the fault started (as a database's
data files are), through its control file: delays, errnos and probabilities, started and stopped
while the process runs; files outside the volume are untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from remedlab.cluster.node.io_fault_shim import create_control_file, shim_entry, write_faults

READER = r"""
import os, sys, time
inside = os.open(sys.argv[1], os.O_RDWR)
outside = os.open(sys.argv[2], os.O_RDWR)
print("open", flush=True)
for line in sys.stdin:
    out = []
    for fd in (inside, outside):
        started = time.monotonic()
        try:
            os.pread(fd, 4, 0)
            os.write(fd, b"x")
            os.fsync(fd)
            out.append(f"{time.monotonic() - started:.3f}")
        except OSError as exc:
            out.append(f"errno{exc.errno}")
    print(" ".join(out), flush=True)
"""


QUICK = 0.25
"""Seconds within which three unfaulted calls end, even on a busy host."""


def test_faults_reach_descriptors_opened_before_and_stop_at_once(shim: Path, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "data").write_bytes(b"data")
    (tmp_path / "other").write_bytes(b"data")
    control = tmp_path / "iofault"
    create_control_file(control)
    env = {**os.environ, "LD_PRELOAD": str(shim), "REMEDLAB_IO_FAULT_FILE": str(control)}
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(volume / "data"), str(tmp_path / "other")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def measure() -> list[str]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        return proc.stdout.readline().split()

    try:
        assert proc.stdout.readline().strip() == "open"
        inside, outside = measure()
        # a delay of 300 ms per call leaves room for a busy host in the bounds of the unfaulted calls
        assert float(inside) < QUICK and float(outside) < QUICK
        latency = shim_entry({"action": "latency", "delay": "300ms", "percent": 100}, str(volume))
        assert latency is not None
        write_faults(control, [latency])
        inside, outside = measure()
        assert float(inside) >= 0.9  # read, write and fsync each waited 300 ms
        assert float(outside) < QUICK
        only_sync = shim_entry({"action": "latency", "delay": "300ms", "methods": ["fsync"]}, str(volume))
        assert only_sync is not None
        write_faults(control, [only_sync])
        assert 0.3 <= float(measure()[0]) < 0.3 + QUICK
        failing = shim_entry({"action": "fault", "errno": 5, "percent": 100}, str(volume))
        assert failing is not None
        write_faults(control, [failing])
        assert measure()[0] == "errno5"
        write_faults(control, [])
        assert float(measure()[0]) < QUICK
    finally:
        proc.kill()
        proc.wait(10)


def test_entries_cover_what_the_shim_can_apply() -> None:
    assert shim_entry({"action": "attrOverride", "attr": {"perm": 0o444}}, "/v") is None
    assert shim_entry({"action": "latency", "delay": "1s", "methods": ["open", "getattr"]}, "/v") is None
    assert shim_entry({"action": "latency", "delay": "1s", "methods": ["read"]}, "/v") is not None
