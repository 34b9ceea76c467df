"""A server killed with SIGKILL comes back with the same objects, and no old pod process survives."""

from __future__ import annotations

import pytest

from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration


def test_sigkilled_server_restarts_with_same_objects_and_no_leftover_processes() -> None:
    server = ServerProcess()
    try:
        server.start()
        assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})["ready"]
        before = {p["metadata"]["name"]: p for p in server.pods("simple-micro")}
        old_processes = server.pod_processes()
        assert len(old_processes) >= 2
        old_pids = {p.pid for p in old_processes}
        services = {s["metadata"]["name"]: s["spec"]["clusterIP"] for s in server.items("services", "simple-micro")}

        server.kill()
        server.start()

        after = {p["metadata"]["name"]: p for p in server.pods("simple-micro")}
        assert set(after) == set(before)
        restored = {s["metadata"]["name"]: s["spec"]["clusterIP"] for s in server.items("services", "simple-micro")}
        assert restored == services

        def all_ready() -> bool:
            pods = server.pods("simple-micro")
            return len(pods) == 2 and all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
                for p in pods
            )

        server.wait_for(all_ready, 30, what="pods Ready again after the restart")
        alive_old = [p for p in server.pod_processes() if p.pid in old_pids]
        assert alive_old == [], f"processes of the old pods survived: {alive_old}"
        assert len(server.pod_processes()) == 2
    finally:
        server.cleanup()
    assert server.pod_processes() == []
