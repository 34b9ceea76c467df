"""Where the node keeps its volume claims' data: `$REMEDLAB_HOME/volumes`, which is a link to a
directory on the host's memory filesystem (`/dev/shm`) when one is there with room to spare.

Stores copy or create hundreds of files when they first start (a PostgreSQL cluster holds about a
thousand), and on some hosts creating a file on disk costs half a millisecond of kernel time: six
databases starting together then wait seconds for their copies. In memory the same copies take a tenth
of that. The data outlives pods and servers, as a claim's must, but not a reboot of the host.

The choice is made once per state directory, when the cluster first starts there, and kept by the link
itself: a state directory whose `volumes` is a plain directory keeps its claims on disk, and so does
any new one when `REMEDLAB_VOLUMES=disk`. A memory directory whose state directory is gone is removed
at the next start of any cluster of the same user (`forget_orphans`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import time
from pathlib import Path

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.mounts import mounts_under, unmount_all

VOLUMES = "volumes"
MEMORY_FS = Path("/dev/shm")
ENV = "REMEDLAB_VOLUMES"
MEMORY_MIN_FREE_BYTES = 2 * 2**30
OWNER_FILE = ".home"
ORPHAN_MIN_AGE_S = 60.0  # a directory just made may not have its link yet


def claims_root(home: Path) -> Path:
    """The directory holding every claim's data (the link's target, resolved)."""
    return (home / VOLUMES).resolve()


def place_claims(home: Path) -> Path:
    """Make `home/volumes` (a directory, or a link to memory) unless it is there, and return
    :func:`claims_root`. A link whose target went with a reboot gets a new, empty one."""
    link = home / VOLUMES
    if link.is_symlink():
        target = Path(os.readlink(link))
        if not target.is_dir():  # gone with a reboot: a new, empty one, or the disk when that cannot be
            with contextlib.suppress(OSError):
                target.parent.mkdir(mode=0o755)
            if _safe_base(target.parent):
                _make_memory_dir(target, home)
            else:
                link.unlink()
                link.mkdir()
        return claims_root(home)
    if not link.exists():
        memory = _memory_target(home)
        if memory is None:
            link.mkdir(parents=True, exist_ok=True)
        else:
            _make_memory_dir(memory, home)
            with contextlib.suppress(FileExistsError):  # another process placed it first
                link.symlink_to(memory)
    return claims_root(home)


def storage_check(home: Path) -> FidelityCheck:
    """What `remedlab doctor` says of it (for a state directory not used yet: what its first start does)."""
    link = home / VOLUMES
    in_memory = link.is_symlink() or (not link.exists() and _memory_target(home, create=False) is not None)
    if in_memory:
        return FidelityCheck(
            "volume storage", "full", f"claims' data in memory under {MEMORY_FS} (fast to create; lost when the "
            f"host reboots); {ENV}=disk keeps a new state directory's claims on disk",
        )  # fmt: skip
    return FidelityCheck("volume storage", "full", f"claims' data on disk at {claims_root(home)}")


def forget_orphans() -> list[Path]:
    """Remove the memory directories of this user whose state directory is gone or no longer links to
    them (after unmounting anything left on them); the directories removed."""
    base = _base(os.geteuid())
    removed: list[Path] = []
    if not _safe_base(base):
        return removed
    for entry in base.iterdir():
        with contextlib.suppress(OSError):
            if time.time() - entry.lstat().st_mtime < ORPHAN_MIN_AGE_S or _owned(entry):
                continue
            if unmount_all(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def remove_claims(home: Path) -> None:
    """For a state directory about to be deleted: its claims' data, wherever it is."""
    root = claims_root(home)
    if root.is_dir() and not mounts_under(root):
        shutil.rmtree(root, ignore_errors=True)


def remove_state_directory(home: Path) -> bool:
    """A state directory and its claims' data, wherever they are, the mounts on them taken off first;
    False (nothing removed) when a mount would not come off."""
    if not (unmount_all(claims_root(home)) and unmount_all(home)):
        return False
    remove_claims(home)
    shutil.rmtree(home, ignore_errors=True)
    return True


def _base(uid: int) -> Path:
    return MEMORY_FS / f"remedlab-{uid}"


def _memory_target(home: Path, create: bool = True) -> Path | None:
    if os.environ.get(ENV, "memory") == "disk":
        return None
    try:
        free = shutil.disk_usage(MEMORY_FS).free
    except OSError:
        return None
    if free < MEMORY_MIN_FREE_BYTES:
        return None
    base = _base(os.geteuid())
    if create:
        with contextlib.suppress(OSError):
            base.mkdir(mode=0o755)
    if (create or os.path.lexists(base)) and not _safe_base(base):
        return None
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]
    return base / digest


def _safe_base(base: Path) -> bool:
    """The per-user directory is a real directory of this user that nobody else may write: `/dev/shm` is
    writable by all, so anything else there may be another user's trap."""
    try:
        info = base.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def _make_memory_dir(target: Path, home: Path) -> None:
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chmod(target, 0o755)  # pods' unprivileged users traverse it to their volumes
    (target / OWNER_FILE).write_text(str(home.resolve()))


def _owned(entry: Path) -> bool:
    """Whether the state directory named in `entry` still links to it."""
    try:
        home = Path((entry / OWNER_FILE).read_text().strip())
        return Path(os.readlink(home / VOLUMES)) == entry
    except OSError:
        return False
