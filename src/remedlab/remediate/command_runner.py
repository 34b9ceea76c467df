"""Running agents' commands once the policy allowed them: no shell, a clean environment, a time limit
that kills the whole process tree, and output capped.

A :class:`Sandbox` says where and as whom commands run: a working directory of
their own, an environment holding only what is listed (a PATH with this
installation's ``kubectl`` first, a KUBECONFIG with the agent token), and,
when the server runs as root, an unprivileged user.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from remedlab.cluster.node.container_process import kill_tree
from remedlab.remediate.command_policy import Allowed, CommandRefused, check_probe

PROBE_TIMEOUT = 10.0
"""Seconds each probe command may run, as ThinkRemed's probe_system allows."""
OUTPUT_LIMIT = 64 * 1024
"""Bytes kept of each of a command's stdout and stderr."""
KILL_GRACE = 1.0


@dataclass(frozen=True)
class Sandbox:
    """Where agents' commands run."""

    cwd: Path
    env: Mapping[str, str]
    user: tuple[int, int] | None = None
    timeout: float = PROBE_TIMEOUT
    output_limit: int = OUTPUT_LIMIT
    preexec: Callable[[], None] | None = None
    """Run in the child before exec instead of switching to ``user`` directly: it gives the command
    the view of the filesystem it needs and then becomes ``user`` itself."""


@dataclass
class CommandResult:
    """What one command did (or why it did not run)."""

    command: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    truncated: bool = False
    refused: str | None = None
    argv: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused is None and not self.timed_out and self.exit_code == 0

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command,
            "exitCode": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "seconds": round(self.seconds, 3),
            "timedOut": self.timed_out,
            "truncated": self.truncated,
            "refused": self.refused,
        }

    def transcript(self) -> str:
        """The result as an agent reads it: the output, then a line saying how it ended."""
        if self.refused is not None:
            return self.refused
        parts = [p for p in (self.stdout.rstrip("\n"), self.stderr.rstrip("\n")) if p]
        if self.truncated:
            parts.append("[output cut: too long]")
        if self.timed_out:
            parts.append(f"[stopped after {self.seconds:.0f}s: time limit reached]")
        elif self.exit_code:
            parts.append(f"[exit code {self.exit_code}]")
        return "\n".join(parts)


class _Capped:
    """Reads a stream to the end, keeping its first ``limit`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.data = bytearray()
        self.truncated = False
        self._stream = stream
        self._limit = limit
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            chunk = os.read(self._stream.fileno(), 65536)
            if not chunk:
                break
            room = self._limit - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            if len(chunk) > max(room, 0):
                self.truncated = True
        self._stream.close()

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", errors="replace")


def run_allowed(allowed: Allowed, sandbox: Sandbox) -> CommandResult:
    """Run a checked command in ``sandbox``; the time limit stops its whole process tree."""
    return run_argv(list(allowed.argv), allowed.text, sandbox)


def run_argv(argv: list[str], text: str, sandbox: Sandbox, extra_env: Mapping[str, str] | None = None) -> CommandResult:
    """Run ``argv`` (already checked by its caller) in ``sandbox``, without a shell."""
    result = CommandResult(text, argv=list(argv))
    started = time.monotonic()
    switch = sandbox.user if sandbox.preexec is None else None
    try:
        proc = subprocess.Popen(
            argv,
            cwd=sandbox.cwd,
            env={**sandbox.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            user=switch[0] if switch else None,
            group=switch[1] if switch else None,
            extra_groups=[] if switch else None,
            preexec_fn=sandbox.preexec,
        )
    except OSError as exc:
        result.exit_code = 127
        result.stderr = f"{argv[0]}: {exc.strerror or exc}"
        return result
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Capped(proc.stdout, sandbox.output_limit), _Capped(proc.stderr, sandbox.output_limit)
    try:
        proc.wait(sandbox.timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        kill_tree(proc.pid, signal.SIGTERM)
        try:
            proc.wait(KILL_GRACE)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid, signal.SIGKILL)
            proc.wait()
    # descendants that outlived the command (daemonised, still holding the pipes) go too
    if _group_alive(proc.pid):
        kill_tree(proc.pid, signal.SIGKILL)
    out.thread.join(KILL_GRACE)
    err.thread.join(KILL_GRACE)
    result.exit_code = proc.returncode
    result.stdout, result.stderr = out.text(), err.text()
    result.truncated = out.truncated or err.truncated
    result.seconds = time.monotonic() - started
    return result


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run_probe(commands: str, sandbox: Sandbox) -> list[CommandResult]:
    """ThinkRemed's probe_system: each ';'-separated command checked as read-only, then run in turn.

    A refused command is reported (and nothing of the string runs), so the agent
    reads why and corrects itself.
    """
    try:
        checked = check_probe(commands)
    except CommandRefused as exc:
        return [refused_command(exc)]
    return run_checked_probe(checked, sandbox)


def refused_command(refusal: CommandRefused) -> CommandResult:
    """The answer to a command the policy refused: nothing ran."""
    return CommandResult(refusal.command, refused=str(refusal))


def run_checked_probe(checked: Sequence[Allowed], sandbox: Sandbox) -> list[CommandResult]:
    """Run each command of a probe that passed the policy, in turn."""
    return [run_allowed(allowed, sandbox) for allowed in checked]
