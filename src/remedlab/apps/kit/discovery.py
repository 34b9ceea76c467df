"""Finding services the Kubernetes way: ``<SVC>_SERVICE_HOST`` / ``<SVC>_SERVICE_PORT``.

On the embedded cluster these point at the service's cluster IP on the
userspace proxy; on a real cluster the kubelet sets the same variables.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping


class ServiceNotFoundError(LookupError):
    """The environment does not say where a service is."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"service {service!r} is not discoverable: {detail}")
        self.service = service


def env_prefix(service: str) -> str:
    """The variable prefix for a service name: ``time-service`` -> ``TIME_SERVICE``."""
    return service.upper().replace("-", "_").replace(".", "_")


def service_address(name: str, environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """The ``(host, port)`` of service ``name`` from its ``*_SERVICE_HOST/PORT`` variables."""
    env = os.environ if environ is None else environ
    prefix = env_prefix(name)
    host_var, port_var = f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT"
    host, port_text = env.get(host_var, "").strip(), env.get(port_var, "").strip()
    if not host or not port_text:
        missing = " and ".join(var for var, val in ((host_var, host), (port_var, port_text)) if not val)
        raise ServiceNotFoundError(name, f"{missing} not set")
    try:
        port = int(port_text)
    except ValueError:
        raise ServiceNotFoundError(name, f"{port_var}={port_text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServiceNotFoundError(name, f"{port_var}={port} is out of range")
    return host, port


def resolve_address(address: str, environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """``host:port`` as a service would configure it (``redis-cart:6379``), resolved the way DNS would.

    A host that is an IP address is used as it is; a host that names a Service
    resolves to that Service's cluster IP (its ``*_SERVICE_HOST`` variable), the
    port being the one written in ``address``, as with cluster DNS.
    """
    env = os.environ if environ is None else environ
    host, sep, port_text = address.strip().rpartition(":")
    if not sep or not host:
        raise ServiceNotFoundError(address, "expected host:port")
    try:
        port = int(port_text)
    except ValueError:
        raise ServiceNotFoundError(address, f"{port_text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServiceNotFoundError(address, f"port {port} is out of range")
    host = host.strip("[]")
    if is_ip(host):
        return host, port
    name = host.split(".", 1)[0]  # redis-cart.online-boutique.svc.cluster.local -> redis-cart
    resolved = env.get(f"{env_prefix(name)}_SERVICE_HOST", "").strip()
    if not resolved:
        raise ServiceNotFoundError(name, f"no such Service in this namespace ({env_prefix(name)}_SERVICE_HOST not set)")
    return resolved, port


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
