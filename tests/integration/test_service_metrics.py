"""Per-service request metrics end to end: the server scrapes simple-micro's pods and answers rates and latencies."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"


def send(url: str, count: int, spacing: float) -> list[int]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    statuses: list[int] = []
    for _ in range(count):
        try:
            with opener.open(url, timeout=5) as resp:
                resp.read()
                statuses.append(resp.status)
        except urllib.error.HTTPError as exc:
            exc.read()
            statuses.append(exc.code)
        time.sleep(spacing)
    return statuses


def latest(server: ServerProcess, service: str) -> dict[str, Any] | None:
    items = server.ok("GET", f"/v1/metrics/services?namespace={NS}&service={service}&seconds=30")["items"]
    samples = [s for item in items for s in item["samples"] if s["requestRate"] is not None]
    return dict(samples[-1]) if samples else None


def test_service_metrics_follow_traffic_and_errors() -> None:
    server = ServerProcess()
    try:
        server.start()
        server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
        hello_svc = server.get("services", NS, "hello-service")
        hello_url = f"http://{hello_svc['spec']['clusterIP']}:5000/hello"

        started = time.monotonic()
        statuses = send(hello_url, 100, 0.03)
        sent = time.monotonic()
        assert statuses.count(200) == 100
        print(f"100 requests in {sent - started:.2f}s")

        def busy() -> dict[str, Any] | None:
            sample = latest(server, "hello-service")
            return sample if sample and sample["requestRate"] > 0 and (sample["p95Ms"] or 0) > 0 else None

        sample = server.wait_for(busy, timeout=8.0, interval=0.2, what="hello-service's request rate")
        print(f"hello-service measured {time.monotonic() - sent:.2f}s after the burst: {sample}")
        assert sample["errorRate"] == 0 and sample["scrapeErrors"] == 0 and sample["targets"] == 1
        assert sample["p50Ms"] <= sample["p95Ms"] <= sample["p99Ms"]
        assert latest(server, "time-service") is not None  # hello-service's calls reach time-service

        table = server.cli("metrics", "-n", NS, "--since", "30s")
        assert "hello-service" in table and "time-service" in table and "CPU" in table
        pods = server.ok("GET", f"/v1/metrics/pods?namespace={NS}&seconds=30")["items"]
        assert {p["name"].rsplit("-", 2)[0] for p in pods} == {"hello-service", "time-service"}

        # ------------------------------------------------- without time-service, hello-service answers 503
        server.patch("deployments", NS, "time-service", {"spec": {"replicas": 0}})
        scaled = time.monotonic()
        deadline = scaled + 15.0
        failing: dict[str, Any] | None = None
        while time.monotonic() < deadline and failing is None:
            send(hello_url, 10, 0.03)
            sample = latest(server, "hello-service")
            if sample is not None and sample["errorRate"] > 0.5:
                failing = sample
        assert failing is not None, f"hello-service's error rate stayed low: {latest(server, 'hello-service')}"
        print(f"error rate {failing['errorRate']} {time.monotonic() - scaled:.2f}s after scaling to 0: {failing}")
        assert failing["upstreamErrors"].get("time-service")

        hello_pod = next(p for p in server.pods(NS, "app=hello-service"))["metadata"]["name"]
        assert "GET /hello" in server.cli("logs", hello_pod, "-n", NS, "--tail", "5")
        assert "ScalingReplicaSet" in server.cli("events", "-n", NS)
    finally:
        server.cleanup()
