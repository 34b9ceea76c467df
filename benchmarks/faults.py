"""Per fault type on simple-micro: time from injection to an observable symptom, and the symptom's size.

A fresh server runs simple-micro under an open-loop load of 20 req/s on /hello. For each fault the
script measures the baseline, injects into time-service, polls until the symptom shows (latency,
errors, CPU or memory, restarts, readiness), measures a 3 s window, stops the fault and waits for the
baseline to come back. Prints one table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess

from remedlab.observe.workload.stats import Summary

NS = "simple-micro"
TARGET = "time-service"


def _pod_samples(server: ServerProcess) -> list[dict[str, Any]]:
    pods = server.pods(NS, f"app={TARGET}")
    if not pods:
        return []
    name = pods[0]["metadata"]["name"]
    items = server.ok("GET", f"/v1/metrics/pods?namespace={NS}&name={name}&seconds=2")["items"]
    return list(items[0]["samples"]) if items else []


def _not_ready(server: ServerProcess) -> bool:
    for pod in server.pods(NS, f"app={TARGET}"):
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])
        if not ready:
            return True
    return False


def _restarted(server: ServerProcess, before: set[str]) -> bool:
    pods = server.pods(NS, f"app={TARGET}")
    if {p["metadata"]["uid"] for p in pods} != before:
        return True
    return any(s["restartCount"] > 0 for p in pods for s in p["status"].get("containerStatuses") or [])


Check = Callable[[ServerProcess, Summary, Summary, set[str]], str | None]


def _latency_or_errors(server: ServerProcess, window: Summary, base: Summary, _uids: set[str]) -> str | None:
    base_p95 = base.p95_ms or 1.0
    if window.success_rate < 0.95:
        return f"errors {100 * (1 - window.success_rate):.0f}%"
    if window.p95_ms is not None and window.p95_ms > max(5 * base_p95, 50):
        return f"p95 x{window.p95_ms / base_p95:.0f}"
    if window.in_flight > window.sent / 3:
        return f"{window.in_flight} requests stalled"
    return None


def _cpu(server: ServerProcess, _w: Summary, _b: Summary, _uids: set[str]) -> str | None:
    samples = _pod_samples(server)
    peak = max((s["cpuMillicores"] for s in samples), default=0)
    return f"cpu {peak:.0f}m (limit 500m)" if peak >= 400 else None


def _memory(server: ServerProcess, _w: Summary, _b: Summary, _uids: set[str]) -> str | None:
    samples = _pod_samples(server)
    peak = max((s["memoryBytes"] for s in samples), default=0)
    return f"memory {peak // 2**20}Mi" if peak >= 500 * 2**20 else None


def _readiness(server: ServerProcess, _w: Summary, _b: Summary, _uids: set[str]) -> str | None:
    return "a pod not Ready" if _not_ready(server) else None


def _restart(server: ServerProcess, _w: Summary, _b: Summary, uids: set[str]) -> str | None:
    return "restarted" if _restarted(server, uids) else None


FAULTS: list[tuple[str, tuple[str, ...], Check]] = [
    ("cpu-stress", (), _cpu),
    ("memory-stress", (), _memory),
    ("network-delay", (), _latency_or_errors),
    ("network-loss", (), _latency_or_errors),
    ("disk-io", (), _latency_or_errors),
    ("pod-fail", (), _latency_or_errors),
    ("pod-config-error", (), _readiness),
    ("pod-kill", (), _restart),
    ("container-kill", (), _restart),
    ("network-partition", (), _latency_or_errors),
    ("network-bandwidth", ("bandwidth.rate=1kbps",), _latency_or_errors),
    ("network-corrupt", (), _latency_or_errors),
    ("http-abort", (), _latency_or_errors),
    ("http-delay", (), _latency_or_errors),
]


def _settle(server: ServerProcess, load: BackgroundLoad, base: Summary) -> None:
    server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 120})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        window = load.measure(2)
        if window.success_rate >= 0.99 and (window.p95_ms or 0) <= max(5 * (base.p95_ms or 1), 60):
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faults", nargs="*", help="only these fault types")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a symptom")
    args = parser.parse_args()
    rows: list[tuple[str, float | None, str, str, str, str]] = []
    server = ServerProcess()
    try:
        server.start()
        server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
        ip = server.ok("GET", f"/v1/namespaces/{NS}/services/hello-service")["spec"]["clusterIP"]
        with BackgroundLoad(ip, 5000, "simple-micro", rate=20) as load:
            base = load.measure(3)
            for fault, overrides, check in FAULTS:
                if args.faults and fault not in args.faults:
                    continue
                _settle(server, load, base)
                uids = {p["metadata"]["uid"] for p in server.pods(NS, f"app={TARGET}")}
                started = time.monotonic()
                status, body = server.request(
                    "POST", "/v1/chaos", {"fault": fault, "target": TARGET, "namespace": NS, "set": list(overrides)}
                )
                if status != 201:
                    rows.append((fault, None, "-", "-", "-", f"refused: {body.get('message')}"))
                    continue
                name = body["metadata"]["name"]
                seen: str | None = None
                elapsed = None
                while time.monotonic() - started < args.timeout:
                    time.sleep(0.25)
                    seen = check(server, load.window(1), base, uids)
                    if seen:
                        elapsed = time.monotonic() - started
                        break
                window = load.measure(3)
                p95 = f"{window.p95_ms:.0f}" if window.p95_ms is not None else "-"
                errors = f"{100 * (1 - window.success_rate):.0f}%"
                rows.append((fault, elapsed, p95, errors, f"{window.in_flight}", seen or "no symptom"))
                server.ok("DELETE", f"/v1/chaos/{NS}/{name}")
    finally:
        server.cleanup()
    print(f"baseline: p50 {base.p50_ms:.1f} ms, p95 {base.p95_ms:.1f} ms, success {100 * base.success_rate:.1f}%")
    header = f"{'fault':<20} {'to symptom s':>12} {'p95 ms':>8} {'errors':>7} {'stalled':>8}  symptom"
    print(header)
    for fault, elapsed, p95, errors, stalled, seen in rows:
        to_symptom = f"{elapsed:.2f}" if elapsed is not None else "-"
        print(f"{fault:<20} {to_symptom:>12} {p95:>8} {errors:>7} {stalled:>8}  {seen}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
