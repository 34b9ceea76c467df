"""Harness time per episode on hotel-reservation: everything an episode costs except the agent's own
time (health gate and baseline, injection and its confirmation, grading, stopping the fault and
restoring the manifests), per phase, over a few episodes of the easy suite with the baseline agent.

Grading includes the oracle's time to a verdict: the sequential oracle decides as soon as the
evidence does, within the settle window (15 s by default; --settle) at most. Target: a median harness
time of 8 s per episode, verdict included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import running_server

from remedlab.agents.server_api import AgentApi
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.episode import EpisodeSettings
from remedlab.bench.results import read_results
from remedlab.bench.runner import RunRequest, run_plan, start_run

TARGET_S = 8.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", default="hotel-reservation")
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with running_server(args.app) as server, tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        admin = AdminApi(server.url, server.token("admin"), timeout=60)
        agents = AgentApi(server.url, server.token("agent"))
        out = Path(tmp) / "run"
        settings = EpisodeSettings(method="baseline", seed=args.seed, settle_seconds=args.settle)
        request = RunRequest(app=args.app, suite="easy", method="baseline", seed=args.seed, experiments=args.episodes)
        start_run(admin, out, request, settings)
        run_plan(admin, agents, out)
        records = read_results(out)
    phases = ("gate", "inject", "grade", "cleanup")
    print(f"{args.app}, {len(records)} episodes of the easy suite, baseline agent, settle {args.settle:g}s")
    print(f"{'episode':<34} {'status':<10} {'agent s':>8} {'harness s':>10} " + " ".join(f"{p:>8}" for p in phases))
    for r in records:
        cells = " ".join(f"{r['phases'].get(p, 0.0):>8.1f}" for p in phases)
        name = f"#{r['index']} {r['fault']} on {r['target']}"
        print(f"{name:<34} {r['status']:<10} {r['remediation_seconds']:>8.1f} {r['harness_seconds']:>10.1f} {cells}")
    harness = [float(r["harness_seconds"]) for r in records]
    grading = [float(r["phases"].get("grade", 0.0)) for r in records]
    median = statistics.median(harness)
    print(
        f"median harness time per episode: {median:.1f}s, of which grading {statistics.median(grading):.1f}s "
        f"(target 8s: {'ok' if median <= TARGET_S else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
