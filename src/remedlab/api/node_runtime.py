"""How a node says it is remedlab's own (its container runtime is remedlab's): such nodes run an
`image:` through remedlab's image map, and their cluster carries out every chaos kind itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REMEDLAB_RUNTIME = "remedlab://"
"""The prefix of ``status.nodeInfo.containerRuntimeVersion`` on remedlab's nodes."""


def is_remedlab_cluster(nodes: Iterable[dict[str, Any]]) -> bool:
    """Are all these nodes (at least one) remedlab's?"""
    runtimes = [str(((n.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "")) for n in nodes]
    return bool(runtimes) and all(r.startswith(REMEDLAB_RUNTIME) for r in runtimes)
