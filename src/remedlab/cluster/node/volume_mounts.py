"""Per-pod bind mounts of persistent volumes.

As root, each pod sees a persistent volume through a bind mount of its own
under the pod's directory, so a fault mounted over it (an IO fault) is bound to
that pod instance, as Chaos Mesh's is; the next pod mounts the volume afresh.
With a mount namespace per pod, every volume directory of the pod is a shared
mount point (`share`): a mount made over it on the host later (an IO fault)
propagates to the pod's namespace, whose copies are its slaves.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from remedlab.cluster.node.isolation.linux_calls import MS_BIND, MS_SHARED, mount
from remedlab.mounts import mounts_under, unmount_all


def bind_mounts_available() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None and shutil.which("umount") is not None


def bind_mount(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        mount(str(source), str(target), None, MS_BIND)
    except OSError as exc:
        raise OSError(f"cannot bind-mount {source} at {target}: {exc.strerror}") from None


def share(directory: Path, source: Path | None = None) -> None:
    """Make `directory` a shared mount point: a bind of `source` (itself by default) unless it is one."""
    if directory not in mounts_under(directory):
        bind_mount(source or directory, directory)
    try:
        mount(None, str(directory), None, MS_SHARED)
    except OSError as exc:
        raise OSError(f"cannot share the mount at {directory}: {exc.strerror}") from None


def remove_pod_dir(directory: Path) -> bool:
    """Delete a pod's directory, never descending into a volume that is still mounted."""
    if not unmount_all(directory):
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
