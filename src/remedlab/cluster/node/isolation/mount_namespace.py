"""Whether this host gives each pod its own mount namespace, and the paths of remedlab's runtime that
every pod's user must reach in it."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import remedlab
from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation import linux_calls

SWITCH_ENV = "REMEDLAB_POD_NAMESPACES"
"""``off`` keeps pods in the node's mount namespace (volumes passed in REMEDLAB_MOUNTS)."""


def _probe() -> None:
    linux_calls.unshare(linux_calls.CLONE_NEWNS | linux_calls.CLONE_NEWUTS)
    linux_calls.mount(None, "/", None, linux_calls.MS_REC | linux_calls.MS_SLAVE)
    linux_calls.mount("tmpfs", "/tmp", "tmpfs", linux_calls.MS_NOSUID | linux_calls.MS_NODEV, "mode=1777")


@functools.cache
def _host_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"mount namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("sleep") is None:
        return "no sleep(1) on PATH to hold the namespaces"
    linux_calls.prepare()
    try:
        subprocess.run(["true"], preexec_fn=_probe, check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot make a mount namespace ({type(exc).__name__})"
    return None


def namespaces_unavailable() -> str | None:
    """Why pods cannot have their own mount namespace here, or None when they can."""
    if os.environ.get(SWITCH_ENV, "on") == "off":
        return f"turned off ({SWITCH_ENV}=off)"
    return _host_reason()


def mount_namespace_check(reason: str | None) -> FidelityCheck:
    if reason is None:
        return FidelityCheck(
            "mount namespace",
            "full",
            "each pod has its own mount and UTS namespaces: volumes at their mountPath, a private /tmp, "
            "its resolv.conf and hosts, its hostname, a /proc showing its user's processes only; "
            "remedlab's runtime reachable wherever it is installed",
        )
    return FidelityCheck(
        "mount namespace",
        "degraded",
        f"pods share the node's filesystem ({reason}): volumes are host directories whose container "
        "paths are passed in REMEDLAB_MOUNTS, /tmp and the hostname are the node's",
    )


def runtime_paths(*extra: Path | str) -> tuple[str, ...]:
    """Every host path a pod's processes need of remedlab's runtime (the interpreter, the virtual
    environment, the import path, the source tree), plus `extra`, resolved."""
    source = Path(remedlab.__file__).resolve().parent.parent
    candidates: list[str] = [
        sys.executable,
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(source),
        *[p for p in sys.path if p and os.path.isabs(p)],
        *[str(p) for p in extra],
    ]
    found: dict[str, None] = {}
    for path in candidates:
        if os.path.exists(path):
            found[os.path.realpath(path)] = None
    return tuple(found)
