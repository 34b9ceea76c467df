"""remedlab's IO-fault filesystem: a FUSE pass-through mounted over a pod volume, injecting IOChaos faults.

The filesystem is mounted *over* the volume directory itself. Before mounting, a file descriptor of that
directory is opened (by :mod:`remedlab.cluster.node.io_fault_mount`, passed here as ``--backing-fd``); every
operation then reaches the original files underneath through the ``*at()`` system calls relative to that
descriptor, so nothing has to be copied or moved and unmounting leaves the directory exactly as the pod
left it.

Faults follow Chaos Mesh's IOChaos semantics. The configuration is a JSON list in a file outside the volume,
re-read when it changes (its stat is checked at most every :data:`RELOAD_INTERVAL` seconds, on the next
operation), so faults switch on and off without remounting; an empty list is pure pass-through. Each entry::

    {"action": "latency", "delay": "100ms", "path": "data/**", "methods": ["read", "write"], "percent": 50}
    {"action": "fault", "errno": 5, "methods": ["fsync"]}
    {"action": "attrOverride", "attr": {"perm": 292, "size": 0}, "path": "*.conf"}

* ``action``: ``latency`` (sleep ``delay``, a Go duration, before the operation), ``fault`` (fail the operation
  with ``errno``, default 5 = EIO; a number or a name such as ``"ENOSPC"``) or ``attrOverride`` (replace fields
  of what ``getattr`` reports: ``perm``, ``size``, ``blocks``, ``nlink``, ``uid``, ``gid``, ``rdev``, ``ino``,
  ``kind``, ``atime``/``mtime``/``ctime`` in seconds). Chaos Mesh's ``mistake`` action is not supported.
* ``path``: a glob relative to the volume root (``*`` and ``?`` stay within one path component, ``**``
  spans any number of them); default: every path. A leading ``volumePath`` (the volume's mount path in the
  container, as Chaos Mesh writes ``path``) or ``/`` is removed first.
* ``methods``: operation names; default: all. Chaos Mesh's names are understood (``setattr`` covers chmod,
  chown, truncate and utimens; ``lookup`` is a ``getattr`` by path). Names of operations this filesystem
  leaves to the kernel (``forget``, ``getlk``, ``setlk``, ``bmap``, the xattr calls) are accepted and never match.
* ``percent``: 1-100, the chance that a matching operation is affected (seeded random generator).

Several entries may apply to one operation: their latencies add up, then the first matching ``fault`` fails it.
A delay in progress ends early when the configuration changes, so clearing the faults frees stuck callers.

Limits (compared with Chaos Mesh, whose injector swaps a container's open file descriptors):

* Files a process opened *before* the mount keep pointing at the underlying directory: they see no faults,
  and POSIX/flock locks taken through them and through the mount don't see each other. Mount before the
  target opens its files (start the chaos before the pod, or restart the pod after mounting).
* The kernel caches: data read once through an open file is served from the page cache until the file is
  opened again (pass ``--direct-io`` to send every read and write here, at the price of shared ``mmap``, which
  libfuse < 3.16 cannot allow with direct IO, so e.g. SQLite's WAL mode then fails), and attributes and name
  lookups are cached for up to one second, so ``getattr`` faults and ``attrOverride`` take effect (and end) up to
  one second late. Writes always reach the filesystem (no writeback cache).
* A file removed while still open lives on as ``.fuse_hidden*`` in its directory until closed (libfuse's
  high-level API), so ``rmdir`` of that directory fails with ENOTEMPTY meanwhile.
* No extended attributes, ioctl or SEEK_DATA/SEEK_HOLE. Every operation is a round trip through this Python
  process: measured on a 2-core machine, opening, reading and closing a small file costs about 0.2 ms (7 us
  without the mount), creating and writing one about 1.5 times as long as without it, and cached sequential
  reads run at roughly 0.3-0.5 GB/s instead of about 2 GB/s. Cached ``stat`` calls cost nothing extra.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno as errno_codes
import json
import os
import random
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from remedlab.api.durations import parse_duration, parse_percent

FSNAME_PREFIX = "remedlab-iofault"
"""The mount's source name is ``remedlab-iofault.<pid of the filesystem process>``."""
SUBTYPE = "remedlab-iofault"
FSTYPE = f"fuse.{SUBTYPE}"
"""The filesystem type /proc/self/mountinfo shows for these mounts."""
RELOAD_INTERVAL = 0.1
"""Seconds between two checks of the configuration file's stat."""

Action = Literal["latency", "fault", "attrOverride"]
ACTIONS: tuple[Action, ...] = ("latency", "fault", "attrOverride")

# The names each implemented operation answers to in a fault's `methods`.
OPERATION_NAMES: dict[str, frozenset[str]] = {
    "getattr": frozenset({"getattr", "lookup"}),
    "readlink": frozenset({"readlink"}),
    "mknod": frozenset({"mknod"}),
    "mkdir": frozenset({"mkdir"}),
    "unlink": frozenset({"unlink"}),
    "rmdir": frozenset({"rmdir"}),
    "symlink": frozenset({"symlink"}),
    "rename": frozenset({"rename"}),
    "link": frozenset({"link"}),
    "chmod": frozenset({"chmod", "setattr"}),
    "chown": frozenset({"chown", "setattr"}),
    "truncate": frozenset({"truncate", "ftruncate", "setattr"}),
    "utimens": frozenset({"utimens", "setattr"}),
    "open": frozenset({"open"}),
    "create": frozenset({"create"}),
    "read": frozenset({"read"}),
    "write": frozenset({"write"}),
    "flush": frozenset({"flush"}),
    "release": frozenset({"release"}),
    "fsync": frozenset({"fsync"}),
    "fallocate": frozenset({"fallocate"}),
    "opendir": frozenset({"opendir"}),
    "readdir": frozenset({"readdir"}),
    "releasedir": frozenset({"releasedir"}),
    "fsyncdir": frozenset({"fsyncdir"}),
    "statfs": frozenset({"statfs"}),
    "access": frozenset({"access"}),
}
_KERNEL_ONLY_METHODS = frozenset(
    {"forget", "getlk", "setlk", "bmap", "setxattr", "getxattr", "listxattr", "removexattr"}
)
KNOWN_METHODS: frozenset[str] = frozenset().union(*OPERATION_NAMES.values()) | _KERNEL_ONLY_METHODS

# Keys of a Chaos Mesh IOChaos spec that may travel along with a fault but mean nothing here.
_IGNORED_KEYS = frozenset({"mode", "value", "selector", "duration", "containerNames", "remoteCluster", "name"})
_FAULT_KEYS = frozenset({"action", "path", "volumePath", "methods", "percent", "delay", "errno", "attr"})

_KINDS = {
    "file": stat.S_IFREG,
    "regular": stat.S_IFREG,
    "dir": stat.S_IFDIR,
    "directory": stat.S_IFDIR,
    "symlink": stat.S_IFLNK,
    "namedpipe": stat.S_IFIFO,
    "fifo": stat.S_IFIFO,
    "socket": stat.S_IFSOCK,
    "chardevice": stat.S_IFCHR,
    "blockdevice": stat.S_IFBLK,
}
_INT_ATTRS = ("ino", "size", "blocks", "nlink", "uid", "gid", "rdev")
_TIME_ATTRS = ("atime", "mtime", "ctime")

# utimensat()'s special nanosecond values, as libfuse hands them over.
_UTIME_NOW = (1 << 30) - 1
_UTIME_OMIT = (1 << 30) - 2


@dataclass(frozen=True)
class IoFault:
    """One parsed fault of the configuration."""

    action: Action
    path: str = ""  # the glob as given, relative to the volume ('' = every path)
    methods: frozenset[str] = frozenset()  # empty = every operation
    percent: float = 100.0
    delay: float = 0.0  # seconds (latency)
    errno: int = errno_codes.EIO  # (fault)
    attr: Mapping[str, int] = field(default_factory=dict)  # (attrOverride) st_* field -> value
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def matches(self, operation: str, paths: Iterable[str]) -> bool:
        """Whether this fault targets `operation` on one of `paths` (volume-relative, no leading slash)."""
        if self.methods and not (self.methods & OPERATION_NAMES.get(operation, frozenset({operation}))):
            return False
        if self._regex is None:
            return True
        return any(self._regex.match(path) for path in paths)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A volume-relative glob as a regular expression over volume-relative paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = i + 1
            if end < n and pattern[end] in "!^":
                end += 1
            if end < n and pattern[end] == "]":
                end += 1
            end = pattern.find("]", end)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _volume_relative(path: str, volume_path: str) -> str:
    volume = volume_path.rstrip("/")
    if volume and (path == volume or path.startswith(volume + "/")):
        path = path[len(volume) :]
    return path.strip("/")


def _parse_errno(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"invalid errno {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, str) and isinstance(getattr(errno_codes, value.strip().upper(), None), int):
        number = int(getattr(errno_codes, value.strip().upper()))
    else:
        raise ValueError(f'invalid errno {value!r}: use a number such as 5 (EIO) or a name such as "ENOSPC"')
    if not 0 < number < 4096:
        raise ValueError(f"errno must be a positive error number, got {value!r}")
    return number


def _parse_attr(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError('attrOverride needs a non-empty \'attr\' object, e.g. {"perm": 292, "size": 0}')
    attr: dict[str, int] = {}
    for key, raw in value.items():
        if key == "perm":
            perm = int(raw, 8) if isinstance(raw, str) else raw
            if not isinstance(perm, int) or isinstance(perm, bool) or not 0 <= perm <= 0o7777:
                raise ValueError(f"attr.perm must be a permission number (0..4095, or an octal string), got {raw!r}")
            attr["perm"] = perm
        elif key == "kind":
            kind = str(raw).lower().replace("_", "")
            if kind not in _KINDS:
                raise ValueError(f"attr.kind must be one of {sorted(set(_KINDS))}, got {raw!r}")
            attr["kind"] = _KINDS[kind]
        elif key in _INT_ATTRS or key in _TIME_ATTRS:
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
                raise ValueError(f"attr.{key} must be a non-negative number, got {raw!r}")
            attr[key] = int(raw * 1_000_000_000) if key in _TIME_ATTRS else int(raw)
        else:
            known = ", ".join(("perm", "kind", *_INT_ATTRS, *_TIME_ATTRS))
            raise ValueError(f"unknown attr field {key!r} (known: {known})")
    return attr


def parse_fault(spec: Mapping[str, Any]) -> IoFault:
    """One configuration entry; ValueError with a one-line reason when it is invalid."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"a fault must be an object, got {type(spec).__name__}")
    unknown = set(spec) - _FAULT_KEYS - _IGNORED_KEYS
    if unknown:
        raise ValueError(f"unknown fault field(s) {sorted(unknown)} (known: {sorted(_FAULT_KEYS)})")
    action = spec.get("action")
    if action == "mistake":
        raise ValueError("the IOChaos action 'mistake' is not supported (use latency, fault or attrOverride)")
    if action not in ACTIONS:
        raise ValueError(f"fault action must be one of {list(ACTIONS)}, got {action!r}")
    raw_path = spec.get("path") or ""
    if not isinstance(raw_path, str):
        raise ValueError(f"fault path must be a glob string, got {raw_path!r}")
    volume_path = spec.get("volumePath") or ""
    if not isinstance(volume_path, str):
        raise ValueError(f"volumePath must be a string, got {volume_path!r}")
    path = _volume_relative(raw_path, volume_path)
    raw_methods = spec.get("methods") or []
    if isinstance(raw_methods, str) or not isinstance(raw_methods, Sequence):
        raise ValueError(f"fault methods must be a list of operation names, got {raw_methods!r}")
    methods = frozenset(str(m) for m in raw_methods)
    unknown_methods = methods - KNOWN_METHODS
    if unknown_methods:
        raise ValueError(f"unknown method(s) {sorted(unknown_methods)} (known: {sorted(KNOWN_METHODS)})")
    percent = parse_percent(spec.get("percent", 100))
    if percent <= 0:
        raise ValueError("percent must be between 1 and 100")
    delay = 0.0
    number = errno_codes.EIO
    attr: dict[str, int] = {}
    if action == "latency":
        if "delay" not in spec:
            raise ValueError('a latency fault needs a delay, e.g. "100ms"')
        delay = parse_duration(str(spec["delay"]))
        if delay < 0:
            raise ValueError(f"delay must not be negative, got {spec['delay']!r}")
    elif action == "fault":
        number = _parse_errno(spec.get("errno", errno_codes.EIO))
    else:
        attr = _parse_attr(spec.get("attr"))
    regex = glob_regex(path) if path and path not in ("**", "**/*") else None
    if path == "**/*":
        regex = re.compile(r".+\Z", re.DOTALL)
    return IoFault(action, path, methods, percent, delay, number, attr, regex)


def parse_faults(specs: object) -> list[IoFault]:
    """The whole configuration (a JSON list); ValueError naming the first invalid entry."""
    if not isinstance(specs, list | tuple):
        raise ValueError(f"the IO-fault configuration must be a list, got {type(specs).__name__}")
    faults: list[IoFault] = []
    for index, spec in enumerate(specs):
        try:
            faults.append(parse_fault(spec))
        except ValueError as exc:
            raise ValueError(f"fault #{index}: {exc}") from None
    return faults


def _warn(message: str) -> None:
    print(f"remedlab io-fault fs: {message}", file=sys.stderr, flush=True)


def _load_config(path: str) -> list[IoFault] | None:
    """The faults in the file; [] when it is absent; None when it can't be read as a whole (keep the old)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        _warn(f"cannot read {path}: {exc.strerror}")
        return None
    if not text.strip():
        return []
    try:
        specs = json.loads(text)
    except ValueError as exc:
        _warn(f"{path} is not valid JSON ({exc}); keeping the previous faults")
        return None
    if not isinstance(specs, list):
        _warn(f"{path} must hold a JSON list; keeping the previous faults")
        return None
    faults: list[IoFault] = []
    for index, spec in enumerate(specs):
        try:
            faults.append(parse_fault(spec))
        except ValueError as exc:
            _warn(f"{path}: ignoring fault #{index}: {exc}")
    return faults


_libc = ctypes.CDLL(None, use_errno=True)


def _renameat2(root: int, old: str, new: str, flags: int) -> None:
    result = _libc.renameat2(
        ctypes.c_int(root), os.fsencode(old), ctypes.c_int(root), os.fsencode(new), ctypes.c_uint(flags)
    )
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number), new)


Context = Callable[[], tuple[int, int, int]]


class IoFaultFs:
    """The pass-through operations (path-based, as libfuse's high-level API calls them) with fault injection.

    Paths arrive absolute within the volume ("/", "/data/x.db"); files are reached relative to `root_fd`,
    the directory underneath the mount. `context` returns the calling process's (uid, gid, pid).
    """

    use_ns = True  # timestamps in nanoseconds (read by the FUSE binding)

    def __init__(
        self,
        root_fd: int,
        config_path: str | None,
        *,
        seed: int | None = None,
        context: Context | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._root = root_fd
        self._config_path = config_path
        self._rng = random.Random(seed)
        self._context: Context = context or (lambda: (os.geteuid(), os.getegid(), 0))
        self._clock = clock
        self._sleep = sleep
        self._euid = os.geteuid()
        self._egid = os.getegid()
        self._lock = threading.Lock()
        self._faults: tuple[IoFault, ...] = ()
        self._config_key: tuple[int, int, int, int] | None = None
        self._checked = float("-inf")
        self._generation = 0  # bumped whenever the faults change
        self.initialized = False

    # -- faults -----------------------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[IoFault, ...]:
        """The faults in force (re-reading the configuration if it is due)."""
        return self._current_faults()

    def set_faults(self, faults: Iterable[IoFault]) -> None:
        """Replace the faults directly (for a filesystem without a configuration file)."""
        with self._lock:
            self._faults = tuple(faults)
            self._generation += 1

    def _current_faults(self) -> tuple[IoFault, ...]:
        if self._config_path is None:
            return self._faults
        now = self._clock()
        if now - self._checked < RELOAD_INTERVAL:
            return self._faults
        with self._lock:
            if now - self._checked < RELOAD_INTERVAL:
                return self._faults
            self._checked = now
            try:
                st = os.stat(self._config_path)
                key: tuple[int, int, int, int] | None = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                key = None
            if key != self._config_key:
                loaded = _load_config(self._config_path)
                if loaded is not None:
                    self._faults = tuple(loaded)
                    self._config_key = key
                    self._generation += 1
        return self._faults

    def _inject(self, operation: str, *paths: str) -> list[IoFault]:
        """Apply the latency and errno faults matching this operation; return its attribute overrides."""
        faults = self._current_faults()
        if not faults:
            return []
        relative = [path.strip("/") for path in paths]
        delay = 0.0
        failure: int | None = None
        overrides: list[IoFault] = []
        for fault in faults:
            if not fault.matches(operation, relative):
                continue
            if fault.percent < 100 and self._rng.random() * 100 >= fault.percent:
                continue
            if fault.action == "latency":
                delay += fault.delay
            elif fault.action == "fault":
                if failure is None:
                    failure = fault.errno
            else:
                overrides.append(fault)
        if delay > 0:
            self._delay(delay)
        if failure is not None:
            raise OSError(failure, os.strerror(failure), paths[0] if paths else None)
        return overrides

    def _delay(self, seconds: float) -> None:
        """Sleep, cut short when the faults change (so clearing them also ends the delays in progress)."""
        generation = self._generation
        deadline = self._clock() + seconds
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._sleep(min(remaining, RELOAD_INTERVAL))
            self._current_faults()
            if self._generation != generation:
                return

    # -- helpers ----------------------------------------------------------------------------------------

    @staticmethod
    def _rel(path: str) -> str:
        return path.lstrip("/") or "."

    def _take_ownership(self, rel: str, fd: int | None = None) -> None:
        """Give a new file or directory to the calling user, as the kernel would for a local filesystem."""
        uid, gid, _ = self._context()
        if uid == self._euid and gid == self._egid:
            return
        parent = os.path.dirname(rel) or "."
        if os.stat(parent, dir_fd=self._root).st_mode & stat.S_ISGID:
            gid = -1  # a set-group-ID directory passes its group on (the backing filesystem did that)
        if fd is not None:
            os.fchown(fd, uid, gid)
        else:
            os.chown(rel, uid, gid, dir_fd=self._root, follow_symlinks=False)

    @staticmethod
    def _attrs(st: os.stat_result) -> dict[str, int]:
        return {
            "st_mode": st.st_mode,
            "st_ino": st.st_ino,
            "st_nlink": st.st_nlink,
            "st_uid": st.st_uid,
            "st_gid": st.st_gid,
            "st_rdev": st.st_rdev,
            "st_size": st.st_size,
            "st_blocks": st.st_blocks,
            "st_blksize": st.st_blksize,
            "st_atime": st.st_atime_ns,
            "st_mtime": st.st_mtime_ns,
            "st_ctime": st.st_ctime_ns,
        }

    @staticmethod
    def _override(attrs: dict[str, int], overrides: Iterable[IoFault]) -> dict[str, int]:
        for fault in overrides:
            for key, value in fault.attr.items():
                if key == "perm":
                    attrs["st_mode"] = (attrs["st_mode"] & ~0o7777) | value
                elif key == "kind":
                    attrs["st_mode"] = (attrs["st_mode"] & 0o7777) | value
                else:
                    attrs[f"st_{key}"] = value
        return attrs

    def init(self, path: str) -> None:
        """Called once the kernel has connected: the mount is live."""
        self.initialized = True

    # -- metadata ---------------------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, int]:
        overrides = self._inject("getattr", path)
        st = os.fstat(fh) if fh else os.stat(self._rel(path), dir_fd=self._root, follow_symlinks=False)
        attrs = self._attrs(st)
        return self._override(attrs, overrides) if overrides else attrs

    def access(self, path: str, amode: int) -> int:
        self._inject("access", path)
        # The kernel checks permissions itself (default_permissions); only existence is left to answer.
        os.stat(self._rel(path), dir_fd=self._root, follow_symlinks=False)
        return 0

    def readlink(self, path: str) -> str:
        self._inject("readlink", path)
        return os.readlink(self._rel(path), dir_fd=self._root)

    def statfs(self, path: str) -> dict[str, int]:
        self._inject("statfs", path)
        sv = os.statvfs(self._root)
        return {
            "f_bsize": sv.f_bsize,
            "f_frsize": sv.f_frsize,
            "f_blocks": sv.f_blocks,
            "f_bfree": sv.f_bfree,
            "f_bavail": sv.f_bavail,
            "f_files": sv.f_files,
            "f_ffree": sv.f_ffree,
            "f_favail": sv.f_favail,
            "f_flag": sv.f_flag,
            "f_namemax": sv.f_namemax,
        }

    def chmod(self, path: str, mode: int) -> int:
        self._inject("chmod", path)
        os.chmod(self._rel(path), stat.S_IMODE(mode), dir_fd=self._root)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._inject("chown", path)
        os.chown(self._rel(path), uid, gid, dir_fd=self._root, follow_symlinks=False)
        return 0

    def utimens(self, path: str, times: tuple[tuple[int, int], tuple[int, int]] | None = None) -> int:
        """`times` is ((atime s, ns), (mtime s, ns)) where ns may be UTIME_NOW/UTIME_OMIT; None = now."""
        self._inject("utimens", path)
        rel = self._rel(path)
        if times is None:
            os.utime(rel, dir_fd=self._root, follow_symlinks=False)
            return 0
        now = time.time_ns()
        current: os.stat_result | None = None
        resolved: list[int] = []
        for index, (sec, nsec) in enumerate(times):
            if nsec == _UTIME_NOW:
                resolved.append(now)
            elif nsec == _UTIME_OMIT:
                if current is None:
                    current = os.stat(rel, dir_fd=self._root, follow_symlinks=False)
                resolved.append(current.st_atime_ns if index == 0 else current.st_mtime_ns)
            else:
                resolved.append(sec * 1_000_000_000 + nsec)
        os.utime(rel, ns=(resolved[0], resolved[1]), dir_fd=self._root, follow_symlinks=False)
        return 0

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        self._inject("truncate", path or "")
        if fh:
            os.ftruncate(fh, length)
            return 0
        if path is None:
            raise OSError(errno_codes.EBADF, os.strerror(errno_codes.EBADF))
        fd = os.open(self._rel(path), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self._root)
        try:
            os.ftruncate(fd, length)
        finally:
            os.close(fd)
        return 0

    # -- namespace --------------------------------------------------------------------------------------

    def mknod(self, path: str, mode: int, dev: int) -> int:
        self._inject("mknod", path)
        rel = self._rel(path)
        os.mknod(rel, mode, dev, dir_fd=self._root)
        self._take_ownership(rel)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._inject("mkdir", path)
        rel = self._rel(path)
        os.mkdir(rel, mode, dir_fd=self._root)
        self._take_ownership(rel)
        return 0

    def unlink(self, path: str) -> int:
        self._inject("unlink", path)
        os.unlink(self._rel(path), dir_fd=self._root)
        return 0

    def rmdir(self, path: str) -> int:
        self._inject("rmdir", path)
        os.rmdir(self._rel(path), dir_fd=self._root)
        return 0

    def symlink(self, target: str, source: str) -> int:
        """Create the symbolic link `target` (a path in the volume) holding the text `source`."""
        self._inject("symlink", target)
        rel = self._rel(target)
        os.symlink(source, rel, dir_fd=self._root)
        self._take_ownership(rel)
        return 0

    def rename(self, old: str, new: str, flags: int = 0) -> int:
        self._inject("rename", old, new)
        if flags:
            _renameat2(self._root, self._rel(old), self._rel(new), flags)
        else:
            os.rename(self._rel(old), self._rel(new), src_dir_fd=self._root, dst_dir_fd=self._root)
        return 0

    def link(self, target: str, source: str) -> int:
        """Create the hard link `target` to the existing `source` (both paths in the volume)."""
        self._inject("link", target, source)
        os.link(
            self._rel(source), self._rel(target), src_dir_fd=self._root, dst_dir_fd=self._root, follow_symlinks=False
        )
        return 0

    # -- files ------------------------------------------------------------------------------------------

    @staticmethod
    def _open_flags(flags: int) -> int:
        # O_DIRECT would demand aligned buffers this process does not have; the kernel already bypasses its
        # cache for the caller when it asked for O_DIRECT.
        return (flags & ~(os.O_DIRECT | os.O_CREAT | os.O_EXCL)) | os.O_CLOEXEC

    def open(self, path: str, flags: int) -> int:
        self._inject("open", path)
        return os.open(self._rel(path), self._open_flags(flags), dir_fd=self._root)

    def create(self, path: str, mode: int, flags: int = os.O_WRONLY) -> int:
        self._inject("create", path)
        rel = self._rel(path)
        fd = os.open(rel, self._open_flags(flags) | os.O_CREAT | (flags & os.O_EXCL), mode, dir_fd=self._root)
        try:
            self._take_ownership(rel, fd)
        except OSError:
            os.close(fd)
            raise
        return fd

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        self._inject("read", path or "")
        return os.pread(fh, size, offset)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        self._inject("write", path or "")
        return os.pwrite(fh, data, offset)

    def flush(self, path: str | None, fh: int) -> int:
        self._inject("flush", path or "")
        # Closing a duplicate reports the errors a close() of the file would (as a local filesystem does).
        os.close(os.dup(fh))
        return 0

    def release(self, path: str | None, fh: int) -> int:
        try:
            self._inject("release", path or "")
        finally:
            os.close(fh)
        return 0

    def fsync(self, path: str | None, datasync: int, fh: int) -> int:
        self._inject("fsync", path or "")
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def fallocate(self, path: str | None, mode: int, offset: int, size: int, fh: int) -> int:
        self._inject("fallocate", path or "")
        if mode != 0:
            raise OSError(errno_codes.EOPNOTSUPP, os.strerror(errno_codes.EOPNOTSUPP))
        os.posix_fallocate(fh, offset, size)
        return 0

    # -- directories ------------------------------------------------------------------------------------

    def opendir(self, path: str) -> int:
        self._inject("opendir", path)
        return 0

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        """(name, {st_ino, st_mode}, 0) per entry: with use_ino the kernel needs each entry's inode number."""
        self._inject("readdir", path)
        fd = os.open(self._rel(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._root)
        try:
            here = os.fstat(fd)
            try:
                parent = os.stat("..", dir_fd=fd)
            except OSError:
                parent = here
            entries = [
                (".", {"st_ino": here.st_ino, "st_mode": stat.S_IFDIR}, 0),
                ("..", {"st_ino": parent.st_ino, "st_mode": stat.S_IFDIR}, 0),
            ]
            with os.scandir(fd) as listing:
                for entry in listing:
                    entries.append((entry.name, {"st_ino": entry.inode(), "st_mode": self._entry_type(entry)}, 0))
            return entries
        finally:
            os.close(fd)

    @staticmethod
    def _entry_type(entry: os.DirEntry[str]) -> int:
        try:
            if entry.is_dir(follow_symlinks=False):
                return stat.S_IFDIR
            if entry.is_file(follow_symlinks=False):
                return stat.S_IFREG
            if entry.is_symlink():
                return stat.S_IFLNK
            return stat.S_IFMT(entry.stat(follow_symlinks=False).st_mode)
        except OSError:
            return stat.S_IFREG

    def releasedir(self, path: str | None, fh: int) -> int:
        self._inject("releasedir", path or "")
        return 0

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> int:
        self._inject("fsyncdir", path or "")
        fd = os.open(self._rel(path or "/"), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self._root)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return 0


# -- the mount process ----------------------------------------------------------------------------------


def allow_other_permitted() -> bool:
    """Whether this process may mount with allow_other (root, or user_allow_other in /etc/fuse.conf)."""
    if os.geteuid() == 0:
        return True
    try:
        with open("/etc/fuse.conf", encoding="utf-8") as handle:
            return any(line.strip() == "user_allow_other" for line in handle)
    except OSError:
        return False


def _select_libfuse() -> None:
    """Prefer libfuse 3 when both major versions are installed (the binding looks for libfuse 2 first)."""
    if os.environ.get("FUSE_LIBRARY_PATH") or os.environ.get("FUSE_LIBRARY_NAME"):
        return
    if ctypes.util.find_library("fuse3"):
        os.environ["FUSE_LIBRARY_NAME"] = "fuse3"


def _fuse_class(binding: Any) -> Any:
    """The binding's FUSE driver, adjusted where its generic wrappers drop what a pass-through needs."""

    class _Driver(binding.FUSE):  # type: ignore[misc]
        def _decode(self, path: bytes | None) -> str | None:
            return None if path is None else path.decode(self.encoding, self.errors)

        # libfuse 3 hands ftruncate()'s file over; truncating the open file beats reopening it by path.
        def truncate_fuse_3(self, path: bytes | None, length: int, fip: Any) -> int:
            fh = fip.contents.fh if fip else None
            result: int = self.operations.truncate(self._decode(path), length, fh)
            return result

        # Keep UTIME_NOW/UTIME_OMIT recognisable instead of folding them into a nanosecond count.
        def utimens_fuse_2(self, path: bytes | None, buf: Any) -> int:
            times = None
            if buf:
                times = (
                    (int(buf.contents.actime.tv_sec), int(buf.contents.actime.tv_nsec)),
                    (int(buf.contents.modtime.tv_sec), int(buf.contents.modtime.tv_nsec)),
                )
            result: int = self.operations.utimens(self._decode(path), times)
            return result

        def utimens_fuse_3(self, path: bytes | None, buf: Any, fip: Any) -> int:
            return self.utimens_fuse_2(path, buf)

        # renameat2() flags (RENAME_NOREPLACE, RENAME_EXCHANGE) must not be ignored.
        def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
            result: int = self.operations.rename(self._decode(old), self._decode(new), flags)
            return result

    return _Driver


def mount_options(*, pid: int, fuse_major: int, allow_other: bool, direct_io: bool) -> dict[str, object]:
    """The libfuse options of a remedlab IO-fault mount."""
    options: dict[str, object] = {
        "fsname": f"{FSNAME_PREFIX}.{pid}",
        "subtype": SUBTYPE,
        "default_permissions": True,
        "use_ino": True,
        "attr_timeout": 1.0,
        "entry_timeout": 1.0,
        "negative_timeout": 0.0,
    }
    if allow_other:
        options["allow_other"] = True
    if direct_io:
        options["direct_io"] = True
    if fuse_major == 2:
        options["nonempty"] = True
        options["big_writes"] = True
        options["max_write"] = 131072
    return options


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m remedlab.cluster.node.io_fault_fs",
        description="Mount remedlab's IO-fault pass-through filesystem (runs in the foreground until unmounted).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--backing-fd", type=int, help="an open descriptor of the directory to pass through to")
    source.add_argument("--source", help="the directory to pass through to (opened before mounting)")
    parser.add_argument("--mountpoint", required=True, help="where to mount (may be the source directory itself)")
    parser.add_argument("--config", required=True, help="the JSON fault list, re-read when it changes")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random generator behind 'percent'")
    parser.add_argument("--direct-io", action="store_true", help="bypass the kernel page cache for every file")
    parser.add_argument("--no-allow-other", action="store_true", help="only the mounting user may use the mount")
    parser.add_argument("--debug", action="store_true", help="libfuse debug output on stderr")
    args = parser.parse_args(argv)

    mountpoint = os.path.abspath(args.mountpoint)
    config = os.path.abspath(args.config)
    try:
        if args.backing_fd is not None:
            root_fd = int(args.backing_fd)
            if not stat.S_ISDIR(os.fstat(root_fd).st_mode):
                raise NotADirectoryError(errno_codes.ENOTDIR, "the backing descriptor is not a directory")
        else:
            root_fd = os.open(args.source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        os.set_inheritable(root_fd, False)
    except OSError as exc:
        _warn(f"cannot use the backing directory: {exc}")
        return 2
    if config == mountpoint or config.startswith(mountpoint.rstrip("/") + "/"):
        _warn(f"the configuration {config} must not live inside the mount {mountpoint}")
        return 2
    os.chdir("/")
    os.umask(0)  # modes arrive already masked by the caller's umask

    _select_libfuse()
    try:
        import mfusepy
    except (ImportError, OSError, AttributeError) as exc:
        _warn(f"libfuse binding unavailable: {exc}")
        return 3

    operations = IoFaultFs(root_fd, config, seed=args.seed, context=mfusepy.fuse_get_context)
    operations.faults  # noqa: B018 - load the configuration before the first operation arrives
    options = mount_options(
        pid=os.getpid(),
        fuse_major=int(mfusepy.fuse_version_major),
        allow_other=allow_other_permitted() and not args.no_allow_other,
        direct_io=args.direct_io,
    )
    code = 0
    try:
        _fuse_class(mfusepy)(operations, mountpoint, foreground=True, debug=args.debug, **options)
    except Exception as exc:
        if operations.initialized:
            # e.g. ended by a signal after a lazy unmount, when libfuse's own unmount finds nothing left
            _warn(f"filesystem on {mountpoint} ended: {exc}")
        else:
            _warn(f"mount on {mountpoint} failed: {exc}")
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # libfuse cancels its worker threads on exit; skip the interpreter's teardown of their states.
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
