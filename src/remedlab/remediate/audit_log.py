"""The audit log of agents' actions: one JSON line per probe, command or playbook, appended.

Each line holds the time, the token's scope, the kind of action, what was asked
and how it ended (refused and why, or exit code, time taken, timed out). The
file is readable by its owner only; lines are written whole, under a lock,
so concurrent actions never interleave.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_FIELD = 8 * 1024
"""Characters kept of any one text field (a command, an output) in a line."""


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return value[:MAX_FIELD] + f"... [{len(value) - MAX_FIELD} more characters]"
    if isinstance(value, Mapping):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    return value


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, kind: str, scope: str, request: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
        """Append one action; returns the line written."""
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "unix": round(time.time(), 3),
            "scope": scope,
            "kind": kind,
            "request": _short(request),
            "outcome": _short(dict(outcome)),
        }
        text = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        return line

    def lines(self) -> Iterator[dict[str, Any]]:
        """Every recorded action, oldest first (lines that do not parse are skipped)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue
