"""A fresh working directory per agent action, and the sandbox its commands run in.

Each probe or playbook gets ``<home>/actions/<time>-<id>/``, owned by the
user the commands run as; its environment holds only a PATH that finds
remedlab's ``kubectl`` first, the server's address and the agent token (never
the admin one), HOME, and the locale. The oldest directories are removed
beyond :data:`KEEP_ACTIONS`.
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


def tools_path() -> str:
    """The PATH of agents' commands: this installation's scripts (kubectl, ansible-playbook) first."""
    return f"{Path(sys.executable).parent}:{SYSTEM_PATH}"


def new_workspace(
    home: Path,
    server_url: str,
    agent_token: str,
    *,
    user: tuple[int, int] | None,
    timeout: float,
    output_limit: int = OUTPUT_LIMIT,
) -> Sandbox:
    root = home / "actions"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    workdir = root / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    workdir.mkdir(mode=0o700)
    if user is not None:
        os.chown(workdir, *user)
    _prune(root)
    env = {
        "PATH": tools_path(),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "REMEDLAB_SERVER": server_url,
        "REMEDLAB_TOKEN": agent_token,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return Sandbox(cwd=workdir, env=env, user=user, timeout=timeout, output_limit=output_limit)


def _prune(root: Path) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in entries[:-KEEP_ACTIONS]:
        shutil.rmtree(old, ignore_errors=True)
