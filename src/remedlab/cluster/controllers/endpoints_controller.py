"""Service → Endpoints: the Ready pods behind each Service port."""

from __future__ import annotations

from typing import Any

from remedlab.api.conditions import is_ready, is_terminating
from remedlab.api.kinds import Obj
from remedlab.api.labels import matches_labels
from remedlab.cluster.apiserver.store import Store


def resolve_target_port(pod: Obj, target: int | str) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


MANAGED_BY = "endpoints.remedlab.io/managed-by"


class EndpointsController:
    def __init__(self, store: Store) -> None:
        self.store = store

    def reconcile(self) -> None:
        services = self.store.list_objects("Service")
        wanted: set[tuple[str, str]] = set()
        pods_by_ns: dict[str, list[Obj]] = {}
        for svc in services:
            ns = svc["metadata"]["namespace"]
            selector = svc["spec"].get("selector") or {}
            if not selector:
                continue
            wanted.add((ns, svc["metadata"]["name"]))
            if ns not in pods_by_ns:
                pods_by_ns[ns] = self.store.list_objects("Pod", ns)
            self._sync(svc, pods_by_ns[ns])
        # a Service without a selector keeps the Endpoints written for it by hand, as in Kubernetes
        services_by_key = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services}
        for ep in self.store.list_objects("Endpoints"):
            key = (ep["metadata"]["namespace"], ep["metadata"]["name"])
            managed = (ep["metadata"].get("labels") or {}).get(MANAGED_BY) == "endpoints-controller"
            if key not in wanted and (key not in services_by_key or managed):
                self.store.delete("Endpoints", *key)

    def _sync(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        selector = svc["spec"].get("selector") or {}
        subsets: dict[tuple[tuple[str | None, int], ...], dict[str, Any]] = {}
        for pod in pods:
            ip = pod.get("status", {}).get("podIP")
            if not ip or not matches_labels(selector, pod["metadata"].get("labels") or {}):
                continue
            if is_terminating(pod):
                continue
            ports: list[tuple[str | None, int]] = []
            for sp in svc["spec"].get("ports") or []:
                target = resolve_target_port(pod, sp.get("targetPort", sp["port"]))
                if target is not None:
                    ports.append((sp.get("name"), target))
            if not ports:
                continue
            key = tuple(ports)
            subset = subsets.setdefault(key, {"addresses": [], "notReadyAddresses": []})
            address = {
                "ip": ip,
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "name": pod["metadata"]["name"],
                    "namespace": ns,
                    "uid": pod["metadata"]["uid"],
                },
            }
            subset["addresses" if is_ready(pod) else "notReadyAddresses"].append(address)
        out = []
        for ports_key, subset in sorted(subsets.items(), key=lambda kv: str(kv[0])):
            entry: dict[str, Any] = {
                "ports": [
                    {"port": port, "protocol": "TCP", **({"name": pname} if pname else {})} for pname, port in ports_key
                ]
            }
            for field in ("addresses", "notReadyAddresses"):
                if subset[field]:
                    entry[field] = sorted(subset[field], key=lambda a: a["ip"])
            out.append(entry)
        desired: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {**(svc["metadata"].get("labels") or {}), MANAGED_BY: "endpoints-controller"},
            },
            "subsets": out,
        }
        live = self.store.get("Endpoints", ns, name)
        if live is None:
            self.store.create(desired)
        elif live.get("subsets", []) != out:
            live["subsets"] = out
            self.store.update(live)
