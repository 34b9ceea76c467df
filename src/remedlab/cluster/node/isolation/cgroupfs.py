"""Cgroup filesystem access shared by the v1 and v2 drivers.

Mount discovery, the server's own cgroups, reading and writing control files, killing a group's
members and removing group directories, plus the interfaces both drivers implement.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation.limits import ContainerLimits

# Every remedlab cgroup lives below a directory of this name: <base>/remedlab/<cluster>/<pod>/<container>.
REMEDLAB_DIR = "remedlab"
IDENTIFIER_SEPARATOR = "|"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CgroupMount:
    """One mounted cgroup hierarchy."""

    mountpoint: str
    root: str  # the directory of the hierarchy that is mounted (usually "/")
    version: int  # 1 or 2
    controllers: frozenset[str]  # v1: the controllers bound to the hierarchy; v2: empty


def _unescape(field: str) -> str:
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[CgroupMount]:
    """Cgroup hierarchies visible to this process."""
    mounts: list[CgroupMount] = []
    try:
        with open(mountinfo, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return mounts
    for line in lines:
        before, sep, after = line.partition(" - ")
        if not sep:
            continue
        fields = before.split()
        tail = after.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, super_options = tail[0], tail[2]
        if fstype == "cgroup":
            controllers = frozenset(opt for opt in super_options.split(",") if opt not in {"rw", "ro"})
            mounts.append(CgroupMount(_unescape(fields[4]), _unescape(fields[3]), 1, controllers))
        elif fstype == "cgroup2":
            mounts.append(CgroupMount(_unescape(fields[4]), _unescape(fields[3]), 2, frozenset()))
    return mounts


def own_cgroups(path: str = "/proc/self/cgroup") -> dict[str, str]:
    """The server's cgroup per v1 controller, and under the key "" its cgroup v2 path."""
    result: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return result
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, cgroup_path = parts
        if not controllers:
            result[""] = cgroup_path
        for controller in controllers.split(","):
            if controller:
                result[controller] = cgroup_path
    return result


def cgroup_dir(mount: CgroupMount, cgroup_path: str) -> str:
    """The directory of a cgroup path (as /proc/<pid>/cgroup prints it) under a mount."""
    relative = os.path.relpath(os.path.normpath(cgroup_path), os.path.normpath(mount.root))
    if relative == "." or relative.startswith(".."):
        # The root itself, or a cgroup outside what is mounted here (e.g. an unshared cgroup namespace).
        return mount.mountpoint
    return os.path.join(mount.mountpoint, relative)


def check_component(kind: str, value: str) -> str:
    """Validate a cluster id, pod uid or container name used as a cgroup directory name."""
    if not _COMPONENT.match(value) or len(value) > 200:
        raise ValueError(f"{kind} {value!r} cannot name a cgroup (letters, digits, '.', '_', '-' only)")
    return value


# --- control files -----------------------------------------------------------------------------


def read_text(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        return handle.read()


def read_int(path: str) -> int:
    return int(read_text(path).split()[0])


def read_flat_keyed(path: str) -> dict[str, int]:
    """A "key value" per line file (memory.stat, memory.events, cpu.stat, memory.oom_control)."""
    values: dict[str, int] = {}
    for line in read_text(path).splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value)
        except ValueError:
            continue
    return values


def write_value(path: str, value: str) -> None:
    """Write a control file in one write(2), as cgroupfs expects."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode("ascii"))
    finally:
        os.close(fd)


def make_group_dirs(path: str) -> None:
    """mkdir -p for cgroup directories, tolerating an empty parent being removed concurrently."""
    for attempt in range(3):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == 2:
                raise


def remove_if_empty(path: str) -> None:
    """rmdir a cgroup directory unless it still has child groups or members."""
    try:
        os.rmdir(path)
    except OSError:
        pass


def read_procs(directory: str) -> list[int]:
    """Members of one cgroup directory; [] once it is gone."""
    try:
        text = read_text(os.path.join(directory, "cgroup.procs"))
    except FileNotFoundError:
        return []
    return [int(line) for line in text.split()]


def signal_pids(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue


def kill_members(directories: Iterable[str], sig: int) -> None:
    """Signal every member of the given cgroup directories once."""
    for directory in directories:
        kill_file = os.path.join(directory, "cgroup.kill")
        if sig == signal.SIGKILL and os.path.exists(kill_file):
            try:
                write_value(kill_file, "1")
                continue
            except OSError:
                pass
        signal_pids(read_procs(directory), sig)


def _subdirectories_bottom_up(directory: str) -> list[str]:
    found: list[str] = []
    for current, subdirs, _ in os.walk(directory, topdown=False):
        found.extend(os.path.join(current, sub) for sub in subdirs)
    found.append(directory)
    return found


def remove_tree(directory: str, *, timeout: float = 2.0) -> bool:
    """SIGKILL every process of a cgroup subtree and remove its directories, deepest first.

    Returns whether the whole subtree is gone (missing already counts as gone).
    """
    if not os.path.isdir(directory):
        return True
    deadline = time.monotonic() + timeout
    for current in _subdirectories_bottom_up(directory):
        while True:
            kill_members([current], signal.SIGKILL)
            try:
                os.rmdir(current)
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
    return True


def is_remedlab_cgroup(path: str, mounts: Iterable[CgroupMount]) -> bool:
    """Whether a path is a remedlab cgroup directory (guards sweeping a recorded path)."""
    if not os.path.isabs(path):
        return False
    real = os.path.realpath(path)
    for mount in mounts:
        prefix = mount.mountpoint.rstrip("/") + "/"
        if real.startswith(prefix):
            parts = real[len(prefix) :].split("/")
            if REMEDLAB_DIR in parts[:-1]:
                return True
    return False


def host_has_swap(path: str = "/proc/swaps") -> bool:
    """Whether the host has any swap area enabled."""
    try:
        with open(path, encoding="utf-8") as handle:
            return len(handle.read().strip().splitlines()) > 1
    except OSError:
        return False


def make_identifier(version: int, directories: Iterable[str]) -> str:
    return IDENTIFIER_SEPARATOR.join([f"cgroup{version}", *directories])


def parse_identifier(identifier: str) -> list[str]:
    """The cgroup directories named by a ContainerSandbox.cgroup identifier ('' names none)."""
    if not identifier:
        return []
    head, *directories = identifier.split(IDENTIFIER_SEPARATOR)
    if head not in {"cgroup1", "cgroup2"} or not directories:
        raise ValueError(f"not a remedlab cgroup identifier: {identifier!r}")
    return directories


# --- driver interfaces -------------------------------------------------------------------------


class CgroupGroup(Protocol):
    """One container's cgroup (a directory per v1 controller, or one v2 directory)."""

    @property
    def identifier(self) -> str: ...

    @property
    def directories(self) -> tuple[str, ...]: ...

    @property
    def procs_files(self) -> tuple[str, ...]:
        """The cgroup.procs files a process writes "0" to in order to join."""
        ...

    def set_limits(self, limits: ContainerLimits) -> None: ...

    def cpu_seconds(self) -> float: ...

    def memory_working_set(self) -> int: ...

    def io_bytes(self) -> tuple[int, int] | None:
        """(read, write) bytes when the hierarchy accounts IO, else None."""
        ...

    def oom_kills(self) -> int | None:
        """The group's OOM-kill counter, None when the kernel does not provide one."""
        ...

    def memory_failcnt(self) -> int | None: ...

    def procs(self) -> list[int]: ...

    def kill(self, sig: int) -> None: ...

    def remove(self, *, timeout: float = 2.0) -> bool: ...


class CgroupHierarchy(Protocol):
    """A writable cgroup hierarchy remedlab can create container groups in."""

    @property
    def version(self) -> int: ...

    @property
    def mounts(self) -> tuple[CgroupMount, ...]: ...

    def group(self, cluster_id: str, pod_uid: str, container: str) -> CgroupGroup:
        """Create (or reopen) the container's group."""
        ...

    def base_dirs(self) -> list[str]:
        """The <...>/remedlab directories all clusters share."""
        ...

    def cluster_dirs(self, cluster_id: str) -> list[str]: ...

    def pod_dirs(self, cluster_id: str, pod_uid: str) -> list[str]: ...

    def checks(self) -> list[FidelityCheck]: ...
