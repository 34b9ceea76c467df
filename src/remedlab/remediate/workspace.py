"""A fresh working directory per agent action, and the sandbox its commands run in.

Each probe or playbook gets ``<home>/actions/<time>-<id>/``, owned by the
user the commands run as, holding a copy of the server's agent kubeconfig
(``kubeconfig``, mode 0600, the agent token: never the admin one). Its
environment holds only a PATH that finds this installation's ``kubectl`` and
``ansible-playbook`` first, ``KUBECONFIG`` naming that copy (so the real
kubectl reaches this lab's Kubernetes API over HTTPS), HOME (the working
directory: kubectl's discovery cache lives there), and the locale.

Beyond :data:`KEEP_ACTIONS` directories the oldest are removed, except those
of actions still running (``new_workspace(..., hold=True)`` keeps a directory
until :func:`release`). Names sort in creation order, to the microsecond.

A discovery cache per action costs little: about 20 KB, and ~50 ms on a
``kubectl get`` (none on ``describe`` or ``rollout status``); a cache shared
between actions would let one action's kubectl mislead the next ones', so each
action discovers for itself.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from remedlab.remediate.command_runner import OUTPUT_LIMIT, Sandbox

KEEP_ACTIONS = 100
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
KUBECONFIG_FILE = "kubeconfig"

_held: set[Path] = set()
"""Working directories of actions still running: never pruned."""
_held_lock = threading.Lock()


class WorkspaceError(Exception):
    """A working directory cannot be prepared; the message says why and what to do, in one line."""


def tools_path() -> str:
    """The PATH of agents' commands: this installation's scripts (kubectl, ansible-playbook) first."""
    return f"{Path(sys.executable).parent}:{SYSTEM_PATH}"


def new_workspace(
    home: Path,
    *,
    kubeconfig: Path,
    user: tuple[int, int] | None,
    timeout: float,
    output_limit: int = OUTPUT_LIMIT,
    hold: bool = False,
    preexec: Callable[[], None] | None = None,
) -> Sandbox:
    """A fresh working directory with a copy of ``kubeconfig`` (the server's agent kubeconfig); ``hold``
    keeps it from being pruned until :func:`release` (while its action runs)."""
    try:
        config = kubeconfig.read_bytes()
    except OSError as exc:
        raise WorkspaceError(
            f"cannot read the agent kubeconfig {kubeconfig} ({exc.strerror}): restart the server to write it"
        ) from None
    root = home / "actions"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    now = time.time()
    stamp = f"{time.strftime('%Y%m%dT%H%M%S', time.localtime(now))}.{int(now % 1 * 1e6):06d}"
    workdir = root / f"{stamp}-{secrets.token_hex(4)}"
    with _held_lock:
        workdir.mkdir(mode=0o700)
        if hold:
            _held.add(workdir)
    try:
        copy = _write_private(workdir / KUBECONFIG_FILE, config, user)
        if user is not None:
            os.chown(workdir, *user)
    except BaseException:
        release(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    _prune(root, workdir)
    env = {
        "PATH": tools_path(),
        "HOME": str(workdir),
        "KUBECONFIG": str(copy),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return Sandbox(cwd=workdir, env=env, user=user, timeout=timeout, output_limit=output_limit, preexec=preexec)


def _write_private(path: Path, data: bytes, user: tuple[int, int] | None) -> Path:
    """Write ``data`` to a new file readable by ``user`` only (by this process's user when None)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if user is not None:
            os.fchown(fd, *user)
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def release(workdir: Path) -> None:
    """The action in ``workdir`` ended: its directory may be pruned like any other."""
    with _held_lock:
        _held.discard(workdir)


def _prune(root: Path, new: Path) -> None:
    """Remove the oldest directories beyond :data:`KEEP_ACTIONS`, never ``new`` nor one still held."""
    entries = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    with _held_lock:  # listed first: a directory made meanwhile is either held already or not listed
        keep = {*_held, new}
    for old in entries[:-KEEP_ACTIONS]:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)
