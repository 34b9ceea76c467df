"""Where remedlab keeps its state: `$REMEDLAB_HOME` (default `~/.remedlab`)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    raw = os.environ.get("REMEDLAB_HOME")
    path = Path(raw).expanduser() if raw else Path.home() / ".remedlab"
    return path.resolve()


def ensure_home() -> Path:
    path = home()
    path.mkdir(parents=True, exist_ok=True)
    return path
