"""A pod's mount and UTS namespaces, held by a small process as Kubernetes' pause container holds a
pod's namespaces.

`PodNamespace.create` forks the holder, which builds the pod's filesystem in new namespaces (see
isolation/pod_filesystem.py) before it execs ``sleep infinity`` under the name
``remedlab-pod-ns:<pod uid>``; it dies with the server (parent-death signal). The kubelet keeps a
descriptor of each namespace: every process of the pod (containers, ``kubectl exec`` sessions,
exec probes, fault stressors) joins them with `setns` in its pre-exec step (`entry`), then changes
to its working directory as the pod sees it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from remedlab.cluster.node.isolation.linux_calls import CLONE_NEWNS, CLONE_NEWUTS, prepare, setns
from remedlab.cluster.node.isolation.pod_filesystem import PodFilesystem, build_pod_filesystem

HOLDER_NAME = "remedlab-pod-ns"
HOLDER_RECORD = ".namespaces"
"""The key the holder's process is recorded under in the store (no container name starts with a dot)."""
STAGING_DIR = "rootfs"
"""The pod's directory the holder builds the new root on (empty on the host)."""
_PR_SET_PDEATHSIG = 1
_ERROR_LIMIT = 4096


class PodNamespaceError(Exception):
    """The pod's namespaces could not be set up (one line: what failed)."""


def _holder_preexec(plan: PodFilesystem, errors: int) -> Callable[[], None]:
    prepare()
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl

    def preexec() -> None:
        try:
            build_pod_filesystem(plan)
            parent = os.getppid()
            prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)
        except BaseException as exc:
            text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            os.write(errors, text.encode(errors="replace")[:_ERROR_LIMIT])
            raise

    return preexec


class PodNamespace:
    """The namespaces of one pod: the holder process and the kubelet's descriptors of them."""

    def __init__(self, holder: subprocess.Popen[bytes], mnt_fd: int, uts_fd: int) -> None:
        self.holder = holder
        self.mnt_fd = mnt_fd
        self.uts_fd = uts_fd

    @property
    def pid(self) -> int:
        return self.holder.pid

    @classmethod
    def create(cls, pod_uid: str, plan: PodFilesystem) -> PodNamespace:
        """Start the holder of a pod's namespaces; PodNamespaceError when they cannot be set up."""
        sleep = shutil.which("sleep")
        if sleep is None:
            raise PodNamespaceError("cannot hold the pod's namespaces: no sleep(1) on PATH")
        Path(plan.staging).mkdir(parents=True, exist_ok=True)
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        try:
            try:
                holder = subprocess.Popen(
                    [f"{HOLDER_NAME}:{pod_uid}", "infinity"],
                    executable=sleep,
                    preexec_fn=_holder_preexec(plan, write_end),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd="/",
                    start_new_session=True,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                os.close(write_end)
                write_end = -1
                detail = os.read(read_end, _ERROR_LIMIT).decode(errors="replace").strip() or str(exc)
                raise PodNamespaceError(f"cannot set up the pod's mount namespace: {detail}") from None
        finally:
            if write_end >= 0:
                os.close(write_end)
            os.close(read_end)
        try:
            mnt_fd = os.open(f"/proc/{holder.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            try:
                uts_fd = os.open(f"/proc/{holder.pid}/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                os.close(mnt_fd)
                raise
        except OSError as exc:
            _kill(holder)
            raise PodNamespaceError(f"the pod's namespace holder ended at once: {exc.strerror}") from None
        return cls(holder, mnt_fd, uts_fd)

    def entry(self, workdir: str, fallback: str) -> Callable[[], None]:
        """A pre-exec step: join the pod's namespaces, then change to `workdir` as the pod sees it
        (`fallback` when it is not there)."""
        prepare()
        mnt_fd, uts_fd = self.mnt_fd, self.uts_fd

        def enter() -> None:
            setns(mnt_fd, CLONE_NEWNS)
            setns(uts_fd, CLONE_NEWUTS)
            try:
                os.chdir(workdir)
            except OSError:
                os.chdir(fallback)

        return enter

    def alive(self) -> bool:
        return self.holder.poll() is None

    def close(self) -> None:
        """End the holder and drop the descriptors: the namespaces, and every mount in them, go once
        the pod's last process has ended."""
        _kill(self.holder)
        for fd in (self.mnt_fd, self.uts_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.mnt_fd = self.uts_fd = -1


def _kill(holder: subprocess.Popen[bytes]) -> None:
    if holder.poll() is None:
        with contextlib.suppress(OSError):
            holder.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        holder.wait(timeout=5)
