"""A sandbox whose PATH holds a fake `kubectl` (a shell script), for running agents' commands for real."""

from __future__ import annotations

import stat
from pathlib import Path

from remedlab.remediate.command_runner import Sandbox


def fake_kubectl_sandbox(tmp_path: Path, script: str, **options: float) -> Sandbox:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(script)
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"}
    return Sandbox(cwd=work, env=env, **options)  # type: ignore[arg-type]
