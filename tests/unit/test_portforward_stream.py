"""`pods/portforward` as clients speak it, against real local TCP servers standing in for a pod.

A Starlette app routes the subresource to `serve_portforward`, with a fake node behind it: its pod
`web` has an echo server on port 7000 (answering every byte until the client closes its half) and
nothing on any other port. The app also answers what kubectl asks first (discovery, the pod).
uvicorn serves it on 127.0.0.1 from a thread, with the server's WebSocket protocol. The clients:
the real kubectl (SPDY/3.1 tunnelled through the WebSocket; skipped when the binary is absent),
the official Python client (`v4.channel.k8s.io`), and a bare WebSocket client speaking SPDY or the
channel protocol frame by frame.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websocket import WebSocket as ClientConnection
from websocket import WebSocketBadStatusException, create_connection

from remedlab.api.errors import BadRequest, ClusterError, NotFound
from remedlab.api.meta import APIGroupList, APIResource, APIResourceList, APIVersions, ServerAddressByClientCIDR
from remedlab.cluster.apiserver.portforward_spdy import stream_problem
from remedlab.cluster.apiserver.portforward_stream import parse_ports, refuse_without_upgrade, serve_portforward
from remedlab.cluster.apiserver.responses import error_response, json_response
from remedlab.cluster.apiserver.spdy_frames import (
    DataFrame,
    Frame,
    FrameReader,
    FrameWriter,
    GoAway,
    Ping,
    RstStatus,
    RstStream,
    SynReply,
    SynStream,
)
from remedlab.free_port import free_port
from remedlab.server.websocket_protocol import KubernetesWebSocketProtocol

NS, POD, UID = "shop", "web", "0c1e6b8e-5d1f-4c35-9b7e-2f5a3a7c9d10"
ECHO_PORT, CLOSED_PORT = 7000, 7001
PORTFORWARD = f"/api/v1/namespaces/{NS}/pods/{POD}/portforward"
SPDY = "SPDY/3.1+portforward.k8s.io"


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class FakePorts:
    """The pod's ports: ECHO_PORT reaches the echo server, any other is refused."""

    echo: tuple[str, int]
    pod: str = f"{POD}_{NS}"
    uid: str = UID
    dialled: list[int] = field(default_factory=list)

    async def connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.dialled.append(port)
        if port != ECHO_PORT:
            raise OSError(f"dial tcp 127.0.0.1:{port}: connect: connection refused")
        return await asyncio.open_connection(*self.echo)


POD_OBJECT = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {"name": POD, "namespace": NS, "uid": UID},
    "spec": {"containers": [{"name": "app", "image": "busybox"}], "nodeName": "node"},
    "status": {"phase": "Running", "podIP": "127.0.0.1"},
}


def _discovery(request: Request) -> Response:
    """The legacy discovery documents kubectl falls back to: the core group with pods and port-forward."""
    if request.url.path == "/api":
        cidr = ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=request.url.netloc)
        return json_response(APIVersions(versions=["v1"], server_address_by_client_cidrs=[cidr]))
    if request.url.path == "/apis":
        return json_response(APIGroupList(groups=[]))
    pods = APIResource(name="pods", singular_name="pod", namespaced=True, kind="Pod", verbs=["get"], short_names=["po"])
    forward = APIResource(
        name="pods/portforward", singular_name="", namespaced=True, kind="PodPortForwardOptions", verbs=["get"]
    )
    return json_response(APIResourceList(group_version="v1", resources=[pods, forward]))


def _app(ports: FakePorts) -> Starlette:
    def open_ports(namespace: str, pod: str) -> FakePorts:
        if (namespace, pod) != (NS, POD):
            raise NotFound.of("pods", pod)
        return ports

    async def pod_portforward(websocket: WebSocket) -> None:
        params = websocket.path_params
        await serve_portforward(websocket, params["namespace"], params["name"], open_ports)

    async def plain_portforward(request: Request) -> Response:
        try:
            refuse_without_upgrade(
                request.query_params, request.path_params["namespace"], request.path_params["name"], open_ports
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
            WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/portforward", pod_portforward),
            Route("/api/v1/namespaces/{namespace}/pods/{name}/portforward", plain_portforward, methods=["GET", "POST"]),
            Route("/api/v1/namespaces/{namespace}/pods/{name}", pod),
        ]
    )


@dataclass
class Served:
    url: str
    ports: FakePorts
    clients: list[client.ApiClient] = field(default_factory=list)

    def api(self) -> client.CoreV1Api:
        configuration = client.Configuration()
        configuration.host = self.url
        self.clients.append(client.ApiClient(configuration))
        return client.CoreV1Api(self.clients[-1])

    def ws(self, query: str = "", protocols: list[str] | None = None, pod: str = POD) -> ClientConnection:
        """A bare WebSocket client (websocket-client: it offers `SPDY/3.1+...` as kubectl does)."""
        path = PORTFORWARD.replace(f"/pods/{POD}/", f"/pods/{pod}/")
        subprotocols = [SPDY] if protocols is None else protocols
        return create_connection(f"ws{self.url[4:]}{path}?{query}", timeout=10, subprotocols=subprotocols)


@pytest.fixture
def served() -> Iterator[Served]:
    echo = _EchoServer(("127.0.0.1", 0), _Echo)
    echo_thread = threading.Thread(target=echo.serve_forever, name="portforward-test-echo", daemon=True)
    echo_thread.start()
    ports = FakePorts(echo.server_address[:2])  # type: ignore[arg-type]
    port = free_port()
    config = uvicorn.Config(
        _app(ports), host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws=KubernetesWebSocketProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="portforward-test-server", daemon=True)
    thread.start()
    served = Served(f"http://127.0.0.1:{port}", ports)
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.02)
        yield served
    finally:
        for api_client in served.clients:
            api_client.close()  # type: ignore[no-untyped-call]
        server.should_exit = True
        thread.join(15)
        echo.shutdown()
        echo.server_close()
        assert not thread.is_alive(), "the test server did not stop"


# --------------------------------------------------------------------------- a bare SPDY client


class SpdyClient:
    """kubectl's side of the tunnel, frame by frame."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.writer = FrameWriter()
        self.reader = FrameReader()
        self.pending: list[Frame] = []

    def send(self, *frames: Frame) -> None:
        for frame in frames:
            self.ws.send_bytes(self.writer.encode(frame))

    def next(self) -> Frame:
        while not self.pending:
            message = self.ws.recv()
            assert isinstance(message, bytes), message
            self.pending += self.reader.feed(message)
        return self.pending.pop(0)

    def open_pair(self, first: int, port: int, request: str | None) -> None:
        """The error stream (id `first`), then the data stream (`first + 2`), each answered."""
        for stream_id, kind in ((first, "error"), (first + 2, "data")):
            headers = {"streamtype": [kind], "port": [str(port)]}
            if request is not None:
                headers["requestid"] = [request]
            self.send(SynStream(stream_id, headers))
            assert self.next() == SynReply(stream_id)

    def until_fin(self, stream_id: int) -> tuple[bytes, list[Frame]]:
        """The data that came on `stream_id` until its FIN, and every other frame meanwhile."""
        data = b""
        others: list[Frame] = []
        while True:
            frame = self.next()
            if isinstance(frame, DataFrame) and frame.stream_id == stream_id:
                data += frame.data
                if frame.fin:
                    return data, others
            else:
                others.append(frame)


def test_spdy_relays_a_connection_and_ends_both_streams(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        assert ws.getsubprotocol() == SPDY.lower()  # websocket-client lower-cases it
        spdy = SpdyClient(ws)
        spdy.open_pair(1, ECHO_PORT, "0")
        spdy.send(DataFrame(3, b"hello "), DataFrame(3, b"pod", fin=True))  # the pod's write side is shut
        echoed, others = spdy.until_fin(3)
        assert echoed == b"hello pod"
        error, _ = spdy.until_fin(1)
        assert error == b""  # no error: the error stream ends empty
        assert all(isinstance(f, DataFrame) and f.stream_id == 1 for f in others)


def test_spdy_reports_a_refused_port_on_the_error_stream(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        spdy.open_pair(1, CLOSED_PORT, "0")
        error, _ = spdy.until_fin(1)
        assert error.decode() == (
            f"error forwarding port {CLOSED_PORT} to pod {POD}_{NS}, uid {UID}: "
            f"dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused"
        )


def test_spdy_echoes_pings_and_refuses_bad_streams(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        spdy.send(Ping(1))
        assert spdy.next() == Ping(1)
        spdy.send(SynStream(1, {"streamtype": ["data"]}))  # no port: the kubelet resets it
        assert spdy.next() == RstStream(1, RstStatus.CANCEL)
        spdy.send(SynStream(3, {"streamtype": ["video"], "port": ["80"]}))
        assert spdy.next() == RstStream(3, RstStatus.CANCEL)
        spdy.send(SynStream(5, {"streamtype": ["data"], "port": ["0"]}))
        assert spdy.next() == RstStream(5, RstStatus.CANCEL)
        spdy.send(GoAway(5))
        spdy.send(SynStream(7, {"streamtype": ["error"], "port": ["80"]}))  # after GOAWAY: refused
        assert spdy.next() == RstStream(7, RstStatus.REFUSED_STREAM)


def test_spdy_pairs_streams_without_a_request_id_by_their_ids(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        spdy.open_pair(5, ECHO_PORT, None)
        spdy.send(DataFrame(7, b"old client", fin=True))
        assert spdy.until_fin(7)[0] == b"old client"


def test_spdy_a_reset_data_stream_ends_the_connection(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        spdy.open_pair(1, ECHO_PORT, "0")
        spdy.send(DataFrame(3, b"ping"))
        assert spdy.next() == DataFrame(3, b"ping")
        spdy.send(RstStream(3, RstStatus.CANCEL))  # kubectl's Reset once the local side is done
        error, others = spdy.until_fin(1)
        assert error == b"" and others == []


def test_spdy_a_second_stream_of_one_type_is_an_error_of_that_request(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        spdy.send(SynStream(1, {"streamtype": ["error"], "port": ["80"], "requestid": ["9"]}))
        assert spdy.next() == SynReply(1)
        spdy.send(SynStream(3, {"streamtype": ["error"], "port": ["80"], "requestid": ["9"]}))
        assert spdy.next() == SynReply(3)
        assert spdy.next() == DataFrame(1, b"error processing stream for request 9: error stream already assigned")


def test_spdy_many_connections_at_once_keep_their_bytes_apart(served: Served) -> None:
    with contextlib.closing(served.ws()) as ws:
        spdy = SpdyClient(ws)
        for request in range(4):
            spdy.open_pair(1 + 4 * request, ECHO_PORT, str(request))
        for request in range(4):
            spdy.send(DataFrame(3 + 4 * request, f"connection {request}".encode() * 1000, fin=True))
        got: dict[int, bytes] = {}
        ended: set[int] = set()
        while len(ended) < 8:
            frame = spdy.next()
            assert isinstance(frame, DataFrame)
            got[frame.stream_id] = got.get(frame.stream_id, b"") + frame.data
            if frame.fin:
                ended.add(frame.stream_id)
        for request in range(4):
            assert got[3 + 4 * request] == f"connection {request}".encode() * 1000
            assert got.get(1 + 4 * request, b"") == b""


# --------------------------------------------------------------------------- the channel protocol


def _channel_frames(ws: ClientConnection, count: int) -> list[bytes]:
    return [
        message if isinstance(message, bytes) else message.encode() for message in (ws.recv() for _ in range(count))
    ]


def test_channels_start_with_each_ports_number_then_relay(served: Served) -> None:
    with contextlib.closing(served.ws(f"ports={ECHO_PORT},{CLOSED_PORT}", ["v4.channel.k8s.io"])) as ws:
        assert ws.getsubprotocol() == "v4.channel.k8s.io"
        echo, closed = ECHO_PORT.to_bytes(2, "little"), CLOSED_PORT.to_bytes(2, "little")
        assert _channel_frames(ws, 4) == [b"\x00" + echo, b"\x01" + echo, b"\x02" + closed, b"\x03" + closed]
        refused = _channel_frames(ws, 1)[0]
        assert refused.startswith(b"\x03error forwarding port 7001 to pod web_shop")
        ws.send_bytes(b"\x00hello")
        assert _channel_frames(ws, 1) == [b"\x00hello"]


def test_channels_in_base64_and_without_a_subprotocol(served: Served) -> None:
    with contextlib.closing(served.ws(f"ports={ECHO_PORT}", ["v4.base64.channel.k8s.io"])) as ws:
        assert ws.recv() == "0" + base64.b64encode(ECHO_PORT.to_bytes(2, "little")).decode()
        assert ws.recv() == "1" + base64.b64encode(ECHO_PORT.to_bytes(2, "little")).decode()
        ws.send_text("0" + base64.b64encode(b"text").decode())
        assert ws.recv() == "0" + base64.b64encode(b"text").decode()
    with contextlib.closing(served.ws(f"ports={ECHO_PORT}", [])) as ws:
        assert ws.getsubprotocol() is None
        assert _channel_frames(ws, 2)[0] == b"\x00" + ECHO_PORT.to_bytes(2, "little")


@pytest.mark.parametrize(
    ("query", "protocols", "pod", "code", "message"),
    [
        ("", ["v4.channel.k8s.io"], POD, 400, 'query parameter "ports" is required'),
        ("ports=http", ["v4.channel.k8s.io"], POD, 400, 'unable to parse "http" as a port'),
        ("ports=0", [SPDY], POD, 400, 'port "0" must be > 0'),
        ("ports=70000", [SPDY], POD, 400, 'unable to parse "70000" as a port'),
        ("ports=80", ["v5.channel.k8s.io"], POD, 400, "requested protocol(s) are not supported"),
        ("", [SPDY], "nope", 404, 'pods "nope" not found'),
    ],
)
def test_refused_before_the_upgrade_with_a_status(
    served: Served, query: str, protocols: list[str], pod: str, code: int, message: str
) -> None:
    with pytest.raises(WebSocketBadStatusException) as refused:
        served.ws(query, protocols, pod)
    assert refused.value.status_code == code
    assert message in json.loads(refused.value.resp_body or b"{}")["message"]
    assert served.ports.dialled == []


def test_a_request_without_upgrade_is_told_what_is_served(served: Served) -> None:
    status, body = _plain_request("POST", served.url + PORTFORWARD)
    assert status == 400
    assert body["message"].startswith("Upgrade request required: pods/portforward is served over WebSocket")
    status, body = _plain_request("POST", served.url + PORTFORWARD.replace(f"/{POD}/", "/nope/"))
    assert (status, body["message"]) == (404, 'pods "nope" not found')


def _plain_request(method: str, url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b""), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --------------------------------------------------------------------------- the official Python client


def test_python_client_forwards_and_reports_a_refused_port(served: Served) -> None:
    forward = portforward(
        served.api().connect_get_namespaced_pod_portforward, POD, NS, ports=f"{ECHO_PORT},{CLOSED_PORT}"
    )
    try:
        sock = forward.socket(ECHO_PORT)
        sock.settimeout(10)
        sock.sendall(b"x" * 100_000)
        received = b""
        while len(received) < 100_000:
            received += sock.recv(65536)
        assert received == b"x" * 100_000
        assert forward.error(ECHO_PORT) is None
        deadline = time.monotonic() + 10
        while forward.error(CLOSED_PORT) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert forward.error(CLOSED_PORT) == (
            f"error forwarding port {CLOSED_PORT} to pod {POD}_{NS}, uid {UID}: "
            f"dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused"
        )
    finally:
        forward.close()


def test_python_client_gets_the_status_of_a_refusal(served: Served) -> None:
    with pytest.raises(ApiException) as refused:
        portforward(served.api().connect_get_namespaced_pod_portforward, "nope", NS, ports="80")
    assert "404" in str(refused.value) and 'pods \\"nope\\" not found' in str(refused.value)


# --------------------------------------------------------------------------- the real kubectl


def _kubectl_binary() -> str | None:
    candidate = Path(sys.executable).parent / "kubectl"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


@dataclass
class KubectlForward:
    """`kubectl port-forward` running in the background, on a local port it picked."""

    proc: subprocess.Popen[str]
    local_port: int
    """Forwarded to the echo server."""
    closed_port: int
    """Forwarded to a port nothing listens on."""

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.local_port), timeout=10)


@pytest.fixture
def kubectl_forward(served: Served, tmp_path: Path) -> Iterator[KubectlForward]:
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
    drop = {"KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
    env = {**{k: v for k, v in os.environ.items() if k not in drop}, "NO_PROXY": "127.0.0.1"}
    argv = [binary, f"--kubeconfig={kubeconfig}", f"--cache-dir={tmp_path / 'cache'}", "port-forward", "-v=4"]
    argv += ["--address=127.0.0.1", f"pod/{POD}", f":{ECHO_PORT}", f":{CLOSED_PORT}"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # Forwarding from 127.0.0.1:PORT -> 7000
        second = proc.stdout.readline()
        assert first.startswith("Forwarding from 127.0.0.1:"), first + (proc.stderr.read() if proc.stderr else "")
        yield KubectlForward(proc, int(first.split(":")[1].split()[0]), int(second.split(":")[1].split()[0]))
    finally:
        if proc.poll() is None:
            proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def _echo_through(sock: socket.socket, payload: bytes) -> bytes:
    """Send all of `payload`, close the sending half, read until the other side closes."""
    received = bytearray()

    def read() -> None:
        while chunk := sock.recv(65536):
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    reader.join(30)
    return bytes(received)


def test_kubectl_forwards_over_the_spdy_tunnel(kubectl_forward: KubectlForward) -> None:
    payload = os.urandom(2 * 1024 * 1024)
    with kubectl_forward.connect() as sock:
        assert _echo_through(sock, payload) == payload


def test_kubectl_carries_concurrent_connections(kubectl_forward: KubectlForward) -> None:
    results: dict[int, bytes] = {}

    def one(index: int) -> None:
        with kubectl_forward.connect() as sock:
            results[index] = _echo_through(sock, f"connection {index} ".encode() * 5000)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {i: f"connection {i} ".encode() * 5000 for i in range(4)}
    assert kubectl_forward.proc.poll() is None


def test_kubectl_reports_a_refused_port_and_stops(kubectl_forward: KubectlForward) -> None:
    with socket.create_connection(("127.0.0.1", kubectl_forward.closed_port), timeout=10) as sock:
        sock.settimeout(10)
        assert sock.recv(10) == b""
    _, err = kubectl_forward.proc.communicate(timeout=15)
    assert (
        f"error forwarding port {CLOSED_PORT} to pod {POD}_{NS}, uid {UID}: "
        f"dial tcp 127.0.0.1:{CLOSED_PORT}: connect: connection refused"
    ) in err
    assert err.rstrip().endswith("error: lost connection to pod")
    assert '"Negotiation complete" protocol="portforward.k8s.io"' in err  # the WebSocket tunnel, not SPDY
    assert "fallback" not in err.lower()


# --------------------------------------------------------------------------- reading what the client asks


@pytest.mark.parametrize(
    ("values", "ports"),
    [([], []), (["8080"], [8080]), (["8080", "9090"], [8080, 9090]), (["1,65535"], [1, 65535])],
)
def test_ports_are_read_repeated_or_comma_separated(values: list[str], ports: list[int]) -> None:
    assert parse_ports(values) == ports


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([""], 'query parameter "ports" cannot be empty'),
        (["80,"], 'unable to parse "" as a port'),
        (["²"], 'unable to parse "²" as a port'),
        (["-1"], 'unable to parse "-1" as a port'),
        (["0"], 'port "0" must be > 0'),
    ],
)
def test_bad_ports_get_a_one_line_message(values: list[str], message: str) -> None:
    with pytest.raises(BadRequest) as bad:
        parse_ports(values)
    assert str(bad.value).startswith(message) and "\n" not in str(bad.value)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"streamtype": ["data"], "port": ["80"]}, None),
        ({"streamtype": ["error"], "port": ["65535"]}, None),
        ({"streamtype": ["data"]}, '"port" header is required'),
        ({"streamtype": ["data"], "port": ["http"]}, 'unable to parse "http" as a port'),
        ({"streamtype": ["data"], "port": ["0"]}, 'port "0" must be > 0'),
        ({"port": ["80"]}, '"streamType" header is required'),
        ({"streamtype": ["video"], "port": ["80"]}, 'invalid stream type "video"'),
    ],
)
def test_streams_are_checked_as_the_kubelet_checks_them(headers: dict[str, list[str]], problem: str | None) -> None:
    assert stream_problem(headers) == problem
