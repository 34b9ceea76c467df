"""`remedlab run --executor ray` on a local Ray cluster of two nodes (one lane each): episodes run on
both nodes with the plan's verdicts; a killed driver resumes losing and duplicating nothing; a lane
whose worker is killed mid-episode has that episode queued again."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from remedlab.bench.ray_executor import LANE_RESOURCE, REQUEUE_FILE, requeue_counts
from remedlab.bench.results import RESULTS_FILE, RUN_FILE

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.integration

NS = "simple-micro"
RAY = str(Path(sys.executable).parent / "ray")
# one authentication mode on every node and the driver (a local `ray.init` may have left a token behind),
# and time for a raylet's own start on a host busy with the rest of the suite (Ray's default: 30 s)
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_raylet_start_wait_time_s": "60"}


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports below the kernel's ephemeral range (32768 up), held open together
    while chosen. A port from that range may be taken by any outgoing connection of the rest of the suite before
    Ray binds it, and a raylet that cannot bind its port dies while `ray start` waits for it."""
    chooser = random.Random()
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            candidate = chooser.randrange(20000, 32000)  # Ray's workers take 10002-19999
            s = stack.enter_context(socket.socket())
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            if candidate not in ports:
                ports.append(candidate)
        return ports


PORT_FLAGS = (
    "--node-manager-port", "--object-manager-port", "--metrics-export-port", "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
)  # fmt: skip


def _node_args(ports: list[int]) -> list[str]:
    args = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--resources", json.dumps({LANE_RESOURCE: 1})]
    for flag, port in zip(PORT_FLAGS, ports, strict=True):
        args += [flag, str(port)]
    return [*args, "--disable-usage-stats"]


def _start_node(command: list[str], temp: str) -> int:
    """Start one node and return its GCS port (the head's). A start that fails (a port taken after all, a raylet
    too slow) is tried again on new ports."""
    env = {**os.environ, **RAY_ENV}
    failures = []
    for _ in range(3):
        ports = _free_ports(1 + len(PORT_FLAGS))
        gcs = ["--port", str(ports[0])] if "--head" in command else []
        try:
            started = subprocess.run(
                [*command, *gcs, *_node_args(ports[1:])], env=env, capture_output=True, text=True, timeout=90,
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as timeout:
            failures.append(f"timed out: {timeout.output!r}"[-1000:])
        else:
            if started.returncode == 0:
                return ports[0]
            failures.append(started.stderr[-1000:])
        if "--head" in command:
            _kill_cluster(temp)
    raise AssertionError("a Ray node did not start: " + "\n---\n".join(failures))


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    temp = tempfile.mkdtemp(prefix="rl-ray-")
    try:
        port = _start_node([RAY, "start", "--head", "--temp-dir", temp, "--include-dashboard", "false"], temp)
        address = f"127.0.0.1:{port}"
        _start_node([RAY, "start", "--address", address], temp)
        yield address
    finally:
        _kill_cluster(temp)  # `ray stop` would stop every Ray cluster on the host, not only this one
        shutil.rmtree(temp, ignore_errors=True)


def _kill_cluster(temp: str) -> None:
    """Every process of this cluster (its session lives under ``temp``), whatever `ray stop` left."""
    for proc in psutil.process_iter(["cmdline"]):
        if any(temp in part for part in proc.info["cmdline"] or []):
            for child in [*proc.children(recursive=True), proc]:
                try:
                    child.kill()
                except psutil.Error:
                    continue


def _results(folder: Path) -> list[dict[str, Any]]:
    path = folder / RESULTS_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _lane_players() -> list[psutil.Process]:
    """The lane workers of this test's driver that are playing an episode now."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if cmdline.startswith("ray::LaneWorker.play"):
            found.append(proc)
    return found


def _wait(what: str, check: Any, deadline: float, driver: subprocess.Popen[bytes] | None = None) -> Any:
    while not (value := check()):
        if driver is not None and driver.poll() is not None:
            raise AssertionError(f"the driver exited before {what}: {driver.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def test_a_run_on_two_ray_nodes_survives_a_killed_driver_and_a_killed_lane(cluster: str, tmp_path: Path) -> None:
    suite = tmp_path / "suite.txt"
    suite.write_text("pod-fail\ncpu-stress\npod-fail\ncpu-stress\n")
    out = tmp_path / "run"
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **RAY_ENV, "COLUMNS": "200", "REMEDLAB_HOME": str(home), "RAY_ADDRESS": cluster}
    base = [sys.executable, "-m", "remedlab.cli.main", "run"]
    command = [
        *base, "--env", NS, "--suite", str(suite), "--method", "baseline", "--seed", "3", "--out", str(out),
        "--settle", "3", "--grade-timeout", "60", "--quiet-seconds", "2", "--injection-timeout", "60",
        "--executor", "ray", "--ray-address", cluster, "--parallel", "2",
    ]  # fmt: skip
    deadline = time.monotonic() + 120
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        # a lane's worker killed mid-episode: that episode is queued again, on a restarted lane
        victim = _wait("an episode playing", _lane_players, deadline, first)[0]
        time.sleep(2)
        victim.send_signal(signal.SIGKILL)
        _wait("the episode queued again", lambda: (out / REQUEUE_FILE).exists(), deadline, first)
        # then the driver killed once an episode is in
        _wait("a first result", lambda: _results(out), deadline, first)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    before = _results(out)
    assert 1 <= len(before) < 4
    resumed = subprocess.run(
        [*base, "--resume", str(out), "--ray-address", cluster],  # the run's own executor: ray
        env=env, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = _results(out)
    assert sorted(r["index"] for r in records) == [0, 1, 2, 3]  # each exactly once
    run = json.loads((out / RUN_FILE).read_text())
    assert run["executor"] == "ray" and run["parallel"] == 2
    planned = {e["index"]: e for e in run["plan"]}
    for record in records:
        entry = planned[record["index"]]
        assert (record["fault"], record["target"]) == (entry["fault"], entry["target"])
        assert record["status"] == "success", record
        assert record["timeline"] is None or (out / record["timeline"]).exists()
    assert len({r["node_id"] for r in records}) == 2, "the episodes ran on one node only"
    # the killed lane's episode was queued again first; a lane lost later (the killed driver's lanes end with
    # it, and a node may lose another while the run goes on) queues its episode too: each record counts its own
    log = (out / REQUEUE_FILE).read_text().splitlines()
    assert log and all(" requeued: " in line for line in log), log
    counts = requeue_counts(out)
    assert counts[int(log[0].split()[2])] >= 1, log
    assert [r["requeued"] for r in sorted(records, key=lambda r: r["index"])] == [counts.get(i, 0) for i in range(4)]
    assert "success rate" in resumed.stdout
