"""Time from `remedlab up <app>` to all pods Ready, and the memory the app's pods use; and the time
from `remedlab serve` (a new state directory) to its first answer, the "(server)" row.

Runs a fresh server in a temporary REMEDLAB_HOME, deploys each app several
times (down between runs) and prints a table. Targets on 2 cores: simple-micro
and hotel-reservation under 3 s (hotel-reservation
in 1.5 GB); social-network and media-microservices under 6 s and 1.5 GB; online-boutique
under 5 s; train-ticket (46 services, two MariaDB servers) under 15 s and 3 GB; flower Ready and its first
federated round finished under 20 s (the "first round" column: seconds from `up` to the round's end).
RSS counts pages shared between processes (a database's shared buffers, the
interpreter's libraries) once per process; PSS shares them out, so the PSS
total is what the pods really take from the host.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess

TARGETS = {
    "simple-micro": (3.0, None),
    "hotel-reservation": (3.0, 1.5 * 2**30),
    "online-boutique": (5.0, None),
    "social-network": (6.0, 1.5 * 2**30),
    "media-microservices": (6.0, 1.5 * 2**30),
    "train-ticket": (15.0, 3.0 * 2**30),
    "flower": (20.0, None),
}
FIRST_ROUND_TIMEOUT = 180.0


def _first_round(server: ServerProcess, namespace: str, started: float) -> float | None:
    """Seconds from ``started`` until the ServerApp's exporter counts a finished round (flower only)."""
    if namespace != "flower":
        return None
    ip = server.get("services", namespace, "serverapp")["spec"]["clusterIP"]
    while time.monotonic() - started < FIRST_ROUND_TIMEOUT:
        try:
            text = httpx.get(f"http://{ip}:9100/metrics", timeout=2).text
        except httpx.HTTPError:
            text = ""
        if re.search(r"^flower_rounds_total [1-9]", text, re.M):
            return time.monotonic() - started
        time.sleep(0.25)
    return float("inf")


def _memory_of_namespace(server: ServerProcess, namespace: str) -> tuple[int, int, int]:
    """(RSS, PSS, processes) summed over the namespace's pods' processes."""
    rss = pss = 0
    members = server.namespace_processes(namespace)
    for member in members:
        try:
            info = member.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss, pss, len(members)


def _verdict(app: str, ready_p50: float, rss: float) -> str:
    seconds, memory = TARGETS.get(app, (None, None))
    checks = []
    if seconds is not None:
        checks.append(f"ready {'ok' if ready_p50 <= seconds else 'MISSED'} (<= {seconds:g}s)")
    if memory is not None:
        checks.append(f"memory {'ok' if rss <= memory else 'MISSED'} (<= {memory / 2**30:g} GiB)")
    return ", ".join(checks) or "-"


SERVER_TARGET_S = 1.0


def _server_start_seconds(runs: int) -> list[float]:
    """From `remedlab serve` in a new state directory to its first answer, ``runs`` times."""
    times = []
    for _ in range(runs):
        server = ServerProcess()
        try:
            started = time.monotonic()
            server.start()
            times.append(time.monotonic() - started)
        finally:
            server.cleanup()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", nargs="+", default=list(TARGETS))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server_times = _server_start_seconds(args.runs)
    server = ServerProcess()
    rows = []
    try:
        server.start()
        for app in args.apps:
            ready_times: list[float] = []
            wall_times: list[float] = []
            rss: list[int] = []
            pss: list[int] = []
            processes = 0
            first_rounds: list[float] = []
            for _ in range(args.runs):
                started = time.monotonic()
                done = subprocess.run(
                    [sys.executable, "-m", "remedlab.cli.main", "up", app],
                    env=server.env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                wall = time.monotonic() - started
                if done.returncode != 0:
                    print(done.stdout, done.stderr, file=sys.stderr)
                    return 1
                result = server.ok("POST", f"/v1/apps/{app}/deploy", {"wait": True})
                namespace = result["namespace"]
                seconds = float(done.stdout.split("(")[1].split("s to Ready")[0])
                ready_times.append(seconds)
                first = _first_round(server, namespace, started)
                if first is not None:
                    first_rounds.append(first)
                wall_times.append(wall)
                time.sleep(1.5)  # let the sampler see the pods settled
                used = _memory_of_namespace(server, namespace)
                rss.append(used[0])
                pss.append(used[1])
                processes = used[2]
                subprocess.run(
                    [sys.executable, "-m", "remedlab.cli.main", "down", app],
                    env=server.env,
                    capture_output=True,
                    check=True,
                )
            rows.append(
                (
                    app,
                    args.runs,
                    statistics.median(ready_times),
                    max(ready_times),
                    statistics.median(wall_times),
                    statistics.median(rss) / 2**20,
                    statistics.median(pss) / 2**20,
                    processes,
                    statistics.median(first_rounds) if first_rounds else None,
                )
            )
    finally:
        server.cleanup()
    print(
        f"{'app':<18} {'runs':>4} {'ready p50 s':>11} {'ready max s':>11} {'cli wall p50 s':>14} "
        f"{'procs':>5} {'RSS MiB':>8} {'PSS MiB':>8} {'first round s':>13}  target"
    )
    server_p50 = statistics.median(server_times)
    verdict = f"start {'ok' if server_p50 <= SERVER_TARGET_S else 'MISSED'} (<= {SERVER_TARGET_S:g}s)"
    dashes = f"{'-':>14} {'-':>5} {'-':>8} {'-':>8} {'-':>13}"
    print(f"{'(server)':<18} {args.runs:>4} {server_p50:>11.2f} {max(server_times):>11.2f} {dashes}  {verdict}")
    for app, runs, p50, worst, wall, rss_mib, pss_mib, procs, first in rows:
        verdict = _verdict(app, p50 if first is None else first, rss_mib * 2**20)
        round_cell = "-" if first is None else f"{first:.2f}"
        print(
            f"{app:<18} {runs:>4} {p50:>11.2f} {worst:>11.2f} {wall:>14.2f} "
            f"{procs:>5} {rss_mib:>8.1f} {pss_mib:>8.1f} {round_cell:>13}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
