"""Wall time of kubectl-compatible CLI invocations against a live server (target: < 300 ms each)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess

RUNS = 20


def main() -> int:
    bindir = Path(sys.executable).parent
    commands = {
        "kubectl get pods": [str(bindir / "kubectl"), "get", "pods", "-n", "simple-micro"],
        "kubectl get deploy -o wide": [str(bindir / "kubectl"), "get", "deploy", "-n", "simple-micro", "-o", "wide"],
        "kubectl describe deploy": [
            str(bindir / "kubectl"),
            "describe",
            "deploy",
            "hello-service",
            "-n",
            "simple-micro",
        ],
        "remedlab kubectl get pods": [str(bindir / "remedlab"), "kubectl", "get", "pods", "-n", "simple-micro"],
    }
    server = ServerProcess()
    rows = []
    try:
        server.start()
        server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
        for label, argv in commands.items():
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                subprocess.run(argv, env=server.env, capture_output=True, check=True)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            rows.append((label, statistics.median(times), times[int(len(times) * 0.9) - 1], times[-1]))
    finally:
        server.cleanup()
    print(f"{'command':<28} {'runs':>5} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8} {'< 300 ms':>9}")
    for label, p50, p90, worst in rows:
        print(f"{label:<28} {RUNS:>5} {p50:>8.0f} {p90:>8.0f} {worst:>8.0f} {'yes' if p90 < 300 else 'NO':>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
