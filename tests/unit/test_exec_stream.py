"""`pods/exec` and `pods/log` as clients speak them, against real local processes.

A Starlette app routes the two subresources to `serve_exec` and `log_response`, with a fake node
behind them: its exec opener starts real commands (`sh -c`, `cat`) as ExecSessions, its log reader
serves a container log file the test writes. The app also answers what kubectl asks before it
streams (discovery, the pod). uvicorn serves it on 127.0.0.1 (a free port) from a thread; the
clients are the official Python client (`kubernetes.stream.stream`), a bare WebSocket client (to
check the frames themselves) and the real kubectl (skipped when the binary is absent).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from remedlab.api.errors import BadRequest, ClusterError, NotFound
from remedlab.api.meta import APIGroupList, APIResource, APIResourceList, APIVersions, ServerAddressByClientCIDR
from remedlab.api.pod_log_options import LogOptions
from remedlab.cluster.apiserver.exec_stream import serve_exec
from remedlab.cluster.apiserver.log_stream import log_response
from remedlab.cluster.apiserver.responses import error_response, json_response
from remedlab.cluster.node.container_logs import ContainerLog
from remedlab.cluster.node.exec_session import ExecSession
from remedlab.cluster.node.log_follow import follow_log_file
from remedlab.free_port import free_port

NS, POD = "shop", "web"
EXEC = f"/api/v1/namespaces/{NS}/pods/{POD}/exec"
STREAMS = "stdout=true&stderr=true"


@dataclass
class FakeNode:
    """A node with one pod, `web` (container `app`): commands run on this host, the log is a file."""

    workdir: Path
    log: ContainerLog
    running: bool = True
    following: int = 0
    sessions: list[ExecSession] = field(default_factory=list)
    containers: list[str | None] = field(default_factory=list)

    def _check(self, pod: str, container: str | None) -> None:
        if pod != POD:
            raise NotFound.of("pods", pod)
        if container not in (None, "app"):
            raise BadRequest(f"container {container} is not valid for pod {pod}")

    async def open_exec(
        self,
        namespace: str,
        pod: str,
        container: str | None,
        command: list[str],
        stdin: bool,
        tty: bool,
        *,
        size: tuple[int, int] | None = None,
    ) -> ExecSession:
        if container == "sidecar":  # a container that is not running (crashed, say)
            message = 'unable to upgrade connection: container not found ("sidecar")'
            raise ClusterError(f"Internal error occurred: {message}", {"causes": [{"message": message}]})
        self._check(pod, container)
        self.containers.append(container)
        if not command:
            raise BadRequest("you must specify at least one command for the container")
        executable = shutil.which(command[0])
        if executable is None:
            return ExecSession.not_started(f'exec: "{command[0]}": executable file not found in $PATH\n', 127, tty)
        session = await ExecSession.start(
            [executable, *command[1:]],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd=str(self.workdir),
            stdin=stdin,
            tty=tty,
            size=size,
        )
        self.sessions.append(session)
        return session

    def logs(self, namespace: str, name: str, options: LogOptions) -> str:
        self._check(name, options.container)
        text = self.log.read(options.previous, options.tail_lines, options.since_seconds, options.timestamps)
        if text is None:
            raise BadRequest(f'previous terminated container "app" in pod "{name}" not found')
        return text

    def follow_log(self, namespace: str, name: str, options: LogOptions) -> AsyncIterator[bytes]:
        self._check(name, options.container)
        lines = follow_log_file(
            self.log.current, lambda: self.running, options.tail_lines, options.since_seconds, options.timestamps
        )
        return self._watched(lines)

    async def _watched(self, lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        self.following += 1
        try:
            async for chunk in lines:
                yield chunk
        finally:
            self.following -= 1


POD_OBJECT = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": POD,
        "namespace": NS,
        "uid": "0c1e6b8e-5d1f-4c35-9b7e-2f5a3a7c9d10",
        "annotations": {"kubectl.kubernetes.io/default-container": "app"},
    },
    "spec": {
        "containers": [{"name": "app", "image": "busybox"}, {"name": "sidecar", "image": "busybox"}],
        "nodeName": "node",
    },
    "status": {"phase": "Running"},
}


def _discovery(request: Request) -> Response:
    """The legacy discovery documents kubectl falls back to: the core group with pods and its subresources."""
    path = request.url.path
    if path == "/api":
        cidr = ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=request.url.netloc)
        return json_response(APIVersions(versions=["v1"], server_address_by_client_cidrs=[cidr]))
    if path == "/apis":
        return json_response(APIGroupList(groups=[]))
    pods = APIResource(
        name="pods",
        singular_name="pod",
        namespaced=True,
        kind="Pod",
        verbs=["get", "list"],
        short_names=["po"],
        categories=["all"],
    )
    subresources = [
        APIResource(name=f"pods/{sub}", singular_name="", namespaced=True, kind=kind, verbs=["get"])
        for sub, kind in (("exec", "PodExecOptions"), ("log", "Pod"))
    ]
    return json_response(APIResourceList(group_version="v1", resources=[pods, *subresources]))


def _app(node: FakeNode) -> Starlette:
    async def pod_exec(websocket: WebSocket) -> None:
        params = websocket.path_params
        await serve_exec(websocket, params["namespace"], params["name"], node.open_exec, lambda: "app")

    async def pod_log(request: Request) -> Response:
        try:
            return log_response(
                node, request.path_params["namespace"], request.path_params["name"], request.query_params
            )
        except ClusterError as exc:
            return error_response(exc)

    async def pod(request: Request) -> Response:
        if (request.path_params["namespace"], request.path_params["name"]) != (NS, POD):
            return error_response(NotFound.of("pods", request.path_params["name"]))
        return json_response(POD_OBJECT)

    async def discovery(request: Request) -> Response:
        return _discovery(request)

    return Starlette(
        routes=[
            Route("/api", discovery),
            Route("/apis", discovery),
            Route("/api/v1", discovery),
            WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", pod_exec),
            Route("/api/v1/namespaces/{namespace}/pods/{name}/log", pod_log),
            Route("/api/v1/namespaces/{namespace}/pods/{name}", pod),
        ]
    )


@dataclass
class Served:
    url: str
    node: FakeNode
    clients: list[client.ApiClient] = field(default_factory=list)

    def api(self) -> client.CoreV1Api:
        configuration = client.Configuration()
        configuration.host = self.url
        self.clients.append(client.ApiClient(configuration))
        return client.CoreV1Api(self.clients[-1])

    def ws(self, query: str, protocols: list[str] | None = None) -> ClientConnection:
        subprotocols: Any = ["v5.channel.k8s.io"] if protocols is None else protocols
        return connect(f"ws{self.url[4:]}{EXEC}?{query}", subprotocols=subprotocols, open_timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    log = ContainerLog(tmp_path / "logs" / "app")
    log.rotate()
    node = FakeNode(tmp_path, log)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_app(node), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="exec-stream-test-server", daemon=True)
    thread.start()
    served = Served(f"http://127.0.0.1:{port}", node)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.02)
        yield served
    finally:
        for api_client in served.clients:
            api_client.close()  # type: ignore[no-untyped-call]
        node.running = False
        server.should_exit = True
        thread.join(15)
        for session in node.sessions:  # the server closed them; a leftover would be a bug, not a leak
            if session.process is not None and session.process.returncode is None:
                session.kill()
        assert not thread.is_alive(), "the test server did not stop"


def _frames(ws: ClientConnection) -> list[bytes]:
    """Every frame until the server closes the connection."""
    frames: list[bytes] = []
    with contextlib.suppress(Exception):
        while True:
            message = ws.recv(timeout=10)
            frames.append(message if isinstance(message, bytes) else message.encode())
    return frames


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"
    return True


# --------------------------------------------------------------------------- exec, official client


def test_python_client_gets_stdout_stderr_and_exit_code(served: Served) -> None:
    resp = stream(
        served.api().connect_get_namespaced_pod_exec,
        POD,
        NS,
        command=["sh", "-c", "echo out; echo err >&2; exit 3"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    assert resp.read_stdout() == "out\n"
    assert resp.read_stderr() == "err\n"
    assert resp.returncode == 3
    resp.close()


def test_python_client_feeds_stdin_and_closes_it(served: Served) -> None:
    resp = stream(
        served.api().connect_get_namespaced_pod_exec,
        POD,
        NS,
        command=["cat"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    assert resp.subprotocol == "v5.channel.k8s.io"
    resp.write_stdin("hello\n")
    resp.write_stdin(b"bytes too\n")
    resp.close_channel(0)  # v5: [255, 0]
    resp.run_forever(timeout=10)
    assert resp.read_stdout() == "hello\nbytes too\n"
    assert resp.returncode == 0
    resp.close()


def test_python_client_preloaded_output(served: Served) -> None:
    out = stream(
        served.api().connect_get_namespaced_pod_exec,
        POD,
        NS,
        command=["sh", "-c", "echo $((6 * 7)); pwd"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert out.splitlines() == ["42", str(served.node.workdir)]


def test_python_client_with_a_terminal(served: Served) -> None:
    resp = stream(
        served.api().connect_get_namespaced_pod_exec,
        POD,
        NS,
        command=["sh", "-c", "test -t 0 && echo on a tty; echo to stderr >&2"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=True,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    out = resp.read_stdout()
    assert "on a tty\r\n" in out and "to stderr\r\n" in out  # one stream: the terminal
    assert resp.read_stderr() == ""
    assert resp.returncode == 0
    resp.close()


def test_python_client_resizes_the_terminal(served: Served) -> None:
    resp = stream(
        served.api().connect_get_namespaced_pod_exec,
        POD,
        NS,
        command=["sh", "-c", "read line; stty size"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=True,
        _preload_content=False,
    )
    resp.write_channel(4, json.dumps({"Width": 100, "Height": 30}))
    resp.write_stdin("go\n")
    resp.run_forever(timeout=10)
    assert "30 100\r\n" in resp.read_stdout()
    assert resp.returncode == 0
    resp.close()


def test_an_error_before_the_command_starts_is_a_status_on_the_error_channel(served: Served) -> None:
    resp = stream(
        served.api().connect_get_namespaced_pod_exec,
        "gone",
        NS,
        command=["true"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    status = json.loads(resp.read_channel(3))
    resp.close()
    assert status == {
        "metadata": {},
        "status": "Failure",
        "message": 'pods "gone" not found',
        "reason": "NotFound",
        "code": 404,
    }


# --------------------------------------------------------------------------- exec, the frames themselves


def test_frames_of_a_successful_command(served: Served) -> None:
    with served.ws(f"command=echo&command=hi&{STREAMS}") as ws:
        assert ws.subprotocol == "v5.channel.k8s.io"
        frames = _frames(ws)
        assert ws.close_code == 1000
    assert frames[0] == b"\x01"  # the session is open
    assert b"".join(f[1:] for f in frames if f[0] == 1) == b"hi\n"
    assert frames[-1] == b'\x03{"metadata":{},"status":"Success"}'
    assert served.node.containers == ["app"]  # no container named: the default one


def test_non_zero_exit_status_has_kube_apiservers_shape(served: Served) -> None:
    with served.ws(f"command=sh&command=-c&command=exit+7&{STREAMS}") as ws:
        frames = _frames(ws)
    assert frames[-1][0] == 3
    assert json.loads(frames[-1][1:]) == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: command terminated with exit code 7",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "7"}]},
    }


def test_v4_is_spoken_when_offered_alone(served: Served) -> None:
    with served.ws(f"command=sh&command=-c&command=echo+e+>%262;+exit+2&{STREAMS}", ["v4.channel.k8s.io"]) as ws:
        assert ws.subprotocol == "v4.channel.k8s.io"
        frames = _frames(ws)
    assert b"".join(f[1:] for f in frames if f[0] == 2) == b"e\n"
    assert json.loads(frames[-1][1:])["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]


def test_channel_k8s_io_reports_failures_as_text(served: Served) -> None:
    with served.ws(f"command=true&container=db&{STREAMS}", ["channel.k8s.io"]) as ws:
        assert ws.subprotocol == "channel.k8s.io"
        frames = _frames(ws)
    assert frames[-1] == b"\x03container db is not valid for pod web"


def test_unsupported_subprotocols_are_refused(served: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        served.ws("command=true", ["v3.channel.k8s.io"])
    assert refused.value.response.status_code == 400
    assert b"not supported" in refused.value.response.body


def test_a_missing_executable_exits_127_with_a_message(served: Served) -> None:
    with served.ws(f"command=no-such-binary&{STREAMS}") as ws:
        frames = _frames(ws)
    assert b"no-such-binary" in b"".join(f[1:] for f in frames if f[0] == 2)
    assert json.loads(frames[-1][1:])["details"]["causes"][0]["message"] == "127"


@pytest.mark.parametrize("streams", ["", "stdout=false&stderr=0", "stderr=FALSE&tty=true"])
def test_no_stream_at_all_is_a_bad_request(served: Served, streams: str) -> None:
    with served.ws(f"command=true&{streams}") as ws:
        frames = _frames(ws)
    status = json.loads(frames[-1][1:])
    assert status["code"] == 400 and status["reason"] == "BadRequest"
    assert status["message"] == "you must specify at least 1 of stdin, stdout, stderr"
    assert served.node.containers == []  # nothing was started


def test_an_empty_command_is_a_bad_request(served: Served) -> None:
    with served.ws(STREAMS) as ws:
        frames = _frames(ws)
    assert json.loads(frames[-1][1:])["message"] == "you must specify at least one command for the container"


def test_base64_subprotocols_send_text_frames(served: Served) -> None:
    query = f"command=sh&command=-c&command=head+-c+3;+echo+err+>%262;+exit+5&stdin=true&{STREAMS}"
    with served.ws(query, ["v4.base64.channel.k8s.io"]) as ws:
        assert ws.subprotocol == "v4.base64.channel.k8s.io"
        ws.send("0" + base64.b64encode(b"abc").decode())
        messages = []
        with contextlib.suppress(Exception):
            while True:
                messages.append(ws.recv(timeout=10))
    assert all(isinstance(m, str) for m in messages)
    decoded = [(int(m[0]), base64.b64decode(m[1:])) for m in messages if isinstance(m, str)]
    assert b"".join(d for c, d in decoded if c == 1) == b"abc"
    assert b"".join(d for c, d in decoded if c == 2) == b"err\n"
    assert json.loads(decoded[-1][1])["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}]


def test_stdout_not_asked_for_is_not_sent(served: Served) -> None:
    with served.ws("command=sh&command=-c&command=echo+out;+echo+err+>%262&stdout=false&stderr=1") as ws:
        frames = _frames(ws)
    assert frames[0] == b"\x02"
    assert {f[0] for f in frames} == {2, 3}


def test_a_client_that_leaves_kills_the_command(served: Served) -> None:
    with served.ws(f"command=sh&command=-c&command=echo+$$;+exec+sleep+60&{STREAMS}") as ws:
        frame = b""
        while not frame[1:]:
            received = ws.recv(timeout=10)
            frame = received if isinstance(received, bytes) else received.encode()
        pid = int(frame[1:].decode())
        assert _alive(pid)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


# --------------------------------------------------------------------------- logs


def _write(node: FakeNode, *lines: str) -> None:
    for line in lines:
        node.log.write("stdout", line.encode())


def test_logs_with_tail_timestamps_and_limit(served: Served) -> None:
    _write(served.node, "one", "two", "three")
    api = served.api()
    assert api.read_namespaced_pod_log(POD, NS) == "one\ntwo\nthree\n"
    assert api.read_namespaced_pod_log(POD, NS, tail_lines=2) == "two\nthree\n"
    assert api.read_namespaced_pod_log(POD, NS, limit_bytes=6) == "one\ntw"
    stamped = api.read_namespaced_pod_log(POD, NS, timestamps=True, container="app").splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"]
    assert stamped[0].split(" ")[0].endswith("Z")
    assert api.read_namespaced_pod_log(POD, NS, since_seconds=3600) == "one\ntwo\nthree\n"
    with urllib.request.urlopen(f"{served.url}/api/v1/namespaces/{NS}/pods/{POD}/log", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "text/plain"


def test_log_errors_are_statuses(served: Served) -> None:
    api = served.api()
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod_log("gone", NS)
    assert missing.value.status == 404 and json.loads(str(missing.value.body))["message"] == 'pods "gone" not found'
    with pytest.raises(ApiException) as previous:
        api.read_namespaced_pod_log(POD, NS, previous=True)
    assert previous.value.status == 400
    assert (
        json.loads(str(previous.value.body))["message"] == 'previous terminated container "app" in pod "web" not found'
    )
    with pytest.raises(urllib.error.HTTPError) as invalid:
        urllib.request.urlopen(f"{served.url}/api/v1/namespaces/{NS}/pods/{POD}/log?tailLines=-1", timeout=10)
    status = json.loads(invalid.value.read())
    assert invalid.value.code == 422 and status["reason"] == "Invalid"
    assert (
        status["message"]
        == 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0'
    )


def test_follow_streams_new_lines_until_the_container_ends(served: Served) -> None:
    _write(served.node, "before")
    answer: Any = served.api().read_namespaced_pod_log(POD, NS, follow=True, _preload_content=False)
    received = b""
    chunks = answer.stream(64)
    received += next(chunks)
    assert received == b"before\n"
    _write(served.node, "after 1", "after 2")
    while received.count(b"\n") < 3:
        received += next(chunks)
    assert received == b"before\nafter 1\nafter 2\n"
    served.node.running = False  # the container instance ends: so does the stream
    rest = b"".join(chunks)
    assert rest == b""


def test_follow_stops_when_the_client_leaves(served: Served) -> None:
    _write(served.node, "first")
    url = f"{served.url}/api/v1/namespaces/{NS}/pods/{POD}/log?follow=true&limitBytes=1000"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read1() == b"first\n"
        assert served.node.following == 1
    deadline = time.monotonic() + 5
    while served.node.following and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.node.following == 0
    assert served.node.running  # the container runs on: the client's leaving ended the stream


def test_follow_with_a_byte_limit_ends_at_the_limit(served: Served) -> None:
    _write(served.node, "0123456789")
    url = f"{served.url}/api/v1/namespaces/{NS}/pods/{POD}/log?follow=true&limitBytes=4"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"0123"


def test_since_time_and_its_conflict_with_since_seconds(served: Served) -> None:
    _write(served.node, "old enough")
    base = f"{served.url}/api/v1/namespaces/{NS}/pods/{POD}/log"
    with urllib.request.urlopen(f"{base}?sinceTime=2000-01-01T00:00:00Z", timeout=10) as answer:
        assert answer.read() == b"old enough\n"
    with urllib.request.urlopen(f"{base}?sinceTime=2999-01-01T00:00:00Z", timeout=10) as answer:
        assert answer.read() == b""
    with pytest.raises(urllib.error.HTTPError) as both:
        urllib.request.urlopen(f"{base}?sinceTime=2000-01-01T00:00:00Z&sinceSeconds=5", timeout=10)
    assert both.value.code == 422
    assert "at most one of `sinceTime` or `sinceSeconds` may be specified" in json.loads(both.value.read())["message"]


# --------------------------------------------------------------------------- the real kubectl


def _kubectl_binary() -> str | None:
    """The official kubectl: the virtualenv's (where the project installs it), else a local download."""
    for candidate in (Path(sys.executable).parent / "kubectl", Path("/tmp/realkubectl/bin/kubectl")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@dataclass
class Kubectl:
    binary: str
    kubeconfig: Path
    cache: Path

    def argv(self, *args: str) -> list[str]:
        return [self.binary, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.cache}", *args]

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), input=stdin, capture_output=True, text=True, timeout=60, check=False, env=_env()
        )


def _env() -> dict[str, str]:
    """kubectl's environment: no proxy for the local server, no user kubeconfig."""
    drop = {"KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "NO_PROXY": "127.0.0.1"}


@pytest.fixture
def kubectl(served: Served, tmp_path: Path) -> Kubectl:
    binary = _kubectl_binary()
    if binary is None:
        pytest.skip("the kubectl binary is not installed")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": served.url}}],
                "users": [{"name": "test", "user": {}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": NS}}],
                "current-context": "test",
            }
        )
    )
    return Kubectl(binary, kubeconfig, tmp_path / "kube-cache")


def test_kubectl_exec_relays_streams_and_the_exit_code(kubectl: Kubectl) -> None:
    done = kubectl.run("exec", POD, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "out\n"
    assert done.stderr == "err\ncommand terminated with exit code 3\n"
    traced = kubectl.run("exec", POD, "-v=4", "--", "true")  # over the WebSocket, never SPDY
    assert traced.returncode == 0
    assert '"Subprotocol negotiated" protocol="v5.channel.k8s.io"' in traced.stderr
    assert "fallback" not in traced.stderr.lower()


def test_kubectl_exec_feeds_stdin(kubectl: Kubectl) -> None:
    done = kubectl.run("exec", "-i", POD, "--", "cat", stdin="hi\n")
    assert (done.returncode, done.stdout) == (0, "hi\n"), done.stderr


def test_kubectl_exec_reports_errors_as_kube_apiserver_does(kubectl: Kubectl) -> None:
    missing = kubectl.run("exec", POD, "--", "no-such-binary")
    assert missing.returncode == 127
    assert 'exec: "no-such-binary": executable file not found in $PATH' in missing.stderr
    stopped = kubectl.run("exec", POD, "-c", "sidecar", "--", "true")
    assert stopped.returncode == 1
    assert stopped.stderr == (
        'error: Internal error occurred: unable to upgrade connection: container not found ("sidecar")\n'
    )
    unknown = kubectl.run("exec", POD, "-c", "db", "--", "true")  # kubectl checks the name itself
    assert unknown.returncode == 1 and "db" in unknown.stderr


def test_kubectl_exec_on_a_terminal_tells_its_size(kubectl: Kubectl) -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    command = "stty size; test -t 0 && echo on a tty; exit 4"
    proc = subprocess.Popen(
        kubectl.argv("exec", "-it", POD, "--", "sh", "-c", command),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(),
        start_new_session=True,
    )
    os.close(slave)
    try:
        output = _read_until(master, b"exit code 4\r\n")
        assert proc.wait(timeout=10) == 4
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        os.close(master)
    assert b"40 120\r\n" in output and b"on a tty\r\n" in output


def test_kubectl_logs(served: Served, kubectl: Kubectl) -> None:
    _write(served.node, "one", "two", "three")
    assert kubectl.run("logs", POD).stdout == "one\ntwo\nthree\n"
    assert kubectl.run("logs", POD, "--tail=1").stdout == "three\n"
    previous = kubectl.run("logs", POD, "--previous")
    assert previous.returncode == 1
    assert previous.stderr == (
        'Error from server (BadRequest): previous terminated container "app" in pod "web" not found\n'
    )


def test_kubectl_logs_follow(served: Served, kubectl: Kubectl) -> None:
    _write(served.node, "before")
    proc = subprocess.Popen(kubectl.argv("logs", "-f", POD), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        assert proc.stdout is not None
        assert _read_until(proc.stdout.fileno(), b"before\n") == b"before\n"
        _write(served.node, "after")
        assert _read_until(proc.stdout.fileno(), b"after\n") == b"after\n"
        served.node.running = False  # the container ends: so does `logs -f`
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _read_until(fd: int, expected: bytes, timeout: float = 10.0) -> bytes:
    """Bytes from a pipe until they end with `expected` (what arrived, however it ends, at the timeout)."""
    received = b""
    deadline = time.monotonic() + timeout
    while not received.endswith(expected) and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        received += chunk
    return received
