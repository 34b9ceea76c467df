"""Where remedlab keeps its state: `$REMEDLAB_HOME` (default `~/.remedlab`)."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_HOME = Path("/var/lib/remedlab")


def home() -> Path:
    """`$REMEDLAB_HOME`; else `~/.remedlab`, or `/var/lib/remedlab` for root.

    Root's home directory is private (mode 0700), and pods of a root server run
    as an unprivileged user that must reach their volumes and working dirs.
    """
    raw = os.environ.get("REMEDLAB_HOME")
    if raw:
        return Path(raw).expanduser().resolve()
    if os.geteuid() == 0:
        return SYSTEM_HOME
    return (Path.home() / ".remedlab").resolve()


def ensure_home() -> Path:
    path = home()
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        path.chmod(0o755)
    return path


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_file(path: Path) -> Path:
    """``path``, created when missing, readable and writable by its owner only (mode 0600).

    ``$REMEDLAB_HOME`` must stay traversable (pods reach their volumes under it), so what only the
    server may read (the cluster's objects, with every fault and its ground truth; the access log,
    which names the admin's requests) is kept from pods, and so from agents' ``kubectl exec``, by its
    own mode. A pod running as the server's own user (a server that is not root) still reads it:
    ``remedlab doctor`` says when pods run so.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return path


def private_database(path: Path) -> Path:
    """A SQLite database file made private (see :func:`private_file`), with its side files: SQLite
    creates a WAL or journal with the database's mode, and one left by an earlier run is fixed here."""
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return path
