"""Address management: cluster IPs for Services and pod IPs, all on loopback.

The whole of 127.0.0.0/8 routes to the loopback interface on Linux, so every
Service and every pod gets an address of its own without any privilege.
Each cluster picks its two /16 ranges once and keeps them in the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

from remedlab.cluster.apiserver.store import Store


class AddressPool:
    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        self._used: set[str] = set()

    def reserve(self, addresses: Iterable[str]) -> None:
        for address in addresses:
            if address and ipaddress.IPv4Address(address) in self.network:
                self._used.add(address)

    def allocate(self) -> str:
        for host in self.network.hosts():
            text = str(host)
            if host.packed[-1] in (0, 255) or text in self._used:
                continue
            self._used.add(text)
            return text
        raise RuntimeError(f"address range {self.network} is exhausted")

    def release(self, address: str | None) -> None:
        if address:
            self._used.discard(address)


def node_address(pod_cidr: str) -> str:
    """The node's own loopback address: ``127.<pod range's second octet>.255.254``.

    Each cluster draws its pod range at random, so clusters sharing a host get
    node addresses of their own (for node-local endpoints such as the trace receiver).
    The pod pool must reserve it.
    """
    network = ipaddress.IPv4Network(pod_cidr)
    second = network.network_address.packed[1]
    return f"127.{second}.255.254"


RANGE_LOCKS = Path(tempfile.gettempdir()) / "remedlab-address-ranges"
_held: dict[int, int] = {}


def claim_range(second: int) -> bool:
    """Hold the host-wide lock of the ranges ``127.<second>`` and ``127.<second + 1>`` for as long as
    this process lives (the kernel drops it when the process ends), so that clusters running at once
    on one host never share addresses. False when another live cluster holds it."""
    if second in _held:
        return True
    try:
        RANGE_LOCKS.mkdir(mode=0o1777, exist_ok=True)
        with contextlib.suppress(PermissionError):
            os.chmod(RANGE_LOCKS, 0o1777)
        fd = os.open(RANGE_LOCKS / f"{second}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return True  # no shared lock directory: fall back to the random draw alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held[second] = fd
    return True


def cluster_ranges(store: Store) -> tuple[str, str]:
    """The (service CIDR, pod CIDR) of this cluster, chosen at its first start among the ranges no
    other running cluster on this host holds."""
    service_cidr = store.get_meta("service_cidr")
    pod_cidr = store.get_meta("pod_cidr")
    if service_cidr and pod_cidr:
        claim_range(ipaddress.IPv4Network(service_cidr).network_address.packed[1])
        return service_cidr, pod_cidr
    candidates = list(range(64, 250, 2))
    random.Random().shuffle(candidates)
    second = next((c for c in candidates if claim_range(c)), candidates[0])
    service_cidr = f"127.{second}.0.0/16"
    pod_cidr = f"127.{second + 1}.0.0/16"
    store.set_meta("service_cidr", service_cidr)
    store.set_meta("pod_cidr", pod_cidr)
    return service_cidr, pod_cidr
