"""Fidelity checks: how faithfully this host can reproduce each Kubernetes mechanism."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from remedlab.api.fidelity_check import FidelityCheck

FUSE_DEVICE = "/dev/fuse"
FUSE_HELPERS = ("fusermount3", "fusermount")


@dataclass(frozen=True)
class FuseSupport:
    """What the IO-fault pass-through filesystem can rely on."""

    device_present: bool
    device_openable: bool
    helper: str | None  # absolute path of fusermount3/fusermount, if on PATH
    can_mount_directly: bool  # root may mount a FUSE filesystem without the helper
    problem: str  # why FUSE is unusable or limited ('' when fine)

    @property
    def usable(self) -> bool:
        return self.device_openable and (self.helper is not None or self.can_mount_directly)


def fuse_support() -> FuseSupport:
    """Probe /dev/fuse and the fusermount helpers."""
    present = os.path.exists(FUSE_DEVICE)
    openable = False
    problem = ""
    if present:
        try:
            fd = os.open(FUSE_DEVICE, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            problem = f"{FUSE_DEVICE} is not openable: {exc.strerror}"
        else:
            os.close(fd)
            openable = True
    else:
        problem = f"{FUSE_DEVICE} is absent (kernel without FUSE, or not exposed to this machine)"
    helper = next((path for path in map(shutil.which, FUSE_HELPERS) if path), None)
    direct = os.geteuid() == 0
    if openable and helper is None and not direct:
        problem = "neither fusermount3 nor fusermount is on PATH (install the fuse3 package)"
    return FuseSupport(present, openable, helper, direct, problem)


def fuse_check() -> FidelityCheck:
    """Whether IO faults (latency, errors) can be injected with the FUSE pass-through filesystem."""
    support = fuse_support()
    if not support.usable:
        return FidelityCheck("io faults", "none", f"FUSE unavailable: {support.problem}")
    if support.helper is not None:
        how = f"{FUSE_DEVICE} openable, mounts via {support.helper}"
    else:
        how = f"{FUSE_DEVICE} openable, no fusermount on PATH: mounts directly as root"
    return FidelityCheck("io faults", "full", f"{how}; the IO-fault pass-through filesystem will use it")


def network_fault_check() -> FidelityCheck:
    """Network faults are injected in remedlab's own dataplane, which needs nothing from the host."""
    return FidelityCheck("network faults", "full", "remedlab dataplane (userspace proxy per service/pod connection)")


def cluster_dns_check(mode: str, server: str | None, note: str = "") -> FidelityCheck:
    """How pods' processes resolve cluster names: ``mode`` is a `pod_dns.DnsMode` value, ``server`` the
    DNS server's ``ip:port`` when it listens."""
    where = f" at {server}" if server else ""
    if mode == "mount-namespace":
        return FidelityCheck(
            "cluster dns", "full", f"resolv.conf and hosts in each pod's mount namespace; cluster DNS{where}"
        )
    if mode == "shim":
        return FidelityCheck(
            "cluster dns",
            "degraded",
            f"cluster DNS{where} through the preloaded shim (libc lookups: getaddrinfo, gethostbyname, "
            "res_query); programs that read /etc/resolv.conf themselves, like dig, or link libc statically "
            "do not see it",
        )
    return FidelityCheck("cluster dns", "none", f"pods cannot resolve cluster names: {note or 'no cluster DNS'}")
