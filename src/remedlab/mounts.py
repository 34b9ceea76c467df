"""The host's mount table: which mount points lie under a directory, and taking them off. Used by the
kubelet for pods' volumes and by whatever deletes a state directory a server left behind."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


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
                # --no-canonicalize: no stat of the mount point, which an IO fault's filesystem would delay
                done = subprocess.run(["umount", "-c", str(point)], capture_output=True, check=False)
                if done.returncode != 0:
                    subprocess.run(["umount", "-c", "-l", str(point)], capture_output=True, check=False)
    return not mounts_under(root)
