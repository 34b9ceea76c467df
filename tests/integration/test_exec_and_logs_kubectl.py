"""`kubectl exec` and `kubectl logs` (the official binary) against a real server's pods.

simple-micro is deployed once; exec goes over the WebSocket channel protocol (kubectl 1.37 offers
v5.channel.k8s.io), logs over `pods/log`, `-f` included. A busybox pod of its own shows a follow
that ends when the pod is deleted, and the error of an exec into a container that is not running.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator

import psutil
import pytest

from tests.integration.kubectl_harness import Kubectl, real_kubectl
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kubectl, str]]:
    """A server with simple-micro Ready, kubectl for it, and the hello-service pod's name."""
    server = ServerProcess()
    try:
        server.start()
        result = server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90}, timeout=120)
        assert result["ready"], result
        pod = server.pods(NS, "app=hello-service")[0]["metadata"]["name"]
        yield Kubectl(server, tmp_path_factory.mktemp("kube-cache")), pod
    finally:
        server.cleanup()


def _hello(kubectl: Kubectl) -> None:
    """One request to hello-service through its Service: an access line in its log."""
    ip = kubectl.server.get("services", NS, "hello-service")["spec"]["clusterIP"]
    with urllib.request.urlopen(f"http://{ip}:5000/hello", timeout=10) as response:
        response.read()


def _follow(kubectl: Kubectl, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [real_kubectl(), "logs", "-f", *args],
        env=kubectl.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=10)


def test_exec_relays_stdout_stderr_and_the_exit_code(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    done = kubectl.run("exec", pod, "-n", NS, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "out\n"
    assert done.stderr == "err\ncommand terminated with exit code 3\n"


def test_exec_feeds_stdin(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    done = kubectl.run("exec", "-i", pod, "-n", NS, "--", "cat", stdin="hi\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hi\n"


def test_exec_of_a_missing_executable(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    done = kubectl.run("exec", pod, "-n", NS, "--", "no-such-tool")
    assert done.returncode == 126
    assert 'exec: "no-such-tool": executable file not found in $PATH' in done.stderr


def test_logs_tail(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    for _ in range(6):
        _hello(kubectl)
    tail = kubectl.ok("logs", pod, "-n", NS, "--tail", "5").splitlines()
    assert len(tail) == 5
    assert all("/hello" in line for line in tail), tail
    stamped = kubectl.ok("logs", pod, "-n", NS, "--tail", "1", "--timestamps")
    assert stamped.split(" ", 1)[0].endswith("Z") and "/hello" in stamped


def test_logs_follow_prints_lines_as_they_come(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    _hello(kubectl)
    follow = _follow(kubectl, pod, "-n", NS, "--tail", "1")
    try:
        time.sleep(0.5)
        for _ in range(3):
            _hello(kubectl)
        time.sleep(1.5)
    finally:
        out, err = _stop(follow)
    lines = out.splitlines()
    assert len(lines) >= 4, (out, err)  # the last line so far, then one per request
    assert all("/hello" in line for line in lines), lines
    # the client went away: the server stops following (it holds no container log open)
    server = psutil.Process(kubectl.server.proc.pid if kubectl.server.proc else 0)
    kubectl.server.wait_for(
        lambda: not [f for f in server.open_files() if "/logs/" in f.path], 5, what="the follow to stop"
    )


def test_logs_previous_of_a_pod_that_never_restarted(deployed: tuple[Kubectl, str]) -> None:
    kubectl, pod = deployed
    done = kubectl.run("logs", "--previous", pod, "-n", NS)
    assert done.returncode == 1
    assert done.stderr == (
        f'Error from server (BadRequest): previous terminated container "hello-service" in pod "{pod}" not found\n'
    )


def test_follow_ends_with_the_pod_and_exec_needs_a_running_container(deployed: tuple[Kubectl, str]) -> None:
    kubectl, _pod = deployed
    server = kubectl.server
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ticks"}})
    ticker = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
    server.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "ticker", "namespace": "ticks"},
            "spec": {
                "containers": [{"name": "main", "image": "busybox:1.36", "command": ticker}],
                "terminationGracePeriodSeconds": 1,
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "unpulled", "namespace": "ticks"},
            "spec": {"containers": [{"name": "main", "image": "busybox:0.0-missing"}]},
        },
    )
    server.wait_for(lambda: server.get("pods", "ticks", "ticker").get("status", {}).get("phase") == "Running", 30)
    follow = _follow(kubectl, "ticker", "-n", "ticks")
    try:
        time.sleep(1.5)
        kubectl.ok("delete", "pod", "ticker", "-n", "ticks", "--wait=false")
        follow.wait(15)  # the stream ends with the container: kubectl exits by itself
    finally:
        out, err = _stop(follow)
    assert follow.returncode == 0, err
    assert len(out.splitlines()) >= 3 and out.startswith("tick 1\n"), out
    done = kubectl.run("exec", "unpulled", "-n", "ticks", "--", "true")
    assert done.returncode == 1
    assert done.stderr == 'error: Internal error occurred: unable to upgrade connection: container not found ("main")\n'
    logs = kubectl.run("logs", "unpulled", "-n", "ticks")
    assert "is waiting to start" in logs.stderr and logs.returncode == 1
