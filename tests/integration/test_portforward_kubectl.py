"""`kubectl port-forward` (the official binary) and the official Python client's `portforward`
against a real server's pods.

simple-micro is deployed once. kubectl 1.37 tunnels SPDY/3.1 through a WebSocket; it resolves
`svc/` and `deploy/` to a pod itself, through the API. Each kubectl runs on a free local port of
127.0.0.1 and is stopped (and waited for) however its test ends.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward

from remedlab.free_port import free_port
from tests.integration.kubectl_harness import Kubectl, real_kubectl
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"
HELLO_PORT, TIME_PORT, CLOSED_PORT = 5000, 5001, 5999


@dataclass
class Deployed:
    kubectl: Kubectl
    hello_pod: str

    @property
    def server(self) -> ServerProcess:
        return self.kubectl.server


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    server = ServerProcess()
    try:
        server.start()
        result = server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90}, timeout=120)
        assert result["ready"], result
        pod = server.pods(NS, "app=hello-service")[0]["metadata"]["name"]
        yield Deployed(Kubectl(server, tmp_path_factory.mktemp("kube-cache")), pod)
    finally:
        server.cleanup()


@dataclass
class Forward:
    proc: subprocess.Popen[str]
    port: int
    lines: queue.Queue[str | None]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def finish(self, timeout: float = 15) -> tuple[int, str]:
        """Wait for kubectl to exit by itself: its exit code and its stderr."""
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


@contextlib.contextmanager
def forwarding(kubectl: Kubectl, target: str, remote: int, *flags: str) -> Iterator[Forward]:
    """`kubectl port-forward TARGET LOCAL:REMOTE` on a free port of 127.0.0.1, ready to take connections."""
    port = free_port()
    argv = [real_kubectl(), "port-forward", "-n", NS, "--address", "127.0.0.1", target, f"{port}:{remote}", *flags]
    proc = subprocess.Popen(argv, env=kubectl.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=60)
        if first is None or not first.startswith("Forwarding from 127.0.0.1:"):
            proc.wait(10)
            raise AssertionError(
                f"kubectl port-forward did not start: {first!r} {proc.stderr.read() if proc.stderr else ''}"
            )
        yield Forward(proc, port, lines)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


def _request(sock: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on an open connection, kept alive; the whole response."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: pod\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed mid-answer: {head!r}"
        head += chunk
    headers, _, body = head.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return headers + b"\r\n\r\n" + body


def test_kubectl_forwards_a_pods_port(deployed: Deployed) -> None:
    with forwarding(deployed.kubectl, f"pod/{deployed.hello_pod}", HELLO_PORT) as forward:
        answer = _get(forward.url("/hello"))
        assert answer["message"] == "Hello, world!" and answer["from"] == deployed.hello_pod
        assert _get(forward.url("/healthz")) == {"status": "ok"}
        assert forward.proc.poll() is None  # still forwarding


def test_kubectl_forwards_to_a_service_and_a_deployment(deployed: Deployed) -> None:
    with forwarding(deployed.kubectl, "svc/hello-service", HELLO_PORT) as forward:
        assert _get(forward.url("/hello"))["message"] == "Hello, world!"
    with forwarding(deployed.kubectl, "deployment/time-service", TIME_PORT) as forward:
        assert "epoch" in _get(forward.url("/time"))


def test_two_connections_at_once_through_one_forward(deployed: Deployed) -> None:
    with forwarding(deployed.kubectl, f"pod/{deployed.hello_pod}", HELLO_PORT) as forward:
        with (
            socket.create_connection(("127.0.0.1", forward.port), timeout=10) as first,
            socket.create_connection(("127.0.0.1", forward.port), timeout=10) as second,
        ):
            for _ in range(2):  # both stay open, their requests interleaved
                assert b'"status": "ok"' in _request(second, "/healthz")
                assert b"Hello, world!" in _request(first, "/hello")
        handled = [forward.lines.get(timeout=10) for _ in range(2)]
        assert handled == [f"Handling connection for {forward.port}\n"] * 2


def test_a_closed_port_is_reported_as_the_kubelet_reports_it(deployed: Deployed) -> None:
    pod = deployed.server.get("pods", NS, deployed.hello_pod)
    with forwarding(deployed.kubectl, f"pod/{deployed.hello_pod}", CLOSED_PORT) as forward:
        with socket.create_connection(("127.0.0.1", forward.port), timeout=10) as sock:
            assert sock.recv(10) == b""  # closed at once
        code, err = forward.finish()
    assert code == 1
    assert (
        f"error forwarding port {CLOSED_PORT} to pod {deployed.hello_pod}_{NS}, uid {pod['metadata']['uid']}: "
        f"dial tcp {pod['status']['podIP']}:{CLOSED_PORT}: connect: connection refused"
    ) in err
    assert err.endswith("error: lost connection to pod\n")


def test_the_agent_may_port_forward(deployed: Deployed) -> None:
    with forwarding(deployed.kubectl.as_agent(), f"pod/{deployed.hello_pod}", HELLO_PORT) as forward:
        assert _get(forward.url("/hello"))["message"] == "Hello, world!"


def _api(deployed: Deployed) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(deployed.kubectl.kubeconfig)))  # type: ignore[no-untyped-call]


def test_the_python_client_reads_an_answer_through_portforward(deployed: Deployed) -> None:
    api = _api(deployed)
    forward = portforward(api.connect_get_namespaced_pod_portforward, deployed.hello_pod, NS, ports=str(HELLO_PORT))
    try:
        sock = forward.socket(HELLO_PORT)
        sock.settimeout(10)
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK") and b"Hello, world!" in answer
        assert forward.error(HELLO_PORT) is None
    finally:
        forward.close()
        api.api_client.close()


def test_a_pod_that_is_not_running_is_refused(deployed: Deployed) -> None:
    server = deployed.server
    server.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "finished", "namespace": NS},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
            },
        }
    )
    try:
        server.wait_for(lambda: server.get("pods", NS, "finished")["status"].get("phase") == "Succeeded", 30)
        done = deployed.kubectl.run("port-forward", "-n", NS, "pod/finished", f"{free_port()}:{HELLO_PORT}", timeout=30)
        assert done.returncode == 1
        assert done.stderr == "error: unable to forward port because pod is not running. Current status=Succeeded\n"
        api = _api(deployed)
        try:
            with pytest.raises(ApiException) as refused:
                portforward(api.connect_get_namespaced_pod_portforward, "finished", NS, ports=str(HELLO_PORT))
        finally:
            api.api_client.close()
        assert "Handshake status 500" in str(refused.value)
        assert 'unable to upgrade connection: pod not found (\\"finished_simple-micro\\")' in str(refused.value)
    finally:
        server.delete("pods", NS, "finished", grace=0)


def test_discovery_and_openapi_list_the_subresource(deployed: Deployed) -> None:
    resources = json.loads(deployed.kubectl.ok("get", "--raw", "/api/v1"))["resources"]
    forward = next(r for r in resources if r["name"] == "pods/portforward")
    assert (forward["kind"], sorted(forward["verbs"])) == ("PodPortForwardOptions", ["create", "get"])
    names = [r["name"] for r in resources if r["name"].startswith("pods/")]
    assert names.index("pods/portforward") == names.index("pods/exec") + 1
    document = json.loads(deployed.kubectl.ok("get", "--raw", "/openapi/v3/api/v1"))
    path = document["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/portforward"]
    assert path["get"]["operationId"] == "connectCoreV1GetNamespacedPodPortforward"
    assert [p["name"] for p in path["get"].get("parameters", [])] == ["ports"]
