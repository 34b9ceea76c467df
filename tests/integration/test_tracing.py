"""Distributed tracing end to end: simple-micro's pods export OTLP to the node's receiver, the API answers traces."""

from __future__ import annotations

import ipaddress
import os
import random
import time
from typing import Any

import pytest

from tests.integration.http_probe import call, trace_of
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"


def test_spans_flow_from_pods_to_the_trace_api() -> None:
    server = ServerProcess()
    try:
        server.start()
        (node,) = server.items("nodes")
        node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        assert ipaddress.IPv4Address(node_ip).is_loopback and node_ip.endswith(".255.254")

        server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})
        pods = {p["metadata"]["labels"]["app"]: p for p in server.pods(NS)}
        for pod in pods.values():
            # the node's address is the pods' hostIP, in the pod range but never a pod's own address
            assert pod["status"]["hostIP"] == node_ip != pod["status"]["podIP"]
            assert pod["status"]["podIP"].split(".")[1] == node_ip.split(".")[1]
        hello_svc = server.get("services", NS, "hello-service")
        hello_url = f"http://{hello_svc['spec']['clusterIP']}:5000/hello"

        # -------------------------------------------------------------- a healthy call, with a known trace id
        trace_id = f"{random.getrandbits(128):032x}"
        caller_span = f"{random.getrandbits(64) | 1:016x}"
        for _ in range(3):
            assert call(hello_url)[0] == 200
        assert call(hello_url, {"traceparent": f"00-{trace_id}-{caller_span}-01"})[0] == 200
        sent = time.monotonic()
        trace = server.wait_for(lambda: trace_of(server, trace_id, 3), timeout=6.0, what="the trace's spans")
        print(f"spans stored {time.monotonic() - sent:.2f}s after the request")
        hello_server, hello_client, time_server = trace["spans"]
        assert (hello_server["service"], hello_server["kind"], hello_server["operation"]) == (
            "hello-service",
            "SERVER",
            "GET /hello",
        )
        assert hello_server["parentSpanId"] == caller_span and hello_server["depth"] == 0
        assert (hello_client["service"], hello_client["kind"]) == ("hello-service", "CLIENT")
        assert hello_client["operation"] == "GET time-service /time"
        assert hello_client["parentSpanId"] == hello_server["spanId"] and hello_client["depth"] == 1
        assert hello_client["attributes"]["peer.service"] == "time-service"
        assert (time_server["service"], time_server["kind"], time_server["operation"]) == (
            "time-service",
            "SERVER",
            "GET /time",
        )
        assert time_server["parentSpanId"] == hello_client["spanId"] and time_server["depth"] == 2
        assert hello_server["attributes"]["http.response.status_code"] == 200
        assert all(s["status"] != "ERROR" for s in trace["spans"])
        assert {s["namespace"] for s in trace["spans"]} == {NS}
        assert hello_server["pod"] == pods["hello-service"]["metadata"]["name"]
        assert time_server["pod"] == pods["time-service"]["metadata"]["name"]
        assert hello_server["durationMs"] >= hello_client["durationMs"] >= time_server["durationMs"] > 0

        listed = server.ok("GET", f"/v1/traces?namespace={NS}&sinceSeconds=60&limit=50")["traces"]
        assert len(listed) >= 4
        ours = next(t for t in listed if t["traceId"] == trace_id)
        assert ours["rootService"] == "hello-service" and ours["rootOperation"] == "GET /hello"
        assert ours["spanCount"] == 3 and ours["error"] is False
        assert ours["services"] == ["hello-service", "time-service"]
        assert server.ok("GET", "/v1/traces?namespace=elsewhere")["traces"] == []
        # probes are not traced
        assert all(t["rootOperation"] != "GET /healthz" for t in listed)

        # -------------------------------------------------------------- time-service gone: an error trace
        server.patch("deployments", NS, "time-service", {"spec": {"replicas": 0}})
        server.wait_for(lambda: not server.pods(NS, "app=time-service"), timeout=15, what="time-service gone")
        status, body = call(hello_url)
        assert status == 503 and body["error"] == "time-service unavailable"

        def error_trace() -> list[dict[str, Any]]:
            query = f"/v1/traces?namespace={NS}&service=hello-service&errorsOnly=true&sinceSeconds=60"
            return list(server.ok("GET", query)["traces"])

        (failed,) = server.wait_for(error_trace, timeout=6.0, what="an error trace")
        assert failed["error"] is True and failed["services"] == ["hello-service"]
        spans = server.ok("GET", f"/v1/traces/{failed['traceId']}")["spans"]
        root, *attempts = spans
        assert root["kind"] == "SERVER" and root["status"] == "ERROR" and root["statusMessage"] == "HTTP 503"
        assert root["attributes"]["http.response.status_code"] == 503
        assert len(attempts) == 2  # hello-service retries once
        for attempt in attempts:
            assert attempt["kind"] == "CLIENT" and attempt["status"] == "ERROR" and attempt["depth"] == 1
            assert attempt["parentSpanId"] == root["spanId"] and attempt["statusMessage"]
        assert attempts[1]["attributes"]["http.request.resend_count"] == 1

        # -------------------------------------------------------------- the CLI
        table = server.cli("traces", "-n", NS, "--since", "2m", "--limit", "50")
        assert trace_id in table and failed["traceId"] in table
        errors_only = server.cli("traces", "-n", NS, "--errors")
        assert failed["traceId"] in errors_only and trace_id not in errors_only
        tree = server.cli("traces", "get", trace_id)
        lines = [line for line in tree.splitlines() if "GET" in line]
        assert len(lines) == 3 and "time-service" in lines[2]
        indents = [len(line) - len(line.lstrip(" │├└─")) for line in lines]
        assert indents[0] < indents[1] < indents[2]
        assert "ERROR" in server.cli("traces", "get", failed["traceId"])
    finally:
        server.cleanup()
    assert not os.path.exists(server.home)
