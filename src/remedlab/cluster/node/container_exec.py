"""Processes started in a running container (``kubectl exec``, exec probes, fault stressors): in its
sandbox (cgroup, user), with its environment and working directory, the command resolved as the
container's image resolves it; refusals worded as kube-apiserver relays the kubelet's."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from remedlab.api.errors import BadRequest, ClusterError
from remedlab.api.image_map import ExecutableNotFound, ImageRegistry, container_argv
from remedlab.cluster.node.container_runtime import ContainerRuntime
from remedlab.cluster.node.exec_session import ExecLimits, ExecSession

if TYPE_CHECKING:
    from remedlab.cluster.node.pod_worker import PodWorker

EXEC_OUTPUT_LIMIT = 1 << 20
"""Bytes kept of each output stream of a command run to its end."""

OCI_EXEC_FAILED = "OCI runtime exec failed: exec failed: unable to start container process: "


async def exec_session(
    images: ImageRegistry,
    worker: PodWorker,
    c: ContainerRuntime,
    command: list[str],
    stdin: bool = False,
    tty: bool = False,
    limits: ExecLimits | None = None,
    size: tuple[int, int] | None = None,
) -> ExecSession:
    """`command` resolved as the container's image resolves it, started in the container (on a
    terminal of `size` with `tty`)."""
    if not command:
        raise BadRequest("you must specify at least one command for the container")
    image = images.resolve(c.spec["image"])
    if image is None or not c.is_running():
        raise upgrade_failed(f'container not found ("{c.name}")')
    mounts = worker.volumes.mounts_for(c.spec)
    env = worker.env_for(c, mounts)
    try:
        argv = container_argv(image, command, None)
    except ExecutableNotFound as exc:
        return ExecSession.not_started(f"{OCI_EXEC_FAILED}{exc}: unknown\n", 126, tty)
    try:
        return await start_in(worker, c, argv, env, mounts, stdin=stdin, tty=tty, limits=limits, size=size)
    except (OSError, subprocess.SubprocessError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return ExecSession.not_started(f'{OCI_EXEC_FAILED}exec: "{command[0]}": {reason}: unknown\n', code, tty)


async def start_in(
    worker: PodWorker,
    c: ContainerRuntime,
    argv: list[str],
    env: dict[str, str],
    mounts: dict[str, str],
    *,
    stdin: bool = False,
    output: bool = True,
    tty: bool = False,
    limits: ExecLimits | None = None,
    size: tuple[int, int] | None = None,
) -> ExecSession:
    """The one way a process starts in a running container's sandbox: its cgroup (counted against
    its limits), user, environment and working directory. `output` off: stdout and stderr go to
    /dev/null. Raises OSError or SubprocessError when it cannot start."""
    sandbox = c.sandbox
    return await ExecSession.start(
        argv,
        env=env,
        cwd=worker.workdir(c, mounts),
        preexec=sandbox.preexec if sandbox is not None else None,
        on_start=sandbox.attach if sandbox is not None else None,
        stdin=stdin,
        stdout=output,
        stderr=output,
        tty=tty,
        limits=limits,
        size=size,
    )


async def communicate(session: ExecSession) -> tuple[str, str, int]:
    """Wait for a session's command to end: (stdout, stderr, exit code)."""
    out, err, code = await session.communicate()
    return out.decode(errors="replace"), err.decode(errors="replace"), code


async def exec_to_end(
    images: ImageRegistry, worker: PodWorker, c: ContainerRuntime, command: list[str], timeout: float
) -> tuple[str, str, int]:
    """Run a command to its end in a container the caller holds (exec probes): each stream capped at
    :data:`EXEC_OUTPUT_LIMIT`, `timeout` seconds (then exit code 124); a container that stopped running
    meanwhile gives exit code 126 and the reason on stderr."""
    limits = ExecLimits(output_bytes=EXEC_OUTPUT_LIMIT, seconds=timeout)
    try:
        session = await exec_session(images, worker, c, command, limits=limits)
    except ClusterError as exc:
        return "", f"{exc.message}\n", 126
    return await communicate(session)


def upgrade_failed(reason: str) -> ClusterError:
    """An exec the node cannot serve, worded as kube-apiserver relays the kubelet's refusal."""
    inner = f"unable to upgrade connection: {reason}"
    return ClusterError(f"Internal error occurred: {inner}", {"causes": [{"message": inner}]})
