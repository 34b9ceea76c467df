"""Container paths of mounted volumes.

On the embedded cluster a volume is a host directory and the kubelet passes the
mapping in `REMEDLAB_MOUNTS` (container path -> host path); on Kubernetes the
variable is absent and container paths are used as they are.
"""

from __future__ import annotations

import json
import os


def container_path(path: str) -> str:
    """Where `path` (a path inside the container) lives on this host."""
    raw = os.environ.get("REMEDLAB_MOUNTS")
    if not raw:
        return path
    try:
        mounts: dict[str, str] = json.loads(raw)
    except ValueError:
        return path
    for mount_path in sorted(mounts, key=len, reverse=True):
        base = mount_path.rstrip("/") or "/"
        if path == base or path.startswith(base + "/"):
            return mounts[mount_path] + path[len(base) :]
    return path
