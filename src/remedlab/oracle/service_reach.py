"""Does a Service reach its pods on every port? Judged from its endpoints, and by connecting to them.

A Service whose targetPort was misconfigured keeps Ready endpoints, so pod health alone cannot tell
it is fixed: every port must target a container port its pods declare, have ready endpoint addresses,
and accept a connection at each of them. A connection refused is a failure; one that cannot be made
from where the server runs (a remote cluster's pod network) proves nothing and is not held against it.
"""

from __future__ import annotations

import socket
from typing import Any

from remedlab.api.client import Backend
from remedlab.api.errors import NotFound
from remedlab.chaos.functional.k8s_target_port_misconfig import port_problems

Obj = dict[str, Any]
CONNECT_TIMEOUT_SECONDS = 0.5


def _refused(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=CONNECT_TIMEOUT_SECONDS):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def service_reach_problems(backend: Backend, namespace: str, name: str) -> list[str]:
    try:
        service = backend.get("services", namespace, name)
    except NotFound:
        return [f"service {name} is gone"]
    problems = [f"service {name}: {p}" for p in port_problems(backend, service)]
    try:
        endpoints = backend.get("endpoints", namespace, name)
    except NotFound:
        return [*problems, f"service {name} has no endpoints"]
    for port in service["spec"].get("ports") or []:
        reached = False
        for subset in endpoints.get("subsets") or []:
            given = subset.get("ports") or []
            ports = [p for p in given if p.get("name") == port.get("name") or len(given) == 1]
            for address in subset.get("addresses") or []:
                for endpoint_port in ports:
                    if _refused(str(address["ip"]), int(endpoint_port["port"])):
                        problems.append(f"service {name}: {address['ip']}:{endpoint_port['port']} refuses connections")
                    else:
                        reached = True
        if not reached:
            problems.append(f"service {name} reaches no pod on port {port['port']}")
    return problems
