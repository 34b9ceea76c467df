"""Per-container clock offsets (TimeChaos) through remedlab's preloaded pod shim.

The shim (native/timeshift.c, native/podbind.c which binds a pod's
loopback connections to its pod IP, and native/iofault.c which faults files a
container opened before an IOChaos) is compiled once per state directory with
the host's C compiler and preloaded into every container process; each
container gets an 8-byte offset file that the shim maps. Setting an offset shifts the
CLOCK_REALTIME that running processes read, at once. Statically linked
programs, and programs that read the clock without libc, do not see it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

SHIM_NAME = "libremedlab_timeshift"


SHIM_SOURCES = ("timeshift.c", "podbind.c", "iofault.c", "resolver.c")


def shim_sources() -> dict[str, str]:
    native = resources.files("remedlab.cluster.node").joinpath("native")
    return {name: native.joinpath(name).read_text() for name in SHIM_SOURCES}


def shim_cache() -> Path:
    """Where the host keeps compiled shims for every state directory: a new one copies the shim
    instead of compiling it again (compiling takes seconds). $REMEDLAB_SHIM_CACHE overrides it."""
    explicit = os.environ.get("REMEDLAB_SHIM_CACHE")
    return Path(explicit) if explicit else Path("/var/tmp") / f"remedlab-{os.geteuid()}" / "shims"


def build_shim(home: Path) -> tuple[Path | None, str]:
    """The shim in `home/lib` (compiled once per source version and host); (path, why not)."""
    sources = shim_sources()
    digest = hashlib.sha256("\0".join(sources.values()).encode()).hexdigest()[:12]
    target = home / "lib" / f"{SHIM_NAME}-{digest}.so"
    if target.exists():
        return target, ""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o755)
    cached = shim_cache() / target.name
    if not cached.exists():
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            cached = target  # no cache on this host: compile into the state directory
        built, why = _compile(sources, cached)
        if built is None:
            return None, why
    if cached != target:
        tmp = target.with_suffix(".copy")
        shutil.copyfile(cached, tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    return target, ""


def _compile(sources: dict[str, str], target: Path) -> tuple[Path | None, str]:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None, "no C compiler (install gcc) to build the clock shim"
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        paths = []
        for name, text in sources.items():
            src = work / name
            src.write_text(text)
            paths.append(str(src))
        tmp = work / target.name
        done = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", str(tmp), *paths, "-ldl"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None, f"building the clock shim failed: {done.stderr.strip()[:300]}"
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)  # whole or absent, whoever else builds it at the same time
        return target, ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def create_offset_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(struct.pack("<q", 0))
    os.chmod(path, 0o644)


def set_offset(path: Path, seconds: float) -> None:
    with path.open("r+b") as fh:
        fh.write(struct.pack("<q", round(seconds * 1e9)))
        fh.flush()


def get_offset(path: Path) -> float:
    with contextlib.suppress(OSError, struct.error):
        return float(struct.unpack("<q", path.read_bytes()[:8])[0]) / 1e9
    return 0.0
