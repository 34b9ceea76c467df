"""The `kubernetes` backend: a cluster reached through its Kubernetes API with a kubeconfig (k3s, kind,
a cloud, or another remedlab's embedded cluster). Everything goes through the API: objects, watches,
logs, exec, ``metrics.k8s.io``. The cluster's Chaos Mesh carries the chaos objects out, so this
backend has no fault runtime; nothing runs on this machine for the pods."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from remedlab.api.client import PatchType
from remedlab.api.errors import AlreadyExists, BadRequest, ClusterError, NotFound
from remedlab.api.fault_runtime import FaultRuntime
from remedlab.api.fidelity_check import FidelityCheck
from remedlab.api.kinds import BY_KIND, BY_PLURAL, KindInfo, api_path, resolve
from remedlab.api.labels import matches_selector_string
from remedlab.api.node_runtime import is_remedlab_cluster
from remedlab.api.pod_log_options import LogOptions
from remedlab.api.rollout_readiness import READY_KINDS, app_ready, ready_counts
from remedlab.kube.api_client import KubeApi
from remedlab.kube.api_watch import ApiWatch, typed
from remedlab.kube.cluster_checks import CRD_PATH, cluster_checks
from remedlab.kube.kubeconfig_reader import load_kubeconfig
from remedlab.kube.metrics_history import MetricsHistory, current_usage
from remedlab.kube.pod_exec import exec_in_pod
from remedlab.kube.service_tunnel import ServiceTunnel

Obj = dict[str, Any]
ServiceAccess = Literal["auto", "cluster-ip", "port-forward"]
SERVICE_ACCESS: tuple[ServiceAccess, ...] = ("auto", "cluster-ip", "port-forward")
FIELD_MANAGER = "remedlab"
READY_POLL_SECONDS = 1.0
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES: dict[str, str] = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


def kind_info(resource: str) -> KindInfo:
    info = BY_PLURAL.get(resource) or BY_KIND.get(resource) or resolve(resource)
    if info is None:
        raise NotFound(f'the server doesn\'t have a resource type "{resource}"')
    return info


def object_kind(obj: Obj) -> KindInfo:
    info = BY_KIND.get(str(obj.get("kind") or ""))
    if info is None or (obj.get("apiVersion") and obj["apiVersion"] != info.api_version):
        raise BadRequest(f"no kind {obj.get('kind')!r} in {obj.get('apiVersion')!r} among the kinds remedlab drives")
    return info


class KubeBackend:
    name = "kubernetes"

    def __init__(
        self,
        kubeconfig: Path,
        context: str | None = None,
        otlp_endpoint: str | None = None,
        service_access: ServiceAccess = "auto",
        own_kinds: Sequence[Obj] = (),
    ) -> None:
        self.own_kinds = list(own_kinds)
        """CustomResourceDefinitions of the chaos kinds only remedlab carries out (FunctionalChaos): on a
        cluster that is not remedlab's, they are created at start and this server carries them out."""
        self._chaos_kinds: frozenset[str] = frozenset()
        self._own_kinds_problem = ""
        self.service_access = service_access
        """How the server reaches Services: their cluster IPs, port-forward tunnels, or (auto) cluster IPs
        when they are on this machine's loopback (a remedlab cluster here), tunnels otherwise."""
        self.tunnels: dict[tuple[str, str, int], ServiceTunnel] = {}
        self.otlp_endpoint = otlp_endpoint
        """Where the server receives the pods' spans (the apps it deploys are told so), if anywhere."""
        self.creds = load_kubeconfig(kubeconfig, context)
        self.api = KubeApi(self.creds)
        self.history = MetricsHistory(self.api)

    async def start(self) -> None:
        self.history.start()
        nodes = await asyncio.to_thread(self.list_objects, "nodes")
        if self.own_kinds and not is_remedlab_cluster(nodes):
            await asyncio.to_thread(self._define_own_kinds)

    def _define_own_kinds(self) -> None:
        for crd in self.own_kinds:
            try:
                self.api.request("POST", CRD_PATH, body=crd)
            except AlreadyExists:
                pass
            except ClusterError as exc:
                self._own_kinds_problem = (
                    f"cannot define {crd['metadata']['name']} ({exc.message}): use an admin's kubeconfig"
                )
                return
        self._chaos_kinds = frozenset(str(crd["spec"]["names"]["kind"]) for crd in self.own_kinds)

    def chaos_kinds(self) -> frozenset[str]:
        return self._chaos_kinds

    async def stop(self) -> None:
        for tunnel in self.tunnels.values():
            await tunnel.stop()
        self.tunnels.clear()
        await self.history.stop()
        await self.api.aclose()

    # ------------------------------------------------------------------ objects

    def list_objects(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        info = kind_info(resource)
        params = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v}
        answer = self.api.request("GET", api_path(info, namespace), params=params)
        return [typed(info, item) for item in answer.get("items") or []]

    def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        info = kind_info(resource)
        return typed(info, self.api.request("GET", api_path(info, namespace, name)))

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        info = object_kind(obj)
        ns = obj.get("metadata", {}).get("namespace") or namespace
        return typed(info, self.api.request("POST", api_path(info, ns), body=obj))

    def replace(self, obj: Obj, namespace: str | None = None) -> Obj:
        info = object_kind(obj)
        ns = obj["metadata"].get("namespace") or namespace
        return typed(info, self.api.request("PUT", api_path(info, ns, obj["metadata"]["name"]), body=obj))

    def apply(self, objects: list[Any], namespace: str | None = None, dry_run: bool = False) -> list[dict[str, str]]:
        """Server-side apply of each object in order (created, configured or unchanged), as remedlab's
        field manager, taking over fields others set."""
        results: list[dict[str, str]] = []
        for doc in objects:
            if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
                raise BadRequest("every document must be an object with metadata")
            info = object_kind(doc)
            ns = (doc["metadata"].get("namespace") or namespace) if info.namespaced else None
            body = {**doc, "apiVersion": info.api_version, "metadata": {**doc["metadata"]}}
            if ns:
                body["metadata"]["namespace"] = ns
            name = str(doc["metadata"].get("name") or "")
            path = api_path(info, ns, name)
            try:
                before = str(self.api.request("GET", path)["metadata"].get("resourceVersion"))
            except NotFound:
                before = ""
            params: dict[str, str] = {"fieldManager": FIELD_MANAGER, "force": "true"}
            if dry_run:
                params["dryRun"] = "All"
            after = self.api.request("PATCH", path, params=params, body=body, content_type=APPLY_PATCH)
            version = str(after["metadata"].get("resourceVersion"))
            action = "created" if not before else "unchanged" if version == before else "configured"
            results.append({"kind": info.kind, "name": name, "namespace": ns or "", "action": action})
        return results

    def patch(self, resource: str, namespace: str | None, name: str, patch_type: PatchType, patch: Any) -> Obj:
        info = kind_info(resource)
        answer = self.api.request(
            "PATCH", api_path(info, namespace, name), body=patch, content_type=PATCH_TYPES[patch_type]
        )
        return typed(info, answer)

    def delete(self, resource: str, namespace: str | None, name: str, grace_seconds: int | None = None) -> Obj:
        info = kind_info(resource)
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        answer = self.api.request("DELETE", api_path(info, namespace, name), body=body)
        return typed(info, answer) if answer.get("kind") != "Status" else answer

    def update_status(self, resource: str, namespace: str | None, name: str, status: dict[str, Any]) -> Obj:
        info = kind_info(resource)
        path = api_path(info, namespace, name, "status")
        return typed(info, self.api.request("PATCH", path, body={"status": status}, content_type=PATCH_TYPES["merge"]))

    def watch(self, resources: Sequence[str], namespace: str | None = None) -> ApiWatch:
        return ApiWatch(self.api, [kind_info(r) for r in resources], namespace)

    # ------------------------------------------------------------------ pods

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        path = api_path(BY_KIND["Pod"], namespace, name, "log")
        return str(self.api.request("GET", path, params=options.query()))

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], timeout: float
    ) -> tuple[str, str, int]:
        return await exec_in_pod(self.api, namespace, name, container, command, timeout)

    # ------------------------------------------------------------------ metrics

    def top_pods(self, namespace: str | None = None, label_selector: str | None = None) -> list[dict[str, Any]]:
        usage = current_usage(self.api, namespace)
        if label_selector:
            labels = {
                (p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"].get("labels") or {}
                for p in self.list_objects("pods", namespace)
            }
            usage = [
                u
                for u in usage
                if matches_selector_string(label_selector, labels.get((u.namespace, u.name)) or {})
                and (u.namespace, u.name) in labels
            ]
        return sorted((u.top_item() for u in usage), key=lambda i: (i["namespace"], i["name"]))

    def pod_metrics(self, namespace: str | None, name: str | None, seconds: float) -> list[dict[str, Any]]:
        return self.history.history(namespace, name, seconds)

    # ------------------------------------------------------------------ health

    def doctor(self) -> list[dict[str, str]]:
        traces = (
            FidelityCheck("traces", "full", f"the apps deployed here export OTLP to {self.otlp_endpoint}")
            if self.otlp_endpoint
            else FidelityCheck(
                "traces",
                "none",
                "no OTLP endpoint for the cluster's pods (serve --otlp-listen HOST:PORT): traces and the call "
                "topology are absent",
            )
        )
        own = ", ".join(sorted(str(crd["spec"]["names"]["kind"]) for crd in self.own_kinds)) or "none"
        if self._own_kinds_problem:
            carried = FidelityCheck("remedlab's chaos kinds", "none", self._own_kinds_problem)
        elif self._chaos_kinds:
            carried = FidelityCheck(
                "remedlab's chaos kinds", "full", f"{own}: carried out by this server through the API"
            )
        else:
            carried = FidelityCheck(
                "remedlab's chaos kinds", "full", f"{own}: carried out by the cluster (remedlab's own)"
            )
        return [check.as_dict() for check in [*cluster_checks(self.api), traces, carried]]

    def action_user(self) -> tuple[int, int] | None:
        return None  # agents' commands reach the cluster through its API only

    def action_preexec(self) -> Callable[[], None] | None:
        return None

    def fault_runtime(self) -> FaultRuntime | None:
        return None  # the cluster's Chaos Mesh carries the faults out

    def _workloads(self, namespace: str) -> list[Obj]:
        return [w for kind in READY_KINDS for w in self.list_objects(BY_KIND[kind].plural, namespace)]

    async def wait_namespace_ready(self, namespace: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if app_ready(await asyncio.to_thread(self._workloads, namespace)):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(READY_POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def namespace_ready(self, namespace: str) -> tuple[int, int]:
        return ready_counts(self._workloads(namespace))

    async def service_address(self, namespace: str, service: str, port: int) -> tuple[str, int]:
        spec = (await asyncio.to_thread(self.get, "services", namespace, service)).get("spec") or {}
        ip = str(spec.get("clusterIP") or "None")
        direct = self.service_access == "cluster-ip" or (
            self.service_access == "auto" and ip != "None" and ipaddress.ip_address(ip).is_loopback
        )
        if direct:
            if ip == "None":
                raise BadRequest(f'service "{service}" has no cluster IP (a headless Service): name one that has')
            return ip, port
        key = (namespace, service, port)
        tunnel = self.tunnels.get(key)
        if tunnel is None:
            tunnel = self.tunnels[key] = ServiceTunnel(self.api, namespace, service, port)
            await tunnel.start()
        return "127.0.0.1", tunnel.local_port
