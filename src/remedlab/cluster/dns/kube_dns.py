"""Service ``kube-system/kube-dns``: where pods reach the cluster DNS, as on Kubernetes. Its cluster IP
is the service range's 10th address when free; the node serves it itself (the service proxy leaves
it alone), so it selects no pod and has no Endpoints."""

from __future__ import annotations

import ipaddress

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.dns.zone import (
    DNS_PORT,
    DNS_SERVICE_HOST_INDEX,
    DNS_SERVICE_NAME,
    DNS_SERVICE_NAMESPACE,
    DNS_TCP_PORT_NAME,
    DNS_UDP_PORT_NAME,
)


def dns_service(cluster_ip: str | None) -> Obj:
    spec: Obj = {
        "ports": [
            {"name": DNS_UDP_PORT_NAME, "port": DNS_PORT, "protocol": "UDP", "targetPort": DNS_PORT},
            {"name": DNS_TCP_PORT_NAME, "port": DNS_PORT, "protocol": "TCP", "targetPort": DNS_PORT},
        ],
        "type": "ClusterIP",
    }
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": DNS_SERVICE_NAME,
            "namespace": DNS_SERVICE_NAMESPACE,
            "labels": {
                "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
            },
        },
        "spec": spec,
    }


def ensure_dns_service(api: ObjectAPI, store: Store, service_cidr: str) -> str:
    """The cluster IP of Service kube-dns, created when missing."""
    existing = store.get("Service", DNS_SERVICE_NAMESPACE, DNS_SERVICE_NAME)
    if existing is not None and existing["spec"].get("clusterIP") not in (None, "", "None"):
        return str(existing["spec"]["clusterIP"])
    if existing is not None:
        api.delete("services", DNS_SERVICE_NAMESPACE, DNS_SERVICE_NAME)
    preferred = str(ipaddress.IPv4Network(service_cidr).network_address + DNS_SERVICE_HOST_INDEX)
    taken = {str(s["spec"].get("clusterIP")) for s in store.list_objects("Service")}
    created = api.create(dns_service(None if preferred in taken else preferred))
    return str(created["spec"]["clusterIP"])
