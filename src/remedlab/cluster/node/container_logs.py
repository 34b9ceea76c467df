"""Container logs on disk: the current and the previous instance, with timestamps.

Each line is stored as `<RFC 3339 nano timestamp> <stream> <text>`, the layout
of the kubelet's CRI logs, so `--timestamps` and `--since` can be answered.
"""

from __future__ import annotations

import os
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

MAX_LOG_BYTES = 10 * 2**20


def _timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


class ContainerLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.current = directory / "current.log"
        self.previous = directory / "previous.log"
        self._file: object | None = None

    def rotate(self) -> None:
        """A new container instance starts: its predecessor's log becomes `previous`."""
        if self.current.exists():
            os.replace(self.current, self.previous)
        self.current.touch()

    def write(self, stream: str, data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        stamp = _timestamp()
        lines = text.splitlines() or [""]
        with self.current.open("a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(f"{stamp} {stream} {line}\n")
            size = fh.tell()
        if size > MAX_LOG_BYTES:
            self._trim()

    def _trim(self) -> None:
        with self.current.open("rb") as fh:
            fh.seek(-MAX_LOG_BYTES // 2, os.SEEK_END)
            fh.readline()
            keep = fh.read()
        self.current.write_bytes(keep)

    def read(
        self,
        previous: bool = False,
        tail: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
    ) -> str | None:
        path = self.previous if previous else self.current
        if not path.exists():
            return None
        cutoff = None
        if since_seconds is not None:
            cutoff = (datetime.now(UTC) - timedelta(seconds=since_seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        lines: deque[str] | list[str] = deque(maxlen=tail) if tail is not None and tail >= 0 else []
        with path.open(encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                stamp, _, rest = raw.partition(" ")
                _stream, _, text = rest.partition(" ")
                if cutoff is not None and stamp[:26] < cutoff:
                    continue
                lines.append(f"{stamp} {text}" if timestamps else text)
        return "".join(lines)
