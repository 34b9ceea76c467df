"""Ids made without a database, as the original's unique-id and user services make them.

An id is 16 hex digits read as a number (its top bit cleared): 3 for the machine (a hash of the
host's identity and the process id), 10 for the milliseconds since 2018-01-01 and 3 for a counter
within the millisecond. Two processes on different machines, or one process in different
milliseconds, never make the same id; a process makes at most 4096 ids per millisecond before the
counter wraps.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time

CUSTOM_EPOCH_MS = 1514764800000
MASK_63 = 0x7FFFFFFFFFFFFFFF


def machine_id(identity: str, pid: int) -> str:
    """Three hex digits for a host (its pod IP, else its name) and a process."""
    return hashlib.sha256(f"{identity}:{pid}".encode()).hexdigest()[:3]


def this_machine() -> str:
    identity = os.environ.get("REMEDLAB_POD_IP", "").strip() or socket.gethostname()
    return machine_id(identity, os.getpid())


def compose_id(machine: str, timestamp_ms: int, counter: int) -> int:
    """The id of the ``counter``-th id made in millisecond ``timestamp_ms`` (since the custom epoch)."""
    digits = machine[-3:].rjust(3, "0") + f"{timestamp_ms:010x}"[-10:] + f"{counter:03x}"[-3:]
    return int(digits, 16) & MASK_63


class IdMaker:
    """Ids of one process: call :meth:`next` for each (not safe across threads; services are async)."""

    def __init__(self, machine: str | None = None) -> None:
        self.machine = machine or this_machine()
        self._last_ms = -1
        self._counter = 0

    def next(self, now_ms: int | None = None) -> int:
        now = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) - CUSTOM_EPOCH_MS
        if now > self._last_ms:
            self._last_ms, self._counter = now, 0
        else:  # the same millisecond, or the clock stepped back: count on from the last one seen
            self._counter += 1
        return compose_id(self.machine, self._last_ms, self._counter)
