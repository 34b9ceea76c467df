"""`pods/exec` over WebSocket: the remote-command channel protocol kubectl and the official clients speak.

The query is kube-apiserver's PodExecOptions: `command` (repeated), `container`, `stdin`,
`stdout`, `stderr` and `tty`. A flag is on when present with any value but `0` or `false`, off
when absent, as kube-apiserver reads query flags; at least one of stdin, stdout and stderr must be
on. With `tty` the command's terminal merges stderr into stdout, so stderr is not offered. No
`container`: the one `default_container()` names, else the node picks (its first).

The subprotocol is the first of those the client offers that is served: `v5.channel.k8s.io`,
`v4.channel.k8s.io`, `channel.k8s.io`, and their text variants `v4.base64.channel.k8s.io` and
`base64.channel.k8s.io`; `channel.k8s.io` is assumed when the client offers none. A client that
offers only others is refused with 400 (an HTTP Status, before the upgrade).

Each frame starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize
(`{"Width": w, "Height": h}`). Binary variants: binary frames, one channel byte then the data
(text frames from the client are read as their UTF-8 bytes, as the official Python client sends
them). Base64 variants: text frames, the channel as an ASCII digit then the data in base64. Under
v5, `[255, 0]` from the client closes the command's stdin.

Right after the upgrade an empty frame on the first output channel asked for tells the client the
session is open. When the command ends and its output is sent, the error channel carries a Status
(v4 and v5: `{"metadata":{},"status":"Success"}`, or a Failure with reason NonZeroExitCode and the
exit code in `details.causes[0]` as `ExitCode`; the older protocols: a failure's message only, as
text) and the server closes the connection (1000). Errors before the command starts (a bad query,
no such pod or container, the container not running) come the same way, as a Failure Status with
kube-apiserver's message. A client that disconnects kills the command.

kubectl 1.31+ offers only `v5.channel.k8s.io` on a WebSocket GET and falls back to SPDY (POST) only
when that upgrade fails (any answer but 101, or another subprotocol). remedlab serves WebSocket only,
so once v5 is offered the upgrade is always accepted and every later error travels on the error
channel, where kubectl reports it ("error: <message>") without trying SPDY.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.websockets import WebSocket

from remedlab.api.errors import BadRequest, ClusterError
from remedlab.api.meta import Status, StatusCause, StatusDetails
from remedlab.cluster.apiserver.responses import json_bytes
from remedlab.cluster.apiserver.websocket_channels import (
    SEND_ERRORS,
    V1,
    V1_BASE64,
    V4,
    V4_BASE64,
    V5,
    ChannelSocket,
    first_served,
    offered_protocols,
    refuse,
)

PROTOCOLS = (V5, V4, V4_BASE64, V1, V1_BASE64)
_STATUS_AS_JSON = (V5, V4, V4_BASE64)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


class ExecProcess(Protocol):
    """A started command as the stream needs it (the node's ExecSession)."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...
    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...
    def kill(self) -> None: ...
    async def close(self) -> None: ...


class ExecOpener(Protocol):
    """Starts a command in a pod's container (the kubelet's `open_exec`); raises ClusterErrors."""

    async def __call__(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        command: list[str],
        stdin: bool,
        tty: bool,
        *,
        size: tuple[int, int] | None = None,
    ) -> ExecProcess: ...


@dataclass(frozen=True)
class ExecOptions:
    """A `pods/exec` query (core/v1 PodExecOptions), read as kube-apiserver reads it."""

    command: list[str]
    container: str | None = None
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str], commands: Sequence[str]) -> ExecOptions:
        tty = _flag(query, "tty")
        options = cls(
            command=list(commands),
            container=query.get("container") or None,
            stdin=_flag(query, "stdin"),
            stdout=_flag(query, "stdout"),
            # a terminal has one output stream: stderr is merged into stdout
            stderr=_flag(query, "stderr") and not tty,
            tty=tty,
        )
        if not (options.stdin or options.stdout or options.stderr):
            raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
        return options

    def wants(self, stream: int) -> bool:
        return (stream == STDOUT and self.stdout) or (stream == STDERR and self.stderr)


def negotiate(offered: Sequence[str]) -> str | None:
    """The subprotocol to speak: the first offered that is served (None: none offered or none fits)."""
    return first_served(offered, PROTOCOLS)


def exit_status(code: int) -> Status:
    """The Status that ends a session whose command exited with `code`."""
    if code == 0:
        return Status(status="Success")
    return Status(
        status="Failure",
        reason="NonZeroExitCode",
        message=f"command terminated with non-zero exit code: command terminated with exit code {code}",
        details=StatusDetails(causes=[StatusCause(reason="ExitCode", message=str(code))]),
    )


def error_status(error: ClusterError) -> Status:
    details = None
    if error.details:
        with contextlib.suppress(ValueError):
            details = StatusDetails.model_validate(error.details)
    return Status(status="Failure", message=error.message, reason=error.reason, code=error.code, details=details)


def status_bytes(status: Status) -> bytes:
    """The Status as the error channel carries it: JSON without kind and apiVersion, as the kubelet writes it."""
    document = status.model_dump(by_alias=True, exclude_none=True, mode="json", exclude={"kind", "api_version"})
    if "details" in document and not document["details"].get("causes"):
        document["details"].pop("causes", None)
    return json_bytes(document)


async def _finish(channels: ChannelSocket, status: Status) -> None:
    """Report how the session ended on the error channel, then close the connection."""
    with contextlib.suppress(*SEND_ERRORS):
        if channels.protocol in _STATUS_AS_JSON:
            await channels.send(ERROR, status_bytes(status))
        elif status.status != "Success":
            await channels.send(ERROR, (status.message or "").encode())
    await channels.close()


async def serve_exec(
    websocket: WebSocket,
    namespace: str,
    pod: str,
    open_exec: ExecOpener,
    default_container: Callable[[], str | None] | None = None,
) -> None:
    """Serve one `pods/exec` WebSocket: upgrade, start the command, relay its streams, report how it ended."""
    offered = offered_protocols(websocket)
    protocol = negotiate(offered)
    if offered and protocol is None:
        await refuse(
            websocket, BadRequest(f"requested protocol(s) are not supported: {offered}; supports {list(PROTOCOLS)}")
        )
        return
    await websocket.accept(subprotocol=protocol)
    channels = ChannelSocket(websocket, protocol or V1)
    try:
        options = ExecOptions.parse(websocket.query_params, websocket.query_params.getlist("command"))
        container = options.container
        if container is None and default_container is not None:
            container = default_container()
        first = STDOUT if options.stdout else STDERR if options.stderr else ERROR
        await channels.send(first, b"")
        early = await _early_frames(channels) if options.tty else _EarlyFrames([], None, None)
        session = await open_exec(
            namespace, pod, container, options.command, options.stdin, options.tty, size=early.size
        )
    except ClusterError as exc:
        await _finish(channels, error_status(exc))
        return
    except SEND_ERRORS:
        return  # the client left before the command started
    try:
        code = await _relay(channels, session, options, early)
    finally:
        await session.close()
    if code is not None:
        await _finish(channels, exit_status(code))


@dataclass
class _EarlyFrames:
    """What the client sent before its command started: the frames, the terminal size they told (if
    any), and the receive still waiting when the wait for a size ended."""

    frames: list[tuple[int, bytes] | None]
    size: tuple[int, int] | None
    waiting: asyncio.Task[tuple[int, bytes] | None] | None


TERMINAL_SIZE_WAIT = 0.5
"""How long a terminal command waits for the client's size (kubectl sends it as the stream opens)."""


async def _early_frames(channels: ChannelSocket) -> _EarlyFrames:
    """The frames that arrive until the client tells its terminal size, or for TERMINAL_SIZE_WAIT."""
    early = _EarlyFrames([], None, None)
    deadline = asyncio.get_running_loop().time() + TERMINAL_SIZE_WAIT
    sizes = _ResizeReader(lambda width, height: setattr(early, "size", (width, height)))
    while early.size is None:
        waiting = asyncio.create_task(channels.receive())
        done, _ = await asyncio.wait([waiting], timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        if not done:
            early.waiting = waiting  # read on by the relay: nothing is lost
            break
        frame = waiting.result()
        early.frames.append(frame)
        if frame is None:
            break
        if frame[0] == RESIZE:
            sizes.feed(frame[1])
    return early


async def _relay(
    channels: ChannelSocket, session: ExecProcess, options: ExecOptions, early: _EarlyFrames
) -> int | None:
    """Relay the streams until the command ends (its exit code) or the client leaves (None: killed)."""

    async def send_output() -> None:
        async for stream, chunk in session.output():
            if options.wants(stream):
                await channels.send(stream, chunk)

    sending = asyncio.create_task(send_output())
    receiving = asyncio.create_task(_receive(channels, session, options, early))
    ending: asyncio.Task[int] | None = None
    try:
        done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done and sending.exception() is None:
            ending = asyncio.create_task(session.wait())
            finished, _ = await asyncio.wait([ending, receiving], return_when=asyncio.FIRST_COMPLETED)
            if ending in finished:
                return ending.result()
        session.kill()  # the client left, or the output could not be sent
        return None
    finally:
        for task in (sending, receiving, ending):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a client that left mid-frame, a send to a closed socket: nothing more to do


async def _receive(channels: ChannelSocket, session: ExecProcess, options: ExecOptions, early: _EarlyFrames) -> None:
    """Feed stdin and terminal sizes from the client's frames (those that came before the command
    started first); returns when the client disconnects."""
    resize = _ResizeReader(session.resize)

    async def frames() -> AsyncIterator[tuple[int, bytes] | None]:
        for frame in early.frames:
            yield frame
        if early.waiting is not None:
            yield await early.waiting
        while True:
            yield await channels.receive()

    async for frame in frames():
        if frame is None:
            return
        channel, payload = frame
        if channel == STDIN and options.stdin:
            await session.write_stdin(payload)
        elif channel == RESIZE:
            resize.feed(payload)
        elif channel == CLOSE and channels.protocol == V5 and payload[:1] == bytes([STDIN]):
            await session.close_stdin()


class _ResizeReader:
    """Terminal sizes from the resize channel: a stream of JSON objects, however they are framed."""

    def __init__(self, resize: Callable[[int, int], None]) -> None:
        self.resize = resize
        self.pending = ""

    def feed(self, payload: bytes) -> None:
        self.pending += payload.decode(errors="replace")
        decoder = json.JSONDecoder()
        while self.pending.strip():
            text = self.pending.lstrip()
            try:
                size, end = decoder.raw_decode(text)
            except ValueError:
                if len(text) > 4096:
                    self.pending = ""  # not JSON: drop it
                return
            self.pending = text[end:]
            if isinstance(size, dict):
                width, height = size.get("Width"), size.get("Height")
                if isinstance(width, int) and isinstance(height, int):
                    self.resize(width, height)


def _flag(query: Mapping[str, str], name: str) -> bool:
    """A query flag as kube-apiserver reads one: absent, `0` or `false` (any case) is off, anything else on."""
    value = query.get(name)
    return value is not None and value != "0" and value.lower() != "false"
