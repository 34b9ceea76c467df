"""cgroup v1 driver: one directory per controller (cpu, cpuacct, memory, pids) per container."""

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
    remove_if_empty,
    remove_tree,
    write_value,
)
from remedlab.cluster.node.isolation.limits import (
    CFS_PERIOD_US,
    ContainerLimits,
    IsolationError,
    cfs_quota_us,
    cpu_shares,
)

REQUIRED_CONTROLLERS = ("cpu", "cpuacct", "memory")
OPTIONAL_CONTROLLERS = ("pids",)
_UNLIMITED = "-1"
_INFINITY = 1 << 62


class CgroupV1Group:
    """A container's cgroup: one directory under each v1 controller."""

    def __init__(self, dirs: Mapping[str, str], *, memsw: bool) -> None:
        self._dirs = dict(dirs)
        self._memsw = memsw
        unique: list[str] = []
        for directory in self._dirs.values():
            if directory not in unique:
                unique.append(directory)
        self._directories = tuple(unique)

    @property
    def identifier(self) -> str:
        return make_identifier(1, self._directories)

    @property
    def directories(self) -> tuple[str, ...]:
        return self._directories

    @property
    def procs_files(self) -> tuple[str, ...]:
        return tuple(os.path.join(directory, "cgroup.procs") for directory in self._directories)

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self._dirs[controller], name)

    def set_limits(self, limits: ContainerLimits) -> None:
        try:
            write_value(self._file("cpu", "cpu.cfs_period_us"), str(CFS_PERIOD_US))
            quota = _UNLIMITED if limits.cpu_millicores is None else str(cfs_quota_us(limits.cpu_millicores))
            write_value(self._file("cpu", "cpu.cfs_quota_us"), quota)
            write_value(self._file("cpu", "cpu.shares"), str(cpu_shares(limits.cpu_request_millicores)))
        except OSError as exc:
            raise IsolationError(f"cannot set the cpu limit of {self._dirs['cpu']}: {exc}") from exc
        try:
            self._set_memory(limits.memory_bytes)
        except OSError as exc:
            raise IsolationError(f"cannot set the memory limit of {self._dirs['memory']}: {exc}") from exc

    def _set_memory(self, memory_bytes: int | None) -> None:
        value = _UNLIMITED if memory_bytes is None else str(memory_bytes)
        limit_file = self._file("memory", "memory.limit_in_bytes")
        if not self._memsw:
            write_value(limit_file, value)
            return
        # memory+swap must never be below memory: raise memsw first when growing, last when shrinking.
        memsw_file = self._file("memory", "memory.memsw.limit_in_bytes")
        target = _INFINITY if memory_bytes is None else memory_bytes
        if target > read_int(memsw_file):
            write_value(memsw_file, value)
            write_value(limit_file, value)
        else:
            write_value(limit_file, value)
            write_value(memsw_file, value)

    def cpu_seconds(self) -> float:
        return read_int(self._file("cpuacct", "cpuacct.usage")) / 1e9

    def memory_working_set(self) -> int:
        usage = read_int(self._file("memory", "memory.usage_in_bytes"))
        stat = read_flat_keyed(self._file("memory", "memory.stat"))
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
        return max(0, usage - inactive)

    def io_bytes(self) -> tuple[int, int] | None:
        return None

    def oom_kills(self) -> int | None:
        return read_flat_keyed(self._file("memory", "memory.oom_control")).get("oom_kill")

    def memory_failcnt(self) -> int | None:
        return read_int(self._file("memory", "memory.failcnt"))

    def procs(self) -> list[int]:
        members: set[int] = set()
        for directory in self._directories:
            members.update(read_procs(directory))
        return sorted(members)

    def kill(self, sig: int) -> None:
        kill_members(self._directories, sig)

    def remove(self, *, timeout: float = 2.0) -> bool:
        return all([remove_tree(directory, timeout=timeout) for directory in self._directories])


class CgroupV1Hierarchy:
    """The v1 controllers remedlab uses, each rooted at <server's own cgroup>/remedlab."""

    def __init__(
        self,
        bases: Mapping[str, str],
        mounts: Sequence[CgroupMount],
        *,
        memsw: bool,
        oom_counter: bool,
        swap_active: bool,
    ) -> None:
        self.bases = dict(bases)
        self._mounts = tuple(mounts)
        self.memsw = memsw
        self.oom_counter = oom_counter
        self.swap_active = swap_active

    @property
    def version(self) -> int:
        return 1

    @property
    def mounts(self) -> tuple[CgroupMount, ...]:
        return self._mounts

    @classmethod
    def probe(
        cls, mounts: Sequence[CgroupMount] | None = None, own: Mapping[str, str] | None = None
    ) -> CgroupV1Hierarchy | str:
        """The usable v1 hierarchy, or the reason there is none."""
        mounts = cgroup_mounts() if mounts is None else mounts
        own = own_cgroups() if own is None else own
        bases: dict[str, str] = {}
        used: list[CgroupMount] = []
        for controller in REQUIRED_CONTROLLERS + OPTIONAL_CONTROLLERS:
            mount = next((m for m in mounts if m.version == 1 and controller in m.controllers), None)
            if mount is None:
                if controller in REQUIRED_CONTROLLERS:
                    return f"no cgroup v1 {controller} controller mounted"
                continue
            bases[controller] = os.path.join(cgroup_dir(mount, own.get(controller, "/")), REMEDLAB_DIR)
            if mount not in used:
                used.append(mount)
        probe_name = f".probe-{os.getpid()}-{os.urandom(4).hex()}"
        for base in dict.fromkeys(bases.values()):
            existed = os.path.isdir(base)
            try:
                make_group_dirs(os.path.join(base, probe_name))
                os.rmdir(os.path.join(base, probe_name))
            except OSError as exc:
                return f"cgroup v1: cannot create cgroups under {base}: {exc.strerror or exc}"
            finally:
                if not existed:
                    remove_if_empty(base)
        memory_base = os.path.dirname(bases["memory"])  # the server's own group: same kernel features
        try:
            oom_counter = "oom_kill" in read_flat_keyed(os.path.join(memory_base, "memory.oom_control"))
        except OSError:
            oom_counter = False
        return cls(
            bases,
            used,
            memsw=os.path.exists(os.path.join(memory_base, "memory.memsw.limit_in_bytes")),
            oom_counter=oom_counter,
            swap_active=host_has_swap(),
        )

    def _dirs(self, *parts: str) -> dict[str, str]:
        return {controller: os.path.join(base, *parts) for controller, base in self.bases.items()}

    def group(self, cluster_id: str, pod_uid: str, container: str) -> CgroupV1Group:
        dirs = self._dirs(cluster_id, pod_uid, container)
        try:
            for directory in dict.fromkeys(dirs.values()):
                make_group_dirs(directory)
            if not self.memsw and self.swap_active:
                write_value(os.path.join(dirs["memory"], "memory.swappiness"), "0")
        except OSError as exc:
            raise IsolationError(f"cannot create the cgroup of {pod_uid}/{container}: {exc}") from exc
        return CgroupV1Group(dirs, memsw=self.memsw)

    def base_dirs(self) -> list[str]:
        return list(dict.fromkeys(self.bases.values()))

    def cluster_dirs(self, cluster_id: str) -> list[str]:
        return list(dict.fromkeys(self._dirs(cluster_id).values()))

    def pod_dirs(self, cluster_id: str, pod_uid: str) -> list[str]:
        return list(dict.fromkeys(self._dirs(cluster_id, pod_uid).values()))

    def checks(self) -> list[FidelityCheck]:
        if self.memsw:
            memory = FidelityCheck(
                "memory limits",
                "full",
                "cgroup v1 memory.limit_in_bytes, swap disabled via memory.memsw.limit_in_bytes",
            )
        elif not self.swap_active:
            memory = FidelityCheck("memory limits", "full", "cgroup v1 memory.limit_in_bytes (the host has no swap)")
        else:
            memory = FidelityCheck(
                "memory limits",
                "degraded",
                "cgroup v1 memory.limit_in_bytes with memory.swappiness=0; swap is not accounted "
                "(boot with swapaccount=1 to disable it per group)",
            )
        if self.oom_counter:
            oom = FidelityCheck("oom detection", "full", "cgroup v1 memory.oom_control oom_kill counter")
        else:
            oom = FidelityCheck(
                "oom detection",
                "degraded",
                "cgroup v1 memory.failcnt increase plus a SIGKILL exit (kernel without an oom_kill counter)",
            )
        controllers = ", ".join(self.bases)
        return [
            FidelityCheck(
                "cpu limits",
                "full",
                f"cgroup v1 cfs quota (cpu.cfs_quota_us per {CFS_PERIOD_US}us cpu.cfs_period_us);"
                " requests as cpu.shares",
            ),
            memory,
            oom,
            FidelityCheck(
                "resource usage",
                "full",
                "cgroup v1 cpuacct.usage; working set = memory.usage_in_bytes - total_inactive_file",
            ),
            FidelityCheck(
                "io accounting",
                "degraded",
                "read_bytes/write_bytes of /proc/<pid>/io summed over the group's processes "
                "(IO after a process's last sample is missed)",
            ),
            FidelityCheck(
                "process containment",
                "full",
                f"cgroup v1 membership ({controllers}) under {self.bases['memory']}; "
                "parent-death signal on the container's main process",
            ),
        ]
