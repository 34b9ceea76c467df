"""Per-pod bind mounts of persistent volumes.

As root, each pod sees a persistent volume through a bind mount of its own
under the pod's directory, so a fault mounted over it (an IO fault) is bound to
that pod instance, as Chaos Mesh's is; the next pod mounts the volume afresh.
With a mount namespace per pod, every volume directory of the pod is a shared
mount point (`share`): a mount made over it on the host later (an IO fault)
propagates to the pod's namespace, whose copies are its slaves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from remedlab.cluster.node.isolation.linux_calls import MS_BIND, MS_SHARED, mount

MOUNTINFO = Path("/proc/self/mountinfo")


def bind_mounts_available() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None and shutil.which("umount") is not None


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first."""
    try:
        text = MOUNTINFO.read_text()
    except OSError:
        return []
    base = str(root.resolve()).rstrip("/")
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 4:
            point = _unescape(parts[4])
            if point == base or point.startswith(base + "/"):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


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


def unmount_all(root: Path, rounds: int = 16) -> bool:
    """Unmount everything at or below `root` (lazily when busy); True when nothing is left mounted.

    Mounts may be stacked on one mount point (an IO fault over a volume's bind
    mount): each round takes off the topmost ones.
    """
    for _ in range(rounds):
        points = mounts_under(root)
        if not points:
            return True
        for point in points:
            with contextlib.suppress(OSError):
                done = subprocess.run(["umount", str(point)], capture_output=True, check=False)
                if done.returncode != 0:
                    subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
    return not mounts_under(root)


def remove_pod_dir(directory: Path) -> bool:
    """Delete a pod's directory, never descending into a volume that is still mounted."""
    if not unmount_all(directory):
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True
