"""How a fault shows to users and in the service metrics, then clears once stopped: the check the
apps' fault tests share (a fault under a background load, against a baseline taken just before)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from remedlab.observe.workload.stats import Summary
from tests.integration.load_harness import BackgroundLoad
from tests.integration.server_harness import ServerProcess


def service_sample(server: ServerProcess, namespace: str, service: str) -> dict[str, Any] | None:
    """The latest metrics sample of ``service`` with traffic in it."""
    query = f"namespace={namespace}&service={service}&seconds=20"
    items = server.ok("GET", f"/v1/metrics/services?{query}")["items"]
    samples = [s for item in items for s in item["samples"] if s["requestRate"] and s["p95Ms"] is not None]
    return dict(samples[-1]) if samples else None


def front_end_mean(load: BackgroundLoad, kind: str, seconds: float) -> float:
    summary: Summary | None = load.window_by_kind(seconds).get(kind)
    assert summary is not None and summary.requests >= 5 and summary.mean_ms is not None, summary
    return summary.mean_ms


@dataclass(frozen=True)
class Symptom:
    """How a fault on ``target`` shows: requests of ``kind`` slower at the front end, and
    ``service``'s own latency (p95) in the service metrics."""

    fault: str
    target: str
    kind: str
    service: str
    overrides: tuple[str, ...] = ()
    min_extra_ms: float = 5.0
    rate: float = 30.0  # the background load, req/s: an app whose requests cross many services takes less


def shows_and_clears(server: ServerProcess, url: str, namespace: str, symptom: Symptom) -> None:
    """Inject ``symptom.fault`` under a background load (``symptom.rate``); it must slow ``symptom.kind`` at the
    front end and raise ``symptom.service``'s p95, then both must come back near the baseline once it stops."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with BackgroundLoad(host, int(port), namespace, rate=symptom.rate) as load:
        time.sleep(4)
        base_front = front_end_mean(load, symptom.kind, 4)
        base_sample = server.wait_for(lambda: service_sample(server, namespace, symptom.service), timeout=10)
        base_p95 = float(base_sample["p95Ms"])
        body = {
            "fault": symptom.fault,
            "target": symptom.target,
            "namespace": namespace,
            "set": list(symptom.overrides),
        }
        status, chaos = server.request("POST", "/v1/chaos", body)
        assert status == 201 and chaos["confirm"]["injected"], chaos
        name = chaos["metadata"]["name"]
        seen: list[tuple[float, float]] = []
        try:

            def slow() -> tuple[float, float] | None:
                front = front_end_mean(load, symptom.kind, 3)
                sample = service_sample(server, namespace, symptom.service)
                p95 = float(sample["p95Ms"]) if sample else 0.0
                seen.append((round(front, 1), p95))
                slower = front >= max(1.5 * base_front, base_front + symptom.min_extra_ms)
                return (front, p95) if slower and p95 > max(base_p95, 1.5 * base_p95) else None

            time.sleep(1.0)
            what = f"{symptom.fault} to show (from {base_front:.1f} ms, p95 {base_p95:.1f} ms)"
            try:
                front, p95 = server.wait_for(slow, timeout=25, interval=1.0, what=what)
            except AssertionError as exc:
                raise AssertionError(f"{exc}; seen (front-end mean ms, {symptom.service} p95 ms): {seen}") from None
        finally:
            server.ok("DELETE", f"/v1/chaos/{namespace}/{name}")
        print(
            f"{symptom.fault} on {symptom.target}: {symptom.kind} mean {base_front:.1f} -> {front:.1f} ms, "
            f"{symptom.service} p95 {base_p95:.1f} -> {p95:.1f} ms"
        )

        # back near the baseline: the margins leave room for a busy host, not for the fault's own delay
        after_seen: list[tuple[float, float]] = []

        def cleared() -> tuple[float, float] | None:
            front = front_end_mean(load, symptom.kind, 3)
            sample = service_sample(server, namespace, symptom.service)
            p95 = float(sample["p95Ms"]) if sample else float("inf")
            after_seen.append((round(front, 1), p95))
            back = front <= max(2 * base_front, base_front + 30) and p95 <= max(3 * base_p95, base_p95 + 30)
            return (front, p95) if back else None

        time.sleep(3.0)
        try:
            after = server.wait_for(cleared, timeout=45, interval=1.0, what=f"{symptom.fault} to clear")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; seen after it stopped: {after_seen}") from None
        print(f"  after it stopped: {symptom.kind} mean {after[0]:.1f} ms, {symptom.service} p95 {after[1]:.1f} ms")
        window = load.window(3)
        assert window.success_rate >= 0.99, window
