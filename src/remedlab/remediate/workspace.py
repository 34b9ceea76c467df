"""A fresh working directory per agent action, and the sandbox its commands run in.

Each probe or playbook gets ``<home>/actions/<time>-<id>/``, owned by the
user the commands run as, holding a copy of the server's agent kubeconfig
(``kubeconfig``, mode 0600, the agent token: never the admin one). Its
environment holds only a PATH that finds this installation's ``kubectl`` and
``ansible-playbook`` first, ``KUBECONFIG`` naming that copy (so the real
kubectl reaches this lab's Kubernetes API over HTTPS), HOME (the working
directory: kubectl's discovery cache lives there), and the locale. The
oldest directories are removed beyond :data:`KEEP_ACTIONS`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from remedlab.remediate.command_runner import OUTPUT_LIMIT, Sandbox

KEEP_ACTIONS = 100
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
KUBECONFIG_FILE = "kubeconfig"


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
) -> Sandbox:
    """A fresh working directory with a copy of ``kubeconfig`` (the server's agent kubeconfig)."""
    try:
        config = kubeconfig.read_bytes()
    except OSError as exc:
        raise WorkspaceError(
            f"cannot read the agent kubeconfig {kubeconfig} ({exc.strerror}): restart the server to write it"
        ) from None
    root = home / "actions"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    workdir = root / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    workdir.mkdir(mode=0o700)
    copy = _write_private(workdir / KUBECONFIG_FILE, config, user)
    if user is not None:
        os.chown(workdir, *user)
    _prune(root)
    env = {
        "PATH": tools_path(),
        "HOME": str(workdir),
        "KUBECONFIG": str(copy),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return Sandbox(cwd=workdir, env=env, user=user, timeout=timeout, output_limit=output_limit)


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


def _prune(root: Path) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in entries[:-KEEP_ACTIONS]:
        shutil.rmtree(old, ignore_errors=True)
