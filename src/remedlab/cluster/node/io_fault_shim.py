"""The control file of the pod shim's IO faults (native/iofault.c): what the shim applies to files
a container opened before an IOChaos mounted the fault filesystem over its volume.

Layout (little-endian, as the C struct): a sequence counter (odd while being written), a count,
then up to four faults of host path prefix, optional glob, delay, percent, errno and method bits.
"""

from __future__ import annotations

import errno as errno_codes
import os
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from remedlab.api.durations import parse_duration, parse_percent

MAX_FAULTS = 4
HEADER = struct.Struct("<II")
FAULT = struct.Struct("<256s128sQiiII")
SIZE = HEADER.size + MAX_FAULTS * FAULT.size
READ, WRITE, SYNC = 1, 2, 4
METHOD_BITS = {"read": READ, "write": WRITE, "fsync": SYNC, "flush": SYNC}
ALL_METHODS = READ | WRITE | SYNC


def create_control_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.stat().st_size != SIZE:
        path.write_bytes(bytes(SIZE))
    os.chmod(path, 0o644)


def shim_entry(spec: Mapping[str, Any], host_dir: str) -> bytes | None:
    """One IOChaos fault as the shim's entry, or None when the shim has nothing to do for it
    (attribute overrides, or only methods other than read, write and sync)."""
    action = spec.get("action")
    if action not in ("latency", "fault"):
        return None
    methods = [str(m) for m in spec.get("methods") or []]
    bits = ALL_METHODS if not methods else 0
    for method in methods:
        bits |= METHOD_BITS.get(method, 0)
    if bits == 0:
        return None
    delay = parse_duration(str(spec["delay"])) if action == "latency" and spec.get("delay") else 0.0
    err = int(spec.get("errno", errno_codes.EIO)) if action == "fault" else 0
    glob = str(spec.get("path") or "")
    if glob and not glob.startswith("/"):
        glob = f"{host_dir.rstrip('/')}/{glob}"
    percent = max(1, min(100, round(parse_percent(spec.get("percent", 100)))))
    prefix = host_dir.rstrip("/").encode()
    if len(prefix) >= 256 or len(glob.encode()) >= 128:
        return None
    return FAULT.pack(prefix, glob.encode(), round(delay * 1e9), percent, err, bits, 0)


def write_faults(path: Path, entries: Iterable[bytes]) -> None:
    """Replace the faults in the control file; running processes see the change at once."""
    faults = list(entries)[:MAX_FAULTS]
    with path.open("r+b") as handle:
        sequence = HEADER.unpack(handle.read(HEADER.size))[0]
        odd = sequence | 1
        handle.seek(0)
        handle.write(struct.pack("<I", odd))
        handle.flush()
        handle.seek(HEADER.size)
        handle.write(b"".join(faults).ljust(MAX_FAULTS * FAULT.size, b"\0"))
        handle.seek(4)
        handle.write(struct.pack("<I", len(faults)))
        handle.seek(0)
        handle.write(struct.pack("<I", odd + 1))
        handle.flush()
