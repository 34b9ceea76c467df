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
