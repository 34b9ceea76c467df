"""Per-container resource limits and the usage figures remedlab reports for a container."""

from __future__ import annotations

from dataclasses import dataclass

# The CFS period remedlab uses everywhere (cgroup quota and the fallback throttler): 100 ms.
CFS_PERIOD_US = 100_000
# The kernel refuses CFS quotas below 1 ms.
MIN_CFS_QUOTA_US = 1_000


class IsolationError(RuntimeError):
    """A limit or containment operation the host refused."""


@dataclass(frozen=True)
class ContainerLimits:
    """Limits of one container; ``None`` means unlimited."""

    cpu_millicores: int | None = None
    memory_bytes: int | None = None
    cpu_request_millicores: int | None = None
    """The CPU request: the container's weight when CPUs are contended (cpu.shares / cpu.weight)."""

    def __post_init__(self) -> None:
        if self.cpu_millicores is not None and self.cpu_millicores <= 0:
            raise ValueError(f"cpu limit must be positive, got {self.cpu_millicores}m")
        if self.memory_bytes is not None and self.memory_bytes <= 0:
            raise ValueError(f"memory limit must be positive, got {self.memory_bytes} bytes")


@dataclass
class Usage:
    """Cumulative CPU time, current memory working set and cumulative storage IO of a container."""

    cpu_seconds: float
    memory_bytes: int
    io_read_bytes: int
    io_write_bytes: int


MIN_CPU_SHARES = 2
MAX_CPU_SHARES = 262_144


def cpu_shares(request_millicores: int | None) -> int:
    """cgroup v1 cpu.shares for a CPU request, as the kubelet computes them (no request: the minimum)."""
    if not request_millicores:
        return MIN_CPU_SHARES
    return min(MAX_CPU_SHARES, max(MIN_CPU_SHARES, request_millicores * 1024 // 1000))


def cpu_weight(request_millicores: int | None) -> int:
    """cgroup v2 cpu.weight for a CPU request: the kubelet's mapping of shares onto 1..10000."""
    return 1 + ((cpu_shares(request_millicores) - MIN_CPU_SHARES) * 9999) // (MAX_CPU_SHARES - MIN_CPU_SHARES)


def cfs_quota_us(cpu_millicores: int, period_us: int = CFS_PERIOD_US) -> int:
    """The CFS quota for a limit in millicores: ``m * period / 1000``, at least the kernel minimum."""
    return max(MIN_CFS_QUOTA_US, cpu_millicores * period_us // 1000)
