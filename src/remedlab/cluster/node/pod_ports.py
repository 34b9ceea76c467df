"""A pod's ports as `pods/portforward` reaches them: TCP connections to the pod's IP.

Pods listen on their own loopback address (127.x.y.z), so port-forward dials that address, as
the kubelet's runtime dials inside the pod's network namespace; the dataplane's connection hooks
(network faults) are not on the way, as tc rules on a pod's interface are not on the way of a real
port-forward. Nothing but a loopback address is ever dialled. Errors are worded as Go's dialer
words them, which is what a real cluster's port-forward reports: `dial tcp 127.0.2.5:8080:
connect: connection refused`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass

DIAL_TIMEOUT = 10.0
"""How long connecting to a pod's port may take."""


@dataclass(frozen=True)
class PodPortDialer:
    pod: str
    """The pod as the kubelet names it in errors: NAME_NAMESPACE."""
    uid: str
    ip: str

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the pod's `port`; OSError, its text saying why, when there is none."""
        address = f"{self.ip}:{port}"
        if not _is_loopback(self.ip):
            raise OSError(f"dial tcp {address}: the pod's IP is not a loopback address")
        try:
            async with asyncio.timeout(DIAL_TIMEOUT):
                return await asyncio.open_connection(self.ip, port)
        except TimeoutError:
            raise OSError(f"dial tcp {address}: i/o timeout") from None
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise OSError(f"dial tcp {address}: connect: {reason.lower()}") from None


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
