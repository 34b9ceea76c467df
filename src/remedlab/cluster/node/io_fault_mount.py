"""Mounting and unmounting remedlab's IO-fault filesystem over pod volumes (see io_fault_fs for the faults).

Each mount runs in its own process (``python -m remedlab.cluster.node.io_fault_fs``), so a FUSE operation that hangs
or sleeps never blocks the server's event loop. The volume directory's descriptor is opened here, before
mounting, and handed to that process: the files underneath stay reachable and unmounting reveals them
unchanged, including everything written through the mount.

The kernel's mount table is the record of every mount made here: each carries the filesystem type
``fuse.remedlab-iofault`` and the source name ``remedlab-iofault.<pid>``, so after a crash
:func:`cleanup_stale` finds and removes them (and their processes) under a directory.

A process that opened files in the volume before the mount keeps using the directory underneath, so the mount
alone does not fault them (Chaos Mesh swaps such descriptors with ptrace). The pod shim does instead: the fault
runtime also writes the fault into the containers' shim control files (io_fault_shim.py, native/iofault.c),
which fault reads, writes and syncs on those descriptors.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import remedlab
from remedlab.cluster.node.io_fault_fs import FSNAME_PREFIX, FSTYPE, RELOAD_INTERVAL, parse_faults
from remedlab.cluster.node.isolation.fidelity import fuse_support

FS_MODULE = "remedlab.cluster.node.io_fault_fs"
MOUNTINFO = "/proc/self/mountinfo"
_COMMAND_TIMEOUT = 10.0


@dataclass(frozen=True)
class IoFaultMountEntry:
    """A remedlab IO-fault mount as the kernel lists it."""

    mount_id: int
    mountpoint: str
    source: str  # remedlab-iofault.<pid>
    fstype: str

    @property
    def pid(self) -> int | None:
        """The filesystem process named in the source, if any."""
        _, _, suffix = self.source.partition(".")
        return int(suffix) if suffix.isdigit() else None


def _unescape(text: str) -> str:
    """Undo mountinfo's octal escapes (\\040 for a space, ...)."""
    if "\\" not in text:
        return text
    out = bytearray()
    raw = text.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\" and raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def iofault_mounts(mountinfo: str = MOUNTINFO) -> list[IoFaultMountEntry]:
    """Every IO-fault mount visible to this process, in mount order."""
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    entries: list[IoFaultMountEntry] = []
    for line in lines:
        fields = line.split(" ")
        try:
            separator = fields.index("-", 6)
            fstype, source = fields[separator + 1], _unescape(fields[separator + 2])
            mount_id, mountpoint = int(fields[0]), _unescape(fields[4])
        except (ValueError, IndexError):
            continue
        if fstype == FSTYPE or source == FSNAME_PREFIX or source.startswith(FSNAME_PREFIX + "."):
            entries.append(IoFaultMountEntry(mount_id, mountpoint, source, fstype))
    return entries


def _under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def _unmount_commands(mountpoint: str, lazy: bool) -> list[list[str]]:
    commands: list[list[str]] = []
    for helper in ("fusermount3", "fusermount"):
        found = shutil.which(helper)
        if found:
            commands.append([found, "-u", *(["-z"] if lazy else []), mountpoint])
    umount = shutil.which("umount")
    if os.geteuid() == 0 and umount:
        commands.append([umount, *(["-l"] if lazy else []), mountpoint])
    return commands


def _unmount(mountpoint: str, *, lazy: bool, still_mounted: Callable[[], bool]) -> str:
    """Try the helpers in turn; '' once `still_mounted()` is false, else the last error line."""
    error = "no fusermount3/fusermount on PATH and not root"
    for command in _unmount_commands(mountpoint, lazy):
        try:
            result = subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = f"{command[0]}: {exc}"
            continue
        if not still_mounted():
            return ""
        lines = (result.stderr or result.stdout).strip().splitlines()
        error = lines[-1] if lines else f"{os.path.basename(command[0])} exited with {result.returncode}"
    return "" if not still_mounted() else error


def _is_fs_process(pid: int, mountpoint: str | None = None) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return False
    if FS_MODULE.encode() not in argv:
        return False
    return mountpoint is None or os.fsencode(mountpoint) in argv


def _wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_fs_process(pid):
            return True
        time.sleep(0.02)
    return not _is_fs_process(pid)


def cleanup_stale(root: Path | str) -> list[str]:
    """Lazily unmount every IO-fault mount at or under `root` and end its process; the mountpoints handled.

    For after a crash: the processes of such mounts belong to a server that is gone, so any file still open
    through them loses its filesystem.
    """
    base = os.path.realpath(root)
    cleaned: list[str] = []
    for _ in range(64):  # mounts may be stacked; each round removes the topmost ones
        entries = [entry for entry in iofault_mounts() if _under(entry.mountpoint, base)]
        if not entries:
            break
        for entry in sorted(entries, key=lambda e: (e.mountpoint.count("/"), e.mount_id), reverse=True):

            def mounted(entry: IoFaultMountEntry = entry) -> bool:
                return any(e.mount_id == entry.mount_id for e in iofault_mounts())

            _unmount(entry.mountpoint, lazy=True, still_mounted=mounted)
            pid = entry.pid
            if pid is not None and _is_fs_process(pid, entry.mountpoint) and not _wait_pid_gone(pid, 0.5):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                _wait_pid_gone(pid, 2.0)
            if not mounted():
                cleaned.append(entry.mountpoint)
        if all(any(e.mount_id == x.mount_id for x in iofault_mounts()) for e in entries):
            break  # nothing could be removed this round: give up rather than spin
    return cleaned


def write_fault_config(config_path: Path | str, faults: Sequence[Mapping[str, Any]]) -> None:
    """Validate `faults` and replace the configuration file atomically (a new file renamed over the old)."""
    parse_faults(list(faults))
    path = os.path.abspath(config_path)
    previous_mtime = 0
    with contextlib.suppress(OSError):
        previous_mtime = os.stat(path).st_mtime_ns
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump([dict(fault) for fault in faults], handle, indent=2)
            handle.write("\n")
        # A strictly newer mtime: the filesystem notices the change even within one clock tick.
        stamp = max(time.time_ns(), previous_mtime + 1000)
        os.utime(temporary, ns=(stamp, stamp))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _last_line(path: str, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


class IoFaultMount:
    """One IO-fault filesystem mounted over a directory, with its faults and its process.

    ``start()`` mounts, ``set_faults()`` changes the faults live, ``stop()`` unmounts and leaves the directory
    as it was. Usable as a context manager (stopping on exit).
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        direct_io: bool = False,
        mount_timeout: float = 15.0,
        log_path: Path | str | None = None,
        python: str | None = None,
    ) -> None:
        self.seed = seed
        self.direct_io = direct_io
        self.mount_timeout = mount_timeout
        self._log_path = None if log_path is None else str(log_path)
        self._python = python or sys.executable
        self._proc: subprocess.Popen[bytes] | None = None
        self._lingering: subprocess.Popen[bytes] | None = None
        self._mountpoint: str | None = None
        self._config_path: str | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the directory underneath

    # -- what is mounted --------------------------------------------------------------------------------

    @property
    def mountpoint(self) -> str | None:
        return self._mountpoint

    @property
    def directory(self) -> Path | None:
        """The mounted directory (resolved), while mounted."""
        return None if self._mountpoint is None else Path(self._mountpoint)

    @property
    def config_path(self) -> str | None:
        return self._config_path

    @property
    def pid(self) -> int | None:
        """The filesystem process while mounted."""
        return None if self._proc is None else self._proc.pid

    @property
    def fsname(self) -> str | None:
        """The source name identifying this mount in /proc/self/mountinfo."""
        return None if self._proc is None else f"{FSNAME_PREFIX}.{self._proc.pid}"

    @property
    def log_path(self) -> str | None:
        return self._log_path

    @property
    def lingering_pid(self) -> int | None:
        """The process left serving already-open files after ``stop(linger=True)``, while it runs."""
        if self._lingering is not None and self._lingering.poll() is not None:
            self._lingering = None
        return None if self._lingering is None else self._lingering.pid

    def entry(self) -> IoFaultMountEntry | None:
        """This mount in the kernel's table, if it is (still) there."""
        if self._mountpoint is None or self._proc is None:
            return None
        fsname = f"{FSNAME_PREFIX}.{self._proc.pid}"
        for entry in iofault_mounts():
            if entry.mountpoint == self._mountpoint and entry.source == fsname:
                return entry
        return None

    def mounted(self) -> bool:
        """Whether this mount is in the kernel's table."""
        return self.entry() is not None

    # -- availability -----------------------------------------------------------------------------------

    @staticmethod
    def fuse_available() -> tuple[bool, str]:
        """Whether this host can run the IO-fault filesystem; the reason when it cannot."""
        if not sys.platform.startswith("linux"):
            return False, f"FUSE mounts need Linux, this is {sys.platform}"
        support = fuse_support()
        if not support.usable:
            return False, support.problem or "FUSE unusable"
        library = ctypes.util.find_library("fuse3") or ctypes.util.find_library("fuse")
        if not library and not os.environ.get("FUSE_LIBRARY_PATH"):
            return False, "libfuse is not installed (apt-get install fuse3 libfuse3-3)"
        if importlib.util.find_spec("mfusepy") is None:
            return False, "the Python package mfusepy is not installed (pip install mfusepy)"
        if not _unmount_commands("/", lazy=True):
            return False, "no way to unmount: neither fusermount3/fusermount on PATH nor root"
        helper = f"via {support.helper}" if support.helper else "directly as root"
        return True, f"{library or os.environ.get('FUSE_LIBRARY_PATH')}, mounting {helper}"

    cleanup_stale = staticmethod(cleanup_stale)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, directory: Path | str, config_path: Path | str) -> None:
        """Mount over `directory`, with the faults in `config_path` (created empty if absent).

        Returns once the mount is live; RuntimeError with a one-line reason otherwise (nothing left behind).
        """
        if self._proc is not None:
            raise RuntimeError(f"IO-fault filesystem already mounted on {self._mountpoint}")
        available, reason = self.fuse_available()
        if not available:
            raise RuntimeError(f"IO-fault filesystem unavailable: {reason}")
        mountpoint = os.path.realpath(directory)
        if not os.path.isdir(mountpoint):
            raise RuntimeError(f"cannot mount the IO-fault filesystem on {mountpoint}: not a directory")
        if any(entry.mountpoint == mountpoint for entry in iofault_mounts()):
            raise RuntimeError(f"{mountpoint} already carries an IO-fault filesystem (cleanup_stale removes it)")
        config = os.path.abspath(config_path)
        if _under(config, mountpoint):
            raise RuntimeError(f"the fault configuration {config} must live outside the mounted {mountpoint}")
        if not os.path.exists(config):
            write_fault_config(config, [])
        log_path = self._log_path or f"{config}.log"
        self._log_path = log_path

        backing = os.open(mountpoint, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            st = os.fstat(backing)
            identity = (st.st_dev, st.st_ino)
            command = [
                self._python,
                "-m",
                FS_MODULE,
                "--backing-fd",
                str(backing),
                "--mountpoint",
                mountpoint,
                "--config",
                config,
            ]
            if self.seed is not None:
                command += ["--seed", str(self.seed)]
            if self.direct_io:
                command.append("--direct-io")
            env = dict(os.environ)
            source_root = str(Path(remedlab.__file__).resolve().parent.parent)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH", "")) if p)
            with open(log_path, "ab") as log:
                log_offset = log.tell()
                proc = subprocess.Popen(
                    command,
                    pass_fds=(backing,),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd="/",
                    env=env,
                    start_new_session=True,
                )
        finally:
            os.close(backing)

        self._proc, self._mountpoint, self._config_path, self._identity = proc, mountpoint, config, identity
        deadline = time.monotonic() + self.mount_timeout
        while self.entry() is None:
            code = proc.poll()
            if code is not None:
                self._forget()
                detail = _last_line(log_path, log_offset) or f"see {log_path}"
                raise RuntimeError(f"IO-fault filesystem on {mountpoint} exited with status {code}: {detail}")
            if time.monotonic() > deadline:
                detail = _last_line(log_path, log_offset)
                self._abort()
                raise RuntimeError(
                    f"IO-fault filesystem on {mountpoint} not mounted after {self.mount_timeout:g} s"
                    + (f": {detail}" if detail else "")
                )
            time.sleep(0.02)

    def set_faults(self, faults: Iterable[Mapping[str, Any]], *, settle: bool = False) -> None:
        """Replace the faults (ValueError if one is invalid). The filesystem applies them from its next
        operation at least RELOAD_INTERVAL after its previous check; `settle` waits that long before returning.
        """
        if self._config_path is None:
            raise RuntimeError("the IO-fault filesystem is not started")
        write_fault_config(self._config_path, list(faults))
        if settle:
            time.sleep(RELOAD_INTERVAL + 0.02)

    def stop(self, *, timeout: float = 5.0, linger: bool = False) -> None:
        """Clear the faults, unmount (lazily if files are still open), end the process, check the directory.

        With `linger`, a process still serving files that were open through the mount is left running as a
        fault-free pass-through until they are closed (it then exits by itself) instead of being killed,
        which would fail those files with ENOTCONN. RuntimeError if the directory is not plain again.
        """
        proc, mountpoint = self._proc, self._mountpoint
        if proc is None or mountpoint is None:
            return
        try:
            # Cleared faults also end the delays in progress (within RELOAD_INTERVAL), which lets the files
            # they held open close before the unmount.
            with contextlib.suppress(OSError, RuntimeError):
                self.set_faults([], settle=True)
            problem = ""
            lazy = False
            if self.mounted():
                problem = _unmount(mountpoint, lazy=False, still_mounted=self.mounted)
                if problem:
                    lazy = True
                    problem = _unmount(mountpoint, lazy=True, still_mounted=self.mounted)
            if problem:
                # The filesystem does not answer: end it (pending operations fail) and detach the mount.
                self._kill(proc)
                problem = _unmount(mountpoint, lazy=True, still_mounted=self.mounted)
            try:
                proc.wait(timeout=0.5 if lazy else timeout)
            except subprocess.TimeoutExpired:
                if linger and not self.mounted():
                    self._lingering = proc
                else:
                    self._kill(proc)
            if self.mounted():
                raise RuntimeError(f"cannot unmount the IO-fault filesystem on {mountpoint}: {problem}")
            self._check_plain(mountpoint)
        finally:
            self._forget()

    def __enter__(self) -> IoFaultMount:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------------

    def _check_plain(self, mountpoint: str) -> None:
        if any(entry.mountpoint == mountpoint for entry in iofault_mounts()):
            raise RuntimeError(f"{mountpoint} still carries an IO-fault filesystem")
        try:
            st = os.stat(mountpoint)
        except OSError as exc:
            raise RuntimeError(f"{mountpoint} is not reachable after unmounting: {exc.strerror}") from None
        if self._identity is not None and (st.st_dev, st.st_ino) != self._identity:
            raise RuntimeError(f"{mountpoint} is not the original directory after unmounting")

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5.0)

    def _abort(self) -> None:
        """Undo a start that did not complete."""
        proc, mountpoint = self._proc, self._mountpoint
        try:
            if proc is not None:
                self._kill(proc)
            if mountpoint is not None and self.mounted():
                _unmount(mountpoint, lazy=True, still_mounted=self.mounted)
        finally:
            self._forget()

    def _forget(self) -> None:
        self._proc = None
        self._mountpoint = None
        self._identity = None
