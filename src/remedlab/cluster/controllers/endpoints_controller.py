"""Service → Endpoints: the Ready pods behind each Service port.

Triggered by the Service's changes, its Endpoints' changes (an Endpoints left
without its Service goes), and each change of a pod its selector matches,
before or after the change.
"""

from __future__ import annotations

import contextlib
from typing import Any

from remedlab.api.conditions import is_ready, is_terminating
from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.api.labels import matches_labels
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController


def resolve_target_port(pod: Obj, target: int | str) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


MANAGED_BY = "endpoints.remedlab.io/managed-by"


class EndpointsController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, events: EventRecorder) -> None:
        super().__init__("endpoint-controller", events)
        self.store = store
        self.services = informers.informer("Service")
        self.endpoints = informers.informer("Endpoints")
        self.pods = informers.informer("Pod")
        self.services.add_handler(EventHandler.each(self._enqueue))
        self.endpoints.add_handler(EventHandler.each(self._enqueue))
        self.pods.add_handler(EventHandler.each(self._enqueue_services_of))

    def _enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def _enqueue_services_of(self, pod: Obj) -> None:
        labels = pod["metadata"].get("labels") or {}
        for svc in self.services.objects(pod["metadata"]["namespace"]):
            selector = svc["spec"].get("selector") or {}
            if selector and matches_labels(selector, labels):
                self.queue.add(key_of(svc))

    def involved_object(self, key: str) -> Obj | None:
        return self.services.get(key) or self.endpoints.get(key)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        if svc is not None and svc["spec"].get("selector"):
            self._sync(svc)
            return
        # a Service without a selector keeps the Endpoints written for it by hand, as in Kubernetes
        ep = self.endpoints.get(key)
        if ep is None:
            return
        managed = (ep["metadata"].get("labels") or {}).get(MANAGED_BY) == "endpoints-controller"
        if svc is None or managed:
            with contextlib.suppress(NotFound):
                self.store.delete("Endpoints", ep["metadata"]["namespace"], ep["metadata"]["name"])

    def _sync(self, svc: Obj) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        selector = svc["spec"].get("selector") or {}
        subsets: dict[tuple[tuple[str | None, int], ...], dict[str, Any]] = {}
        for pod in self.pods.objects(ns):
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
        live = self.endpoints.get(key_of(svc))
        if live is None:
            self.store.create(desired)
        elif live.get("subsets", []) != out:
            live = clone(live)
            live["subsets"] = out
            self.store.update(live, check_rv=True)
