"""Finding services the two Kubernetes ways: a Service's name through the cluster DNS, and its
``<SVC>_SERVICE_HOST`` / ``<SVC>_SERVICE_PORT`` variables.

A ``host:port`` (``redis-cart:6379``) resolves through the cluster DNS whenever the process's resolver
is set up for a cluster (its search list names ``<ns>.svc.<domain>``, as in every pod); elsewhere
(a process started by hand, without a pod's resolver) through the Service's variables, which the
kubelet sets in every pod too. Answers are kept for the cluster DNS's TTL.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

CACHE_SECONDS = 5.0
"""How long an answer is kept: the cluster DNS's TTL."""
RESOLV_CONF = Path("/etc/resolv.conf")
POD_RESOLV_CONF_ENV = "REMEDLAB_RESOLV_CONF"
"""Where a pod without a mount namespace of its own finds its resolv.conf (the preloaded shim's)."""


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
    """``host:port`` as a service would configure it (``redis-cart:6379``), resolved.

    A host that is an IP address is used as it is. A name resolves through the cluster DNS in a pod
    (``environ`` not given), or else to the cluster IP of the Service its first label names (its
    ``*_SERVICE_HOST`` variable in ``environ``); the port is the one written in ``address``.
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
    if environ is None and _RESOLVER.in_cluster():
        return _RESOLVER.lookup(host), port
    name = host.split(".", 1)[0]  # redis-cart.online-boutique.svc.cluster.local -> redis-cart
    resolved = env.get(f"{env_prefix(name)}_SERVICE_HOST", "").strip()
    if not resolved:
        raise ServiceNotFoundError(name, f"no such Service in this namespace ({env_prefix(name)}_SERVICE_HOST not set)")
    return resolved, port


def cluster_search(resolv_conf: str) -> bool:
    """Is a resolver with this resolv.conf set up for a cluster (a ``<ns>.svc.<domain>`` search)?"""
    for line in resolv_conf.splitlines():
        words = line.split()
        if words[:1] == ["search"] and any(".svc." in domain for domain in words[1:]):
            return True
    return False


class _DnsResolver:
    """Names looked up through the process's resolver (the cluster DNS in a pod), IPv4, cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[str, float]] = {}
        self._in_cluster: bool | None = None

    def in_cluster(self) -> bool:
        if self._in_cluster is None:
            path = Path(os.environ.get(POD_RESOLV_CONF_ENV) or RESOLV_CONF)
            try:
                self._in_cluster = cluster_search(path.read_text())
            except OSError:
                self._in_cluster = False
        return self._in_cluster

    def lookup(self, host: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(host)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            infos = socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ServiceNotFoundError(host.split(".", 1)[0], f"{host} does not resolve ({exc.strerror})") from None
        address = str(infos[0][4][0])
        with self._lock:
            self._answers[host] = (address, now + CACHE_SECONDS)
        return address


_RESOLVER = _DnsResolver()


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
