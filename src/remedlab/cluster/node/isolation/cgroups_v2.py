"""cgroup v2 driver: one directory per container in the unified hierarchy."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation.cgroupfs import (
    REMEDLAB_DIR,
    CgroupMount,
    cgroup_dir,
    cgroup_mounts,
    host_has_swap,
    kill_members,
    make_group_dirs,
    make_identifier,
    own_cgroups,
    read_flat_keyed,
    read_int,
    read_procs,
    read_text,
    remove_if_empty,
    remove_tree,
    write_value,
)
from remedlab.cluster.node.isolation.limits import (
    CFS_PERIOD_US,
    ContainerLimits,
    IsolationError,
    cfs_quota_us,
    cpu_weight,
)

REQUIRED_CONTROLLERS = ("cpu", "memory")
OPTIONAL_CONTROLLERS = ("pids", "io")


class CgroupV2Group:
    """A container's leaf cgroup in the unified hierarchy."""

    def __init__(self, directory: str, *, io_accounting: bool) -> None:
        self._directory = directory
        self._io = io_accounting

    @property
    def identifier(self) -> str:
        return make_identifier(2, [self._directory])

    @property
    def directories(self) -> tuple[str, ...]:
        return (self._directory,)

    @property
    def procs_files(self) -> tuple[str, ...]:
        return (os.path.join(self._directory, "cgroup.procs"),)

    def _file(self, name: str) -> str:
        return os.path.join(self._directory, name)

    def set_limits(self, limits: ContainerLimits) -> None:
        quota = "max" if limits.cpu_millicores is None else str(cfs_quota_us(limits.cpu_millicores))
        memory = "max" if limits.memory_bytes is None else str(limits.memory_bytes)
        try:
            write_value(self._file("cpu.max"), f"{quota} {CFS_PERIOD_US}")
            write_value(self._file("cpu.weight"), str(cpu_weight(limits.cpu_request_millicores)))
            write_value(self._file("memory.max"), memory)
            if os.path.exists(self._file("memory.swap.max")):
                write_value(self._file("memory.swap.max"), "0")
        except OSError as exc:
            raise IsolationError(f"cannot set the limits of {self._directory}: {exc}") from exc

    def cpu_seconds(self) -> float:
        return read_flat_keyed(self._file("cpu.stat")).get("usage_usec", 0) / 1e6

    def memory_working_set(self) -> int:
        usage = read_int(self._file("memory.current"))
        inactive = read_flat_keyed(self._file("memory.stat")).get("inactive_file", 0)
        return max(0, usage - inactive)

    def io_bytes(self) -> tuple[int, int] | None:
        if not self._io:
            return None
        try:
            text = read_text(self._file("io.stat"))
        except OSError:
            return None
        read = written = 0
        for line in text.splitlines():
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                if key == "rbytes":
                    read += int(value)
                elif key == "wbytes":
                    written += int(value)
        return read, written

    def oom_kills(self) -> int | None:
        return read_flat_keyed(self._file("memory.events")).get("oom_kill")

    def memory_failcnt(self) -> int | None:
        return read_flat_keyed(self._file("memory.events")).get("max")

    def procs(self) -> list[int]:
        return read_procs(self._directory)

    def kill(self, sig: int) -> None:
        kill_members([self._directory], sig)

    def remove(self, *, timeout: float = 2.0) -> bool:
        return remove_tree(self._directory, timeout=timeout)


def _enable_controllers(directory: str, controllers: Sequence[str]) -> None:
    """Make the controllers available to the children of a v2 directory."""
    enabled = set(read_text(os.path.join(directory, "cgroup.subtree_control")).split())
    missing = [c for c in controllers if c not in enabled]
    if missing:
        write_value(os.path.join(directory, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))


class CgroupV2Hierarchy:
    """The unified hierarchy, rooted at <server's own cgroup or the mount root>/remedlab."""

    def __init__(
        self,
        base: str,
        mount: CgroupMount,
        controllers: Sequence[str],
        *,
        swap_control: bool,
        swap_active: bool,
    ) -> None:
        self.base = base
        self._mount = mount
        self.controllers = tuple(controllers)
        self.swap_control = swap_control
        self.swap_active = swap_active

    @property
    def version(self) -> int:
        return 2

    @property
    def mounts(self) -> tuple[CgroupMount, ...]:
        return (self._mount,)

    @classmethod
    def probe(
        cls, mounts: Sequence[CgroupMount] | None = None, own: Mapping[str, str] | None = None
    ) -> CgroupV2Hierarchy | str:
        """The usable v2 hierarchy, or the reason there is none.

        The server's own cgroup is tried first; a non-root cgroup that holds processes cannot
        delegate controllers ("no internal processes"), so the mount root is tried next.
        """
        mounts = cgroup_mounts() if mounts is None else mounts
        own = own_cgroups() if own is None else own
        mount = next((m for m in mounts if m.version == 2), None)
        if mount is None:
            return "no cgroup v2 hierarchy mounted"
        candidates = list(dict.fromkeys([cgroup_dir(mount, own.get("", "/")), mount.mountpoint]))
        reasons: list[str] = []
        for candidate in candidates:
            try:
                available = read_text(os.path.join(candidate, "cgroup.controllers")).split()
            except OSError as exc:
                reasons.append(f"cgroup v2 {candidate}: {exc.strerror or exc}")
                continue
            absent = [c for c in REQUIRED_CONTROLLERS if c not in available]
            if absent:
                reasons.append(f"cgroup v2 {candidate} has no {'/'.join(absent)} controller")
                continue
            controllers = [*REQUIRED_CONTROLLERS, *(c for c in OPTIONAL_CONTROLLERS if c in available)]
            base = os.path.join(candidate, REMEDLAB_DIR)
            probe_dir = os.path.join(base, f".probe-{os.getpid()}-{os.urandom(4).hex()}")
            existed = os.path.isdir(base)
            try:
                _enable_controllers(candidate, controllers)
                make_group_dirs(base)
                _enable_controllers(base, controllers)
                os.mkdir(probe_dir)
                swap_control = os.path.exists(os.path.join(probe_dir, "memory.swap.max"))
                os.rmdir(probe_dir)
            except OSError as exc:
                reasons.append(f"cgroup v2: cannot delegate controllers under {candidate}: {exc.strerror or exc}")
                continue
            finally:
                if not existed:
                    remove_if_empty(base)
            return cls(base, mount, controllers, swap_control=swap_control, swap_active=host_has_swap())
        return "; ".join(reasons)

    def _dir(self, *parts: str) -> str:
        return os.path.join(self.base, *parts)

    def group(self, cluster_id: str, pod_uid: str, container: str) -> CgroupV2Group:
        try:
            for level in (self.base, self._dir(cluster_id), self._dir(cluster_id, pod_uid)):
                make_group_dirs(level)
                _enable_controllers(level, self.controllers)
            leaf = self._dir(cluster_id, pod_uid, container)
            make_group_dirs(leaf)
            if os.path.exists(os.path.join(leaf, "memory.oom.group")):
                # Like the kubelet on cgroup v2: an OOM kill takes the whole container down.
                write_value(os.path.join(leaf, "memory.oom.group"), "1")
        except OSError as exc:
            raise IsolationError(f"cannot create the cgroup of {pod_uid}/{container}: {exc}") from exc
        return CgroupV2Group(leaf, io_accounting="io" in self.controllers)

    def base_dirs(self) -> list[str]:
        return [self.base]

    def cluster_dirs(self, cluster_id: str) -> list[str]:
        return [self._dir(cluster_id)]

    def pod_dirs(self, cluster_id: str, pod_uid: str) -> list[str]:
        return [self._dir(cluster_id, pod_uid)]

    def checks(self) -> list[FidelityCheck]:
        if self.swap_control:
            memory = FidelityCheck("memory limits", "full", "cgroup v2 memory.max, swap disabled (memory.swap.max=0)")
        elif not self.swap_active:
            memory = FidelityCheck("memory limits", "full", "cgroup v2 memory.max (the host has no swap)")
        else:
            memory = FidelityCheck(
                "memory limits",
                "degraded",
                "cgroup v2 memory.max; swap is not controllable (no memory.swap.max)",
            )
        if "io" in self.controllers:
            io = FidelityCheck("io accounting", "full", "cgroup v2 io.stat rbytes/wbytes")
        else:
            io = FidelityCheck(
                "io accounting",
                "degraded",
                "read_bytes/write_bytes of /proc/<pid>/io summed over the group's processes "
                "(no io controller; IO after a process's last sample is missed)",
            )
        return [
            FidelityCheck(
                "cpu limits", "full", f"cgroup v2 cpu.max (quota per {CFS_PERIOD_US}us period); requests as cpu.weight"
            ),
            memory,
            FidelityCheck("oom detection", "full", "cgroup v2 memory.events oom_kill counter"),
            FidelityCheck(
                "resource usage",
                "full",
                "cgroup v2 cpu.stat usage_usec; working set = memory.current - inactive_file",
            ),
            io,
            FidelityCheck(
                "process containment",
                "full",
                f"cgroup v2 membership under {self.base}; parent-death signal on the container's main process",
            ),
        ]
