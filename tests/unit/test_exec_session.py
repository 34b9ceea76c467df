"""Commands in a container's sandbox: `ExecSession` on this host, then the kubelet's exec and logs.

The session tests run real commands (`sh`, `cat`, `stty`) under both event loops the server may
use. The kubelet tests start an embedded cluster in a temporary home with busybox pods and call
`open_exec`, `exec`, `exec_to_end` (probes), and the pod logs as the API and the probes do.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from remedlab.api.errors import BadRequest, ClusterError, NotFound
from remedlab.api.pod_log_options import LogOptions
from remedlab.cluster.embedded import ClusterConfig, EmbeddedCluster
from remedlab.cluster.node.container_exec import OCI_EXEC_FAILED, exec_to_end
from remedlab.cluster.node.exec_session import DRAIN_SECONDS, ExecLimits, ExecSession
from remedlab.cluster.node.kubelet import Kubelet

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GREETING": "hello"}


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, None]], None]:
    """Runs a coroutine to its end under one of the event loops the server may use."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return lambda coroutine: uvloop.run(coroutine)
    return asyncio.run


async def _start(script: str, cwd: Path, **options: Any) -> ExecSession:
    return await ExecSession.start(["/bin/sh", "-c", script], env=ENV, cwd=str(cwd), **options)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


# --------------------------------------------------------------------------- ExecSession


def test_streams_environment_directory_and_exit_code(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        session = await _start("echo $GREETING; pwd; echo oops >&2; exit 3", tmp_path)
        out, err, code = await session.communicate()
        assert (out, err, code) == (f"hello\n{tmp_path}\n".encode(), b"oops\n", 3)

    run(main())


def test_stdin_is_fed_and_closed(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        async with await ExecSession.start(["/bin/cat"], env=ENV, cwd=str(tmp_path), stdin=True) as session:
            await session.write_stdin(b"one\n")
            await session.write_stdin(b"two\n")
            await session.close_stdin()
            chunks = [chunk async for _stream, chunk in session.output()]
            assert b"".join(chunks) == b"one\ntwo\n"
            assert await session.wait() == 0
        without = await _start("cat; echo done", tmp_path)  # no stdin: /dev/null, at its end at once
        assert await without.communicate() == (b"done\n", b"", 0)

    run(main())


def test_a_terminal_merges_output_echoes_input_and_takes_a_size(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        script = "test -t 0 && echo tty; echo $TERM; echo err >&2; stty size; read line; echo got $line"
        async with await _start(script, tmp_path, stdin=True, tty=True) as session:
            session.resize(100, 30)
            await session.write_stdin(b"abc\n")
            received = b""
            async for stream, chunk in session.output():
                assert stream == 1
                received += chunk
            assert await session.wait() == 0
        lines = received.decode().split("\r\n")
        assert {"tty", "xterm", "err", "abc", "got abc"} <= set(lines)  # "abc": the terminal's echo
        assert "30 100" in lines or "24 80" in lines  # the size in force when stty ran
        async with await ExecSession.start(["/bin/cat"], env=ENV, cwd=str(tmp_path), stdin=True, tty=True) as cat:
            await cat.write_stdin(b"typed\n")
            await cat.close_stdin()  # Ctrl-D: the end of input
            assert await asyncio.wait_for(cat.wait(), 10) == 0

    run(main())


def test_a_time_limit_kills_the_tree_with_124(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        session = await _start("sleep 60 & echo $!; exec sleep 61", tmp_path, limits=ExecLimits(seconds=0.5))
        started = time.monotonic()
        out, err, code = await session.communicate()
        assert code == 124 and err == b"command timed out after 0.5s\n"
        assert time.monotonic() - started < 5
        background = int(out.decode())
        deadline = time.monotonic() + 5
        while not _gone(background) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert _gone(background)

    run(main())


def test_an_output_cap_stops_the_command(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        session = await _start("yes", tmp_path, limits=ExecLimits(output_bytes=1000))
        out, err, code = await session.communicate()
        assert len(out) == 1000 and out.startswith(b"y\ny\n")
        assert err == b"output exceeded 1000 bytes: command stopped\n"
        assert code == 137  # SIGKILL, as container runtimes report it

    run(main())


def test_output_held_open_by_a_background_child_is_not_waited_for(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        session = await _start("sleep 30 & echo started", tmp_path)
        started = time.monotonic()
        out, _err, code = await session.communicate()
        assert (out, code) == (b"started\n", 0)
        assert time.monotonic() - started < DRAIN_SECONDS + 3

    run(main())


def test_kill_and_close_end_a_running_command(run: Callable[..., None], tmp_path: Path) -> None:
    async def main() -> None:
        session = await _start("exec sleep 60", tmp_path)
        session.kill()
        assert await asyncio.wait_for(session.wait(), 10) == 137
        await session.close()
        other = await _start("exec sleep 60", tmp_path)
        assert other.pid is not None
        await other.close()
        assert _gone(other.pid)

    run(main())


def test_a_command_that_could_not_start(run: Callable[..., None]) -> None:
    async def main() -> None:
        session = ExecSession.not_started("no such file\n", 127)
        assert await session.communicate() == (b"", b"no such file\n", 127)
        on_terminal = ExecSession.not_started("no such file\n", 126, tty=True)
        assert await on_terminal.communicate() == (b"no such file\n", b"", 126)

    run(main())


# --------------------------------------------------------------------------- the kubelet


def _pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": spec.pop("annotations", {})},
        "spec": {"containers": containers, **spec},
    }


def _in_cluster(tmp_path: Path, test: Callable[[EmbeddedCluster], Awaitable[None]]) -> None:
    async def main() -> None:
        cluster = EmbeddedCluster(ClusterConfig(home=tmp_path / "home", node_name="node"))
        await cluster.start()
        try:
            await test(cluster)
        finally:
            await cluster.stop()

    asyncio.run(main())


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _state(kubelet: Kubelet, pod: str, container: str) -> dict[str, Any]:
    for worker in kubelet.workers.values():
        if worker.name == pod:
            for c in [*worker.containers.values(), *worker.init_containers]:
                if c.name == container:
                    return c.state
    return {}


def _logs(kubelet: Kubelet, pod: str, container: str) -> str:
    """The container's log so far ("" while it is waiting to start)."""
    try:
        return kubelet.pod_logs.logs("default", pod, LogOptions(container=container))
    except BadRequest:
        return ""


def test_kubelet_exec_runs_in_the_container_and_reports_kube_apiservers_errors(tmp_path: Path) -> None:
    async def test(cluster: EmbeddedCluster) -> None:
        kubelet = cluster.kubelet
        cluster.api.create(
            _pod(
                "shell",
                [
                    {"name": "side", "image": "busybox", "command": ["sleep", "60"]},
                    {
                        "name": "app",
                        "image": "busybox",
                        "command": ["sleep", "60"],
                        "env": [{"name": "A", "value": "1"}],
                    },
                    {"name": "gone", "image": "busybox", "command": ["true"]},
                ],
                annotations={"kubectl.kubernetes.io/default-container": "app"},
                restartPolicy="Never",
            )
        )
        await _until(
            lambda: "running" in _state(kubelet, "shell", "app") and "terminated" in _state(kubelet, "shell", "gone")
        )

        out, err, code = await kubelet.exec("default", "shell", None, ["sh", "-c", "echo $HOSTNAME $A; exit 2"], 10)
        assert (out, err, code) == ("shell 1\n", "", 2)  # the annotated default container, its environment
        out, err, code = await kubelet.exec("default", "shell", "app", ["no-such-binary"], 10)
        assert (
            code == 126
            and err == f'{OCI_EXEC_FAILED}exec: "no-such-binary": executable file not found in $PATH: unknown\n'
        )
        out, err, code = await kubelet.exec("default", "shell", "app", ["sleep", "30"], 0.5)
        assert code == 124 and err == "command timed out after 0.5s\n"

        with pytest.raises(NotFound, match=r'^pods "nope" not found$'):
            await kubelet.open_exec("default", "nope", None, ["true"])
        with pytest.raises(BadRequest, match=r"^container db is not valid for pod shell$"):
            await kubelet.open_exec("default", "shell", "db", ["true"])
        with pytest.raises(BadRequest, match=r"^you must specify at least one command for the container$"):
            await kubelet.open_exec("default", "shell", "app", [])
        with pytest.raises(ClusterError) as stopped:
            await kubelet.open_exec("default", "shell", "gone", ["true"])
        assert stopped.value.code == 500
        assert (
            stopped.value.message
            == 'Internal error occurred: unable to upgrade connection: container not found ("gone")'
        )

        worker = next(w for w in kubelet.workers.values() if w.name == "shell")
        assert await exec_to_end(kubelet.images, worker, worker.containers["gone"], ["true"], 5) == (
            "",
            'Internal error occurred: unable to upgrade connection: container not found ("gone")\n',
            126,
        )

        async with await kubelet.open_exec("default", "shell", "app", ["cat"], stdin=True, tty=True) as session:
            await session.write_stdin(b"typed\n")
            await session.close_stdin()
            received = b"".join([chunk async for _stream, chunk in session.output()])
            assert await session.wait() == 0
        assert received.count(b"typed\r\n") == 2  # the terminal's echo, then cat's

    _in_cluster(tmp_path, test)


def test_kubelet_logs_and_their_errors(tmp_path: Path) -> None:
    async def test(cluster: EmbeddedCluster) -> None:
        kubelet = cluster.kubelet
        talk = {"name": "talk", "image": "busybox", "command": ["sh", "-c", "echo one; echo two; sleep 60"]}
        cluster.api.create(_pod("chatty", [talk, {"name": "quiet", "image": "busybox", "command": ["sleep", "60"]}]))
        cluster.api.create(_pod("pending", [{"name": "app", "image": "no-such-image"}]))
        await _until(lambda: "two" in _logs(kubelet, "chatty", "talk"))
        assert kubelet.pod_logs.logs("default", "chatty", LogOptions(container="talk", tail_lines=1)) == "two\n"
        stamped = kubelet.pod_logs.logs("default", "chatty", LogOptions(container="talk", timestamps=True)).splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two"]

        with pytest.raises(
            BadRequest, match=r"^a container name must be specified for pod chatty, choose one of: \[talk quiet\]$"
        ):
            kubelet.pod_logs.logs("default", "chatty", LogOptions())
        with pytest.raises(BadRequest, match=r"^container db is not valid for pod chatty$"):
            kubelet.pod_logs.logs("default", "chatty", LogOptions(container="db"))
        with pytest.raises(BadRequest, match=r'^previous terminated container "talk" in pod "chatty" not found$'):
            kubelet.pod_logs.logs("default", "chatty", LogOptions(container="talk", previous=True))
        with pytest.raises(NotFound):
            kubelet.pod_logs.logs("default", "nope", LogOptions())
        await _until(
            lambda: (
                "waiting" in _state(kubelet, "pending", "app")
                and _state(kubelet, "pending", "app")["waiting"]["reason"] != "ContainerCreating"
            )
        )
        with pytest.raises(BadRequest, match=r'^container "app" in pod "pending" is waiting to start: '):
            kubelet.pod_logs.logs("default", "pending", LogOptions())

    _in_cluster(tmp_path, test)


def test_kubelet_follow_log_ends_with_the_container_instance(tmp_path: Path) -> None:
    async def test(cluster: EmbeddedCluster) -> None:
        kubelet = cluster.kubelet
        script = "echo one; sleep 1; echo two; sleep 0.5"
        cluster.api.create(
            _pod("brief", [{"name": "app", "image": "busybox", "command": ["sh", "-c", script]}], restartPolicy="Never")
        )
        await _until(lambda: "one" in _logs(kubelet, "brief", "app"))
        lines = kubelet.pod_logs.follow_log("default", "brief", LogOptions())
        received = b""
        started = time.monotonic()
        async for chunk in lines:
            received += chunk
        assert received == b"one\ntwo\n"
        assert time.monotonic() - started < 10
        assert "terminated" in _state(kubelet, "brief", "app")
        after = b"".join(
            [chunk async for chunk in kubelet.pod_logs.follow_log("default", "brief", LogOptions(tail_lines=1))]
        )
        assert after == b"two\n"  # a container that ended: its log, then the end at once

    _in_cluster(tmp_path, test)
