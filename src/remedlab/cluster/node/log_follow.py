"""Following a container's log file as it grows: the node's side of `kubectl logs -f`.

The file is the container instance's current log, in the layout of `container_logs.py`
(`<RFC 3339 nano timestamp> <stream> <text>` per line). What is there already comes first (its
last `tail` lines, those since a moment), then each complete line the instance adds, polled every
POLL_SECONDS. It ends once `live()` turns false (the instance ended, the pod is gone) and the file
has been read one last time; a client that goes away ends it by closing the iterator.

When the log is trimmed under a reader (it outgrew its cap), the reader goes on from the trimmed
file's end: lines written in the last poll interval before the trim may be missed.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

POLL_SECONDS = 0.1


def _cutoff(since_seconds: float | None) -> bytes | None:
    if since_seconds is None:
        return None
    moment = datetime.now(UTC) - timedelta(seconds=since_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f").encode()


def _render(lines: Iterable[bytes], timestamps: bool, cutoff: bytes | None = None) -> bytes:
    """Stored lines (each ending in a newline) as `kubectl logs` prints them."""
    out = bytearray()
    for line in lines:
        stamp, _, rest = line.partition(b" ")
        _stream, _, text = rest.partition(b" ")
        if cutoff is not None and stamp[:26] < cutoff:
            continue
        out += stamp + b" " + text if timestamps else text
    return bytes(out)


async def follow_log_file(
    path: Path,
    live: Callable[[], bool],
    tail: int | None = None,
    since_seconds: float | None = None,
    timestamps: bool = False,
) -> AsyncIterator[bytes]:
    """The log at `path` so far, then its new lines until `live()` is false; nothing if there is no file."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        pending = data[end:]
        lines: Iterable[bytes] = data[:end].splitlines(keepends=True)
        if tail is not None and tail >= 0:
            lines = deque(lines, maxlen=tail)
        first = _render(lines, timestamps, _cutoff(since_seconds))
        if first:
            yield first
        while True:
            ended = not live()
            chunk = handle.read()
            if chunk:
                pending += chunk
                end = pending.rfind(b"\n") + 1
                if end:
                    text = _render(pending[:end].splitlines(keepends=True), timestamps)
                    pending = pending[end:]
                    if text:
                        yield text
            elif os.fstat(handle.fileno()).st_size < handle.tell():
                handle.seek(0, os.SEEK_END)  # trimmed under us: go on from its new end
                pending = b""
            if ended:
                return
            await asyncio.sleep(POLL_SECONDS)
