"""A remedlab server of a lane's own: started in a temporary REMEDLAB_HOME on free loopback ports, and
killed with its parent, even when the parent is killed with SIGKILL (the kernel's parent-death signal)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from remedlab.free_port import free_port
from remedlab.tokens import default_token_file, token_for_scope
from remedlab.volume_storage import remove_state_directory

PR_SET_PDEATHSIG = 1
HOME_PREFIX = "remedlab-lane-"
OWNER_FILE = "owner.pid"


def die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGKILL when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class LaneServerError(RuntimeError):
    """The lane's server did not start; the message says why."""


class LaneServer:
    def __init__(self, timeout: float = 60.0) -> None:
        sweep_dead_homes()
        self.home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX, dir=_scratch()))
        os.chmod(self.home, 0o755)
        (self.home / OWNER_FILE).write_text(str(os.getpid()))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "REMEDLAB_HOME": str(self.home),
            "REMEDLAB_SERVER": self.url,
            "KUBECONFIG": str(self.home / "kubeconfig"),
        }
        for name in ("REMEDLAB_TOKEN", "REMEDLAB_TOKEN_FILE", "REMEDLAB_AGENT_TOKEN"):
            env.pop(name, None)
        log = (self.home / "server.log").open("ab")
        command = [sys.executable, "-m", "remedlab.cli.main", "serve", "--port", str(self.port), "--kube-port", "0"]
        self.proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        log.close()
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.home / "server.log").read_text(errors="replace")[-500:]
                raise LaneServerError(f"the lane's server exited: {tail}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:
                if answer.status == 200 and self.token("admin"):
                    return
            time.sleep(0.1)
        self.stop()
        raise LaneServerError(f"the lane's server did not start within {timeout:g}s")

    def token(self, scope: str) -> str | None:
        return token_for_scope(default_token_file(self.home), scope)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        remove_state_directory(self.home)


def sweep_dead_homes() -> None:
    """Remove the state directories of lanes whose process was killed (nothing else could)."""
    for home in Path(_scratch() or tempfile.gettempdir()).glob(HOME_PREFIX + "*"):
        try:
            owner = int((home / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _alive(owner):
            remove_state_directory(home)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _scratch() -> str | None:
    return "/var/tmp" if os.access("/var/tmp", os.W_OK | os.X_OK) else None
