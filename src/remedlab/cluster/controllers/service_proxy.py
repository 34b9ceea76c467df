"""The node's service proxy (kube-proxy's part): each Service's cluster IP and ports, served by the
dataplane and forwarded to its Endpoints' Ready addresses.

Triggered by the changes of a Service and of its Endpoints (same key); a
Service without a cluster IP (headless) or gone is taken off the dataplane, and so is one the node
serves itself (kube-dns). Only TCP ports are proxied.
"""

from __future__ import annotations

from typing import Any

from remedlab.api.kinds import Obj
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.dataplane.dataplane import Dataplane, Endpoint, ServicePortMap

Programmed = tuple[str, list[ServicePortMap]]
"""A service as the dataplane serves it: its cluster IP and its ports."""


def _subset_port(subset: dict[str, Any], name: str | None) -> int | None:
    for port in subset.get("ports") or []:
        if port.get("name") == name or (name is None and len(subset.get("ports") or []) == 1):
            return int(port["port"])
    return None


def service_ports(svc: Obj, endpoints: Obj | None) -> list[ServicePortMap]:
    """Each port of a Service with the Ready addresses its Endpoints give for it."""
    ports = []
    for sp in svc["spec"].get("ports") or []:
        if str(sp.get("protocol") or "TCP") != "TCP":
            continue
        members: list[Endpoint] = []
        for subset in (endpoints or {}).get("subsets") or []:
            port = _subset_port(subset, sp.get("name"))
            if port is None:
                continue
            for address in subset.get("addresses") or []:
                uid = (address.get("targetRef") or {}).get("uid", "")
                members.append(Endpoint(uid, address["ip"], port))
        ports.append(ServicePortMap(int(sp["port"]), tuple(members)))
    return ports


class ServiceProxy(QueueController[str]):
    def __init__(
        self,
        informers: InformerFactory,
        dataplane: Dataplane,
        events: EventRecorder,
        node_served: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__("kube-proxy", events)
        self.dataplane = dataplane
        self.node_served = node_served
        """Keys of the Services whose cluster IP the node serves itself."""
        self.services = informers.informer("Service")
        self.endpoints = informers.informer("Endpoints")
        self.programmed: dict[str, Programmed] = {}
        self.services.add_handler(EventHandler.each(self._enqueue))
        self.endpoints.add_handler(EventHandler.each(self._enqueue))

    def _enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def involved_object(self, key: str) -> Obj | None:
        return self.services.get(key)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        ip = (svc or {}).get("spec", {}).get("clusterIP")
        if svc is None or not ip or ip == "None" or key in self.node_served:
            if key in self.programmed:
                await self.dataplane.remove_service(key)
                del self.programmed[key]
            return
        wanted: Programmed = (ip, service_ports(svc, self.endpoints.get(key)))
        if self.programmed.get(key) != wanted:
            await self.dataplane.set_service(key, wanted[0], wanted[1])
            self.programmed[key] = wanted
