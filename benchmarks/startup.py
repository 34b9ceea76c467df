"""Time from `remedlab up <app>` to all pods Ready, and the memory the app's pods use.

Runs a fresh server in a temporary REMEDLAB_HOME, deploys each app several
times (down between runs) and prints a table. Target for simple-micro: under
3 s to Ready on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess


def _rss_of_namespace(server: ServerProcess, namespace: str) -> int:
    total = 0
    names = {p["metadata"]["name"] for p in server.pods(namespace)}
    for proc in server.pod_processes():
        try:
            if proc.environ().get("REMEDLAB_POD_NAME") in names:
                total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", nargs="+", default=["simple-micro"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = ServerProcess()
    rows = []
    try:
        server.start()
        for app in args.apps:
            ready_times, wall_times, rss = [], [], []
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
                wall_times.append(wall)
                time.sleep(1.5)  # let the sampler see the pods settled
                rss.append(_rss_of_namespace(server, namespace))
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
                )
            )
    finally:
        server.cleanup()
    print(
        f"{'app':<20} {'runs':>4} {'ready p50 s':>12} {'ready max s':>12} {'cli wall p50 s':>15} {'pods RSS MiB':>13}"
    )
    for app, runs, p50, worst, wall, mib in rows:
        print(f"{app:<20} {runs:>4} {p50:>12.2f} {worst:>12.2f} {wall:>15.2f} {mib:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
