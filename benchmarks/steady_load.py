"""Each app's workload mix at a steady rate with no fault: how much succeeds, how fast, and what it costs.

Runs a fresh server in a temporary REMEDLAB_HOME, deploys each app, warms it up, then sends the app's
mix (the same one `remedlab load` and the oracle use) open-loop at the app's rate and prints a table:
requests, success rate, latency percentiles, and the CPU the app's pods and the server spent per
second. Targets on 2 cores, with nothing else running: train-ticket at 20 req/s, and hotel-reservation,
online-boutique, social-network and media-microservices at 50 req/s, succeed at >= 99.9 %.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess

from remedlab.apps.catalog import get_app
from remedlab.observe.workload.generator import LoadProfile, Target, WorkloadRunner
from remedlab.observe.workload.mix import load_app_mix
from remedlab.observe.workload.stats import Summary

# app: (rate in req/s, success-rate goal or None)
RATES: dict[str, tuple[float, float | None]] = {
    "simple-micro": (50.0, None),
    "hotel-reservation": (50.0, 0.999),
    "online-boutique": (50.0, 0.999),
    "social-network": (50.0, 0.999),
    "media-microservices": (50.0, 0.999),
    "train-ticket": (20.0, 0.999),
}


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def _measure(target: Target, app: str, rate: float, seconds: float, warmup: float) -> Summary:
    runner = WorkloadRunner(target, load_app_mix(get_app(app)), LoadProfile(rate=rate, duration=warmup + seconds + 5))
    await runner.start()
    try:
        await asyncio.sleep(warmup + seconds + 1.5)
        return runner.window(seconds)
    finally:
        await runner.stop(drain=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", nargs="+", default=list(RATES))
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    server = ServerProcess()
    rows: list[tuple[str, float, Summary, float, float]] = []
    try:
        server.start()
        server_process = psutil.Process(server.proc.pid) if server.proc else None
        for app in args.apps:
            rate, _ = RATES[app]
            info = get_app(app)
            mix = load_app_mix(info)
            print(f"{app}: deploying", file=sys.stderr, flush=True)
            namespace = server.ok("POST", f"/v1/apps/{app}/deploy", {"wait": True})["namespace"]
            assert mix.service is not None and mix.port is not None, f"{app}'s mix names no Service"
            ip = server.get("services", namespace, mix.service)["spec"]["clusterIP"]
            pods = server.namespace_processes(namespace)
            print(f"{app}: {rate:g} req/s for {args.seconds:g} s", file=sys.stderr, flush=True)
            pods_before = _cpu_seconds(pods)
            server_before = _cpu_seconds([server_process]) if server_process else 0.0
            started = time.monotonic()
            summary = asyncio.run(_measure(Target(ip, mix.port), app, rate, args.seconds, args.warmup))
            elapsed = time.monotonic() - started
            pods_cores = (_cpu_seconds(pods) - pods_before) / elapsed
            server_cores = (_cpu_seconds([server_process]) - server_before) / elapsed if server_process else 0.0
            rows.append((app, rate, summary, pods_cores, server_cores))
            server.ok("DELETE", f"/v1/apps/{app}")
    finally:
        server.cleanup()
    print(
        f"{'app':<18} {'req/s':>5} {'requests':>8} {'success':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'pods cores':>10} {'server cores':>12}  target"
    )
    for app, rate, summary, pods_cores, server_cores in rows:
        goal = RATES[app][1]
        verdict = "-" if goal is None else f"{'ok' if summary.success_rate >= goal else 'MISSED'} (>= {goal:.1%})"
        print(
            f"{app:<18} {rate:>5g} {summary.requests:>8} {summary.success_rate:>8.2%} {summary.p50_ms or 0:>7.1f} "
            f"{summary.p95_ms or 0:>7.1f} {summary.p99_ms or 0:>7.1f} {pods_cores:>10.2f} {server_cores:>12.2f}  "
            f"{verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
