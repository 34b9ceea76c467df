"""A command run in a container's sandbox: the node's side of `kubectl exec` and of exec probes.

An `ExecSession` is one process started with the container's cgroup, user, environment and
working directory (the kubelet prepares those and passes them in), plus the standard streams the
caller asked for:

- `stdin`: `write_stdin(data)` feeds it, `close_stdin()` ends it; without stdin the command reads
  /dev/null.
- `stdout` and `stderr`: `output()` yields `(fd, chunk)` pairs (1 stdout, 2 stderr) as the command
  writes them, until both streams end. Read it to the end before or while awaiting `wait()`: a
  command whose output nobody reads blocks once the pipe is full, as on any system. A stream the
  caller did not ask for goes to /dev/null.
- `tty=True` runs the command on a new pseudo-terminal, its controlling terminal (so shells turn
  interactive, `test -t 0` holds, Ctrl-C and job control work), with `TERM=xterm` unless the
  container sets TERM, as container runtimes do. The terminal merges stderr into stdout, so
  `output()` yields fd 1 only; the terminal echoes input; `close_stdin()` types Ctrl-D (end of
  input at the start of a line); `resize(width, height)` sets the window size (80x24 until then; the
  command gets SIGWINCH).

The session ends when the command exits and its output is read: the streams' last bytes are read
for up to DRAIN_SECONDS after the exit (a background child that keeps them open is left running,
but its later output is not read). `wait()` gives the exit code: a command killed by signal N ends
with 128+N, as container runtimes report it.

`ExecLimits` stops a session: beyond `output_bytes` on one stream, or after `seconds`, the
command's whole process tree is killed and a line on stderr says why; a timed-out command exits
with 124, as timeout(1) does. `kill()` ends the process tree at once (a client that went away);
`close()` releases the session, killing a command still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import psutil

from remedlab.cluster.node.container_process import kill_tree

STDOUT = 1
STDERR = 2
READ_CHUNK = 65536
DRAIN_SECONDS = 2.0
"""How long the output of a command that exited is still read (children may hold the streams open)."""
TIMEOUT_EXIT_CODE = 124
CTRL_D = b"\x04"

PreExec = Callable[[], None]


@dataclass(frozen=True)
class ExecLimits:
    """When a session is stopped: more than `output_bytes` on one stream, or after `seconds` (None: never)."""

    output_bytes: int | None = None
    seconds: float | None = None


def _controlling_terminal(terminal: int, then: PreExec | None) -> PreExec:
    """A preexec that gives the child a new session whose controlling terminal is `terminal`, then runs `then`.

    It runs between fork and exec: only system calls here. The event loop may run it before or after
    its own setsid and dup2 (uvloop: before), so it starts the session itself (EPERM: it leads one
    already) and names the terminal by the descriptor it has in either case.
    """

    def preexec() -> None:
        with contextlib.suppress(PermissionError):
            os.setsid()
        fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
        if then is not None:
            then()

    return preexec


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _ready(fd: int, writing: bool) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    if writing:
        loop.add_writer(fd, _wake, future)
    else:
        loop.add_reader(fd, _wake, future)
    try:
        await future
    finally:
        if writing:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def _read_fd(fd: int) -> bytes:
    """One chunk from a non-blocking pipe or terminal; b"" at its end."""
    while True:
        try:
            return os.read(fd, READ_CHUNK)
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno == errno.EIO:  # a terminal whose every other end is closed
                return b""
            raise
        await _ready(fd, writing=False)


async def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            await _ready(fd, writing=True)


def _exit_code(returncode: int) -> int:
    return returncode if returncode >= 0 else 128 - returncode


class ExecSession:
    """One command in a container's sandbox with its streams; see the module's docstring."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process | None,
        *,
        tty: bool,
        stdin_fd: int | None,
        outputs: dict[int, int],
        limits: ExecLimits,
        failure: tuple[bytes, int] | None = None,
    ) -> None:
        self._proc = proc
        self.tty = tty
        self._stdin_fd = stdin_fd
        self._outputs = outputs
        self._limits = limits
        self._failure = failure
        self._note = b""
        self._timed_out = False
        self._closed = False
        self._watchdog: asyncio.Task[None] | None = None
        if proc is not None and limits.seconds is not None:
            self._watchdog = asyncio.create_task(self._enforce_time_limit(proc, limits.seconds))

    # ------------------------------------------------------------------ starting

    @classmethod
    async def start(
        cls,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: str | None,
        preexec: PreExec | None = None,
        on_start: Callable[[int], None] | None = None,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        tty: bool = False,
        limits: ExecLimits | None = None,
        size: tuple[int, int] | None = None,
    ) -> ExecSession:
        """Start `argv` (a resolved executable first). Raises OSError or SubprocessError when it cannot start.
        With `tty`, the terminal is `size` (width, height) from the start, else 80x24 until resized.

        `preexec` runs in the child before exec (joins the sandbox); `on_start` gets the pid once it runs.
        """
        child: list[int] = []
        parent: list[int] = []
        stdin_fd: int | None = None
        outputs: dict[int, int] = {}
        try:
            if tty:
                master, slave = os.openpty()
                parent.append(master)
                child.append(slave)
                # the client's size when it told it in time, else a terminal's usual one until it does (it
                # may never: a non-interactive client)
                width, height = size or (80, 24)
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
                env = {"TERM": "xterm", **env}
                in_spec: int = slave
                out_spec: int = slave
                err_spec: int = slave
                if stdin:
                    stdin_fd = master
                outputs[STDOUT] = master
                preexec = _controlling_terminal(slave, preexec)
            else:
                in_spec = out_spec = err_spec = subprocess.DEVNULL
                if stdin:
                    read_end, stdin_fd = os.pipe()
                    parent.append(stdin_fd)
                    child.append(read_end)
                    in_spec = read_end
                if stdout:
                    outputs[STDOUT], out_spec = os.pipe()
                    parent.append(outputs[STDOUT])
                    child.append(out_spec)
                if stderr:
                    outputs[STDERR], err_spec = os.pipe()
                    parent.append(outputs[STDERR])
                    child.append(err_spec)
            for fd in parent:
                os.set_blocking(fd, False)
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=in_spec,
                stdout=out_spec,
                stderr=err_spec,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=preexec,
            )
        except BaseException:
            for fd in parent:
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise
        finally:
            for fd in child:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if on_start is not None:
            on_start(proc.pid)
        return cls(proc, tty=tty, stdin_fd=stdin_fd, outputs=outputs, limits=limits or ExecLimits())

    @classmethod
    def not_started(cls, message: str, exit_code: int, tty: bool = False) -> ExecSession:
        """A command that could not start: `message` on stderr (the terminal with a tty), then `exit_code`."""
        return cls(None, tty=tty, stdin_fd=None, outputs={}, limits=ExecLimits(), failure=(message.encode(), exit_code))

    # ------------------------------------------------------------------ streams

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The command's process (None: it could not start)."""
        return self._proc

    async def write_stdin(self, data: bytes) -> None:
        """Feed the command's stdin; ignored once stdin is closed or when the command stopped reading."""
        if self._stdin_fd is None or not data:
            return
        try:
            await _write_fd(self._stdin_fd, data)
        except OSError:  # EPIPE: nobody reads stdin any more
            self._forget_stdin()

    async def close_stdin(self) -> None:
        """End the command's input (a terminal gets Ctrl-D)."""
        if self._stdin_fd is None:
            return
        if self.tty:
            with contextlib.suppress(OSError):
                await _write_fd(self._stdin_fd, CTRL_D)
            self._stdin_fd = None  # the terminal stays open: it carries the output
            return
        self._forget_stdin()

    def _forget_stdin(self) -> None:
        fd, self._stdin_fd = self._stdin_fd, None
        if fd is not None and fd not in self._outputs.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def resize(self, width: int, height: int) -> None:
        """Set the terminal's window size (no terminal: nothing to do)."""
        fd = self._outputs.get(STDOUT)
        if not self.tty or fd is None or width <= 0 or height <= 0:
            return
        with contextlib.suppress(OSError):
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        """`(fd, chunk)` as the command writes them, until its streams end; then a note if it was stopped."""
        notes_fd = STDOUT if self.tty else STDERR
        if self._failure is not None:
            yield notes_fd, self._failure[0]
            return
        assert self._proc is not None
        proc = self._proc
        sent = dict.fromkeys(self._outputs, 0)
        reads: dict[asyncio.Task[bytes], int] = {
            asyncio.ensure_future(_read_fd(fd)): stream for stream, fd in self._outputs.items()
        }
        exited: asyncio.Task[int] | None = asyncio.ensure_future(proc.wait())
        deadline: float | None = None
        try:
            while reads:
                waiting: set[asyncio.Future[Any]] = set(reads)
                if exited is not None:
                    waiting.add(exited)
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    break  # the command exited a while ago; whoever still holds its streams is not waited for
                if exited is not None and exited in done:
                    exited = None
                    deadline = time.monotonic() + DRAIN_SECONDS
                for task in [t for t in reads if t in done]:
                    stream = reads.pop(task)
                    try:
                        chunk = task.result()
                    except OSError:
                        chunk = b""
                    if not chunk:
                        continue
                    cap = self._limits.output_bytes
                    if cap is not None and sent[stream] + len(chunk) > cap:
                        chunk = chunk[: max(0, cap - sent[stream])]
                        self._stop(f"output exceeded {cap} bytes: command stopped\n")
                    if chunk:
                        sent[stream] += len(chunk)
                        yield stream, chunk
                    reads[asyncio.ensure_future(_read_fd(self._outputs[stream]))] = stream
        finally:
            for task in reads:
                task.cancel()
            if exited is not None:
                exited.cancel()
        if self._note and (notes_fd in self._outputs or not self._outputs):
            yield notes_fd, self._note

    # ------------------------------------------------------------------ lifetime

    async def wait(self) -> int:
        """The command's exit code, once it ends (124 when it ran out of time, 128+N when killed by signal N)."""
        if self._failure is not None:
            return self._failure[1]
        assert self._proc is not None
        returncode = await self._proc.wait()
        if self._watchdog is not None:
            self._watchdog.cancel()
        return TIMEOUT_EXIT_CODE if self._timed_out else _exit_code(returncode)

    async def communicate(self) -> tuple[bytes, bytes, int]:
        """Everything the command writes, and its exit code; the session is closed after."""
        out, err = bytearray(), bytearray()
        try:
            async for stream, chunk in self.output():
                (out if stream == STDOUT else err).extend(chunk)
            return bytes(out), bytes(err), await self.wait()
        finally:
            await self.close()

    def kill(self) -> None:
        """SIGKILL the command's whole process tree."""
        if self._proc is not None and self._proc.returncode is None:
            # reaped already, the loop not yet told: nothing left to kill
            with contextlib.suppress(psutil.NoSuchProcess):
                kill_tree(self._proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill the command if it still runs, and release its streams."""
        if self._closed:
            return
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._proc is not None and self._proc.returncode is None:
            self.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 5)
        self._forget_stdin()
        for fd in set(self._outputs.values()):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._outputs = {}

    async def __aenter__(self) -> ExecSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _stop(self, note: str) -> None:
        if not self._note:
            self._note = note.encode()
        self.kill()

    async def _enforce_time_limit(self, proc: asyncio.subprocess.Process, seconds: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), seconds)
        except TimeoutError:
            self._timed_out = True
            self._stop(f"command timed out after {seconds:g}s\n")
