"""The Kubernetes API of the embedded cluster under the real kubectl and a watch, in one run:

- `kubectl get pods` wall time with a warm discovery cache (goal: p50 <= 60 ms), beside
  `kubectl version --client` (the binary's own start, no request) for the share the server adds;
- a pod deleted -> its replacement's ADDED event on a watch (goal: p50 <= 50 ms);
- one list of 1,000 pods, as JSON and as the Table kubectl asks for (goal: <= 100 ms).
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.kubectl_harness import real_kubectl
from tests.integration.server_harness import ServerProcess

RUNS = 30
DELETES = 20
LIST_PODS = 1000
NS = "simple-micro"


def _p50(values: list[float]) -> float:
    return statistics.median(values)


def _kubectl_times(env: dict[str, str], argv: list[str]) -> list[float]:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm the discovery cache
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


class Api:
    """Plain HTTPS requests with the admin token and the cluster's CA, as any client makes them."""

    def __init__(self, server: ServerProcess) -> None:
        record = json.loads((server.home / "server.json").read_text())
        self.base = record["kubeUrl"]
        self.token = server.token("admin")
        self.context = ssl.create_default_context(cafile=str(server.home / "pki" / "ca.crt"))

    def request(self, method: str, path: str, body: Any = None, accept: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.context, timeout=120) as response:
            return json.loads(response.read())

    def stream(self, path: str) -> Any:
        req = urllib.request.Request(self.base + path)
        req.add_header("Authorization", f"Bearer {self.token}")
        return urllib.request.urlopen(req, context=self.context, timeout=300)


def _replacement_latencies(api: Api) -> list[float]:
    """Delete a pod; time until the watch reports its replacement ADDED."""
    pods = api.request("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dhello-service")
    rv = pods["metadata"]["resourceVersion"]
    added: dict[str, float] = {}
    seen = threading.Event()
    response = api.stream(
        f"/api/v1/namespaces/{NS}/pods?watch=true&labelSelector=app%3Dhello-service&resourceVersion={rv}"
    )

    def read() -> None:
        # the stream ends when the benchmark closes it: reading then fails, which ends this thread
        with contextlib.suppress(OSError, ValueError, AttributeError):
            for line in response:
                event = json.loads(line)
                if event["type"] == "ADDED":
                    added[event["object"]["metadata"]["name"]] = time.perf_counter()
                    seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    latencies = []
    for _ in range(DELETES):
        current = [
            p["metadata"]["name"]
            for p in api.request("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dhello-service")["items"]
            if not p["metadata"].get("deletionTimestamp")
        ]
        before = set(added)
        seen.clear()
        started = time.perf_counter()
        api.request("DELETE", f"/api/v1/namespaces/{NS}/pods/{current[0]}", {"gracePeriodSeconds": 0})
        deadline = time.monotonic() + 10
        while not set(added) - before and time.monotonic() < deadline:
            seen.wait(0.5)
            seen.clear()
        new = set(added) - before
        if new:
            latencies.append((added[new.pop()] - started) * 1000)
        time.sleep(0.3)
    response.close()
    return latencies


def _list_times(api: Api) -> tuple[list[float], list[float]]:
    api.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    for i in range(LIST_PODS):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"bench-{i:04d}", "labels": {"app": "bench", "n": str(i)}},
            # bound to a node that does not exist: stored and listed, never run
            "spec": {"nodeName": "absent-node", "containers": [{"name": "c", "image": "remedlab/pause:3.9"}]},
        }
        api.request("POST", "/api/v1/namespaces/bench/pods", pod)
    json_times, table_times = [], []
    table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    for _ in range(10):
        started = time.perf_counter()
        items = api.request("GET", "/api/v1/namespaces/bench/pods")["items"]
        json_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        rows = api.request("GET", "/api/v1/namespaces/bench/pods", accept=table)["rows"]
        table_times.append((time.perf_counter() - started) * 1000)
        assert len(items) == len(rows) == LIST_PODS
    return json_times, table_times


def main() -> int:
    server = ServerProcess()
    results: list[tuple[str, float, float, str]] = []
    try:
        server.start()
        server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90})
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "KUBECONFIG": str(server.home / "kubeconfig"), "KUBECACHEDIR": cache}
            kubectl = real_kubectl()
            client_only = _kubectl_times(env, [kubectl, "version", "--client"])
            get_pods = _kubectl_times(env, [kubectl, "get", "pods", "-n", NS])
        floor = _p50(client_only)
        results.append(("kubectl version --client (no request)", floor, max(client_only), "-"))
        p50 = _p50(get_pods)
        results.append(
            ("kubectl get pods, warm discovery", p50, max(get_pods), f"<= 60 ms: {'yes' if p50 <= 60 else 'NO'}")
        )
        api = Api(server)
        latencies = _replacement_latencies(api)
        p50 = _p50(latencies)
        results.append(
            (f"pod deleted -> replacement ADDED ({len(latencies)})", p50, max(latencies),
             f"<= 50 ms: {'yes' if p50 <= 50 else 'NO'}")
        )  # fmt: skip
        json_times, table_times = _list_times(api)
        for label, times in (("list 1,000 pods (JSON)", json_times), ("list 1,000 pods (Table)", table_times)):
            p50 = _p50(times)
            results.append((label, p50, max(times), f"<= 100 ms: {'yes' if p50 <= 100 else 'NO'}"))
    finally:
        server.cleanup()
    print(f"{'measure':<44} {'p50 ms':>8} {'max ms':>8}  goal")
    for label, p50, worst, goal in results:
        print(f"{label:<44} {p50:>8.1f} {worst:>8.1f}  {goal}")
    print(f"server's share of `kubectl get pods`: {results[1][1] - results[0][1]:.1f} ms over the binary's own start")
    return 0


if __name__ == "__main__":
    sys.exit(main())
