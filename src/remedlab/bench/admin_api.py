"""What the benchmark runner asks of the server with the admin token: deploy and check environments,
run the workload, inject, confirm and stop faults, restore manifests, and grade."""

from __future__ import annotations

from typing import Any

from remedlab import paths
from remedlab.agents.server_api import AgentApi
from remedlab.tokens import client_token

Obj = dict[str, Any]


class AdminApi(AgentApi):
    @classmethod
    def admin_from_env(cls, url: str | None = None, token: str | None = None) -> AdminApi:
        return cls(url, token or client_token(paths.home()), timeout=60.0)

    def apps(self) -> list[Obj]:
        return list(self.request("GET", "/v1/apps").get("apps") or [])

    def deploy(self, app: str, namespace: str, timeout: float = 180.0) -> Obj:
        body = {"namespace": namespace, "wait": True, "timeoutSeconds": timeout}
        return dict(self.request("POST", f"/v1/apps/{app}/deploy", body, timeout=timeout + 30))

    def delete_app(self, app: str, namespace: str) -> Obj:
        return dict(self.request("DELETE", f"/v1/apps/{app}", namespace=namespace, timeout=120))

    def inject(
        self, fault: str, target: str, namespace: str, seed: int | None = None, overrides: list[str] | None = None
    ) -> Obj:
        """Inject catalog fault ``fault`` on ``target``; ``overrides`` set its parameters (``key=value``)."""
        body = {"fault": fault, "target": target, "namespace": namespace, "seed": seed, "set": overrides or []}
        return dict(self.request("POST", "/v1/chaos", body))

    def chaos(self, namespace: str, name: str) -> Obj:
        return dict(self.request("GET", f"/v1/chaos/{namespace}/{name}"))

    def chaos_list(self, namespace: str) -> list[Obj]:
        return list(self.request("GET", "/v1/chaos", namespace=namespace).get("items") or [])

    def stop_chaos(self, namespace: str, name: str) -> Obj:
        return dict(self.request("DELETE", f"/v1/chaos/{namespace}/{name}", wait=True, timeout=120))

    def start_workload(self, namespace: str, rate: float, seed: int | None = None) -> Obj:
        return dict(self.request("POST", "/v1/workloads", {"namespace": namespace, "rate": rate, "seed": seed}))

    def workload(self, namespace: str, seconds: float) -> Obj:
        return dict(self.request("GET", f"/v1/workloads/{namespace}", seconds=seconds))

    def workload_seconds(self, namespace: str, since: float, until: float) -> list[Obj]:
        """The workload's per-second points between two Unix times."""
        answer = self.request("GET", f"/v1/workloads/{namespace}/seconds", since=since, until=until)
        return list(answer.get("points") or [])

    def stop_workload(self, namespace: str) -> Obj:
        return dict(self.request("DELETE", f"/v1/workloads/{namespace}"))

    def grade(self, body: Obj) -> Obj:
        timeout = float(body.get("timeoutSeconds", 120)) + 60
        return dict(self.request("POST", "/v1/grade", body, timeout=timeout))

    def check_status(self, namespace: str, app_label: str, failure_type: str, timeout: float) -> bool:
        """MicroRemed's check (its endpoint answers 200 with true or false)."""
        body = {"target_namespace": namespace, "app_label": app_label, "failure_type": failure_type, "timeout": timeout}
        return bool(self.request("POST", "/check_status", body, timeout=timeout + 300).get("message"))

    def restore(self, namespace: str, target: str, manifest_path: str = "") -> str:
        body = {"target_namespace": namespace, "target_pod": target, "manifest_path": manifest_path}
        return str(self.request("POST", "/restore_by_original_manifest", body, timeout=300).get("message"))
