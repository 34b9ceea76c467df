"""Wall time of one seeded run played in-process (one server, --parallel 1) and over Ray with 2 lanes
(a local Ray cluster; each lane a Ray actor with a server of its own), and the speed-up.

The driver's overhead per episode is the Ray run's wall time less the time its lanes spent in
episodes (the sum of the episodes' own times over the lanes), per episode: lane start-up (a server and
the app's deployment per lane), scheduling, and moving each episode's files to the driver.

    python benchmarks/ray_scaling.py [--episodes 8] [--lanes 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess

SHORT = ["--settle", "3", "--grade-timeout", "60", "--quiet-seconds", "2", "--seed", "7"]
FAULTS = ["pod-fail", "cpu-stress"]


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run failed: {done.stderr[-2000:]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--lanes", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="remedlab-ray-bench-"))
    suite = work / "suite.txt"
    suite.write_text("\n".join(FAULTS[i % len(FAULTS)] for i in range(args.episodes)) + "\n")
    base = [sys.executable, "-m", "remedlab.cli.main", "run", "--env", "simple-micro", "--suite", str(suite)]
    base += ["--method", "baseline", *SHORT]
    server = ServerProcess()
    server.start()
    try:
        local_out = work / "local"
        local_wall = _run([*base, "--out", str(local_out)], {**server.env, "COLUMNS": "200"})
    finally:
        server.stop()
    ray_out = work / "ray"
    ray_env = {**os.environ, "COLUMNS": "200", "REMEDLAB_HOME": str(work / "home"), "RAY_USAGE_STATS_ENABLED": "0"}
    ray_env.pop("RAY_ADDRESS", None)
    ray_command = [*base, "--out", str(ray_out), "--executor", "ray", "--parallel", str(args.lanes)]
    ray_wall = _run(ray_command, ray_env)
    rows = []
    for name, out, wall, lanes in (("in-process", local_out, local_wall, 1), ("ray", ray_out, ray_wall, args.lanes)):
        records = _records(out)
        busy = sum(float(r["total_seconds"]) for r in records) / lanes
        passed = sum(r["status"] == "success" for r in records)
        rows.append((name, lanes, len(records), passed, wall, wall / len(records), (wall - busy) / len(records)))
    print(f"{'executor':<11} {'lanes':>5} {'episodes':>8} {'passed':>6} {'wall s':>8} {'s/episode':>9} "
          f"{'overhead s/ep':>13} {'speed-up':>8}")  # fmt: skip
    for name, lanes, count, passed, wall, per, overhead in rows:
        print(
            f"{name:<11} {lanes:>5} {count:>8} {passed:>6} {wall:>8.1f} {per:>9.1f} {overhead:>13.1f} "
            f"{local_wall / wall:>7.2f}x"
        )
    # the same seed plays the same plan: each episode's fault, target and verdict, in-process and on Ray
    verdicts = [{r["index"]: (r["fault"], r["target"], r["status"]) for r in _records(o)} for o in (local_out, ray_out)]
    differ = [i for i in sorted(verdicts[0]) if verdicts[0][i] != verdicts[1].get(i)]
    print(f"same seed, in-process and on Ray: {len(verdicts[0]) - len(differ)} of {len(verdicts[0])} episodes alike")
    for index in differ:
        print(f"  #{index}: in-process {verdicts[0][index]}, ray {verdicts[1].get(index)}")


if __name__ == "__main__":
    main()
