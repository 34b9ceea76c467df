"""A mount and UTS namespace per pod, on a live cluster driven by the real kubectl: volumes at their
mountPath (an emptyDir, a PVC, a configMap file by subPath), a private /tmp, the pod's hostname, a
/proc showing the pod user's processes only, the host's filesystem untouched, and everything gone
with the pod."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from remedlab.cluster.node.io_fault_fs import RELOAD_INTERVAL
from remedlab.cluster.node.pod_namespace import HOLDER_NAME
from remedlab.mounts import mounts_under
from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace per pod needs root"),
]

NS = "default"
MARKER = f"remedlab-mntns-{os.getpid()}"


def _pod(name: str, volumes: list[dict[str, Any]], mounts: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "main", "image": "busybox", "command": ["sleep", "3600"], "volumeMounts": mounts},
            ],
            "volumes": volumes,
            **spec,
        },
    }


OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app-config", "namespace": NS},
        "data": {"config.yaml": "level: debug\n", "other.yaml": "x: 1\n"},
    },
    {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "mysql-logs", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    },
    _pod(
        "empty-dir",
        [{"name": "logs", "emptyDir": {}}, {"name": "config", "configMap": {"name": "app-config"}}],
        [
            {"name": "logs", "mountPath": "/var/log/mysql"},
            {"name": "config", "mountPath": "/etc/app/config.yaml", "subPath": "config.yaml"},
        ],
        hostname="db-host",
    ),
    _pod(
        "claimed",
        [{"name": "logs", "persistentVolumeClaim": {"claimName": "mysql-logs"}}],
        [{"name": "logs", "mountPath": "/var/log/mysql"}],
    ),
]


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    with running_server() as server:
        kubectl = Kubectl(server, tmp_path_factory.mktemp("kube-cache"))
        kubectl.ok("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": OBJECTS}))
        kubectl.ok("wait", "-n", NS, "--for=condition=Ready", "pod/empty-dir", "pod/claimed", "--timeout=60s")
        yield kubectl


def sh(kubectl: Kubectl, pod: str, script: str) -> str:
    return kubectl.ok("exec", "-n", NS, pod, "--", "sh", "-c", script)


def _uid(server: ServerProcess, pod: str) -> str:
    return str(server.get("pods", NS, pod)["metadata"]["uid"])


def test_writes_through_an_empty_dir_land_in_its_host_directory(kubectl: Kubectl) -> None:
    assert not os.path.exists(f"/var/log/mysql/{MARKER}")
    sh(kubectl, "empty-dir", f"echo hello > /var/log/mysql/{MARKER}")
    volume = kubectl.server.home / "pods" / _uid(kubectl.server, "empty-dir") / "volumes" / "logs"
    assert (volume / MARKER).read_text() == "hello\n"
    assert not os.path.exists(f"/var/log/mysql/{MARKER}"), "the host's /var/log/mysql was written"
    env = sh(kubectl, "empty-dir", "env")
    assert "REMEDLAB_MOUNTS" not in env


def test_writes_through_a_claim_land_in_the_claims_directory(kubectl: Kubectl) -> None:
    name = f"{MARKER}-claimed"
    sh(kubectl, "claimed", f"echo claimed > /var/log/mysql/{name}")
    claim = kubectl.server.home / "volumes" / NS / "mysql-logs"
    assert (claim / name).read_text() == "claimed\n"
    assert not os.path.exists(f"/var/log/mysql/{name}")
    assert name not in sh(kubectl, "empty-dir", "ls /var/log/mysql"), "the pods' volumes are apart"


def test_config_map_file_by_sub_path_is_there_read_only(kubectl: Kubectl) -> None:
    assert sh(kubectl, "empty-dir", "cat /etc/app/config.yaml") == "level: debug\n"
    assert sh(kubectl, "empty-dir", "ls /etc/app") == "config.yaml\n"
    done = kubectl.run("exec", "-n", NS, "empty-dir", "--", "sh", "-c", "echo x > /etc/app/config.yaml")
    assert done.returncode != 0
    # the rest of the host's /etc is still there, and the host got no /etc/app
    assert sh(kubectl, "empty-dir", "test -e /etc/passwd && echo ok") == "ok\n"
    assert not os.path.exists("/etc/app/config.yaml")


def test_tmp_is_private_to_the_pod(kubectl: Kubectl) -> None:
    sh(kubectl, "empty-dir", f"echo mine > /tmp/{MARKER}")
    assert sh(kubectl, "empty-dir", f"cat /tmp/{MARKER}") == "mine\n"
    assert not os.path.exists(f"/tmp/{MARKER}")
    assert sh(kubectl, "claimed", f"test -e /tmp/{MARKER} && echo shared || echo private") == "private\n"


def test_hostname_is_the_pods(kubectl: Kubectl) -> None:
    assert sh(kubectl, "claimed", "hostname") == "claimed\n"
    assert sh(kubectl, "empty-dir", "hostname; echo $HOSTNAME") == "db-host\ndb-host\n"
    assert os.uname().nodename not in ("claimed", "db-host")


def test_resolv_conf_and_hosts_are_the_pods(kubectl: Kubectl) -> None:
    pod_dir = kubectl.server.home / "pods" / _uid(kubectl.server, "claimed")
    assert sh(kubectl, "claimed", "cat /etc/resolv.conf") == (pod_dir / "etc" / "resolv.conf").read_text()
    assert sh(kubectl, "claimed", "cat /etc/hosts") == (pod_dir / "etc" / "hosts").read_text()


def test_proc_shows_the_pod_users_processes_only(kubectl: Kubectl) -> None:
    """Another user's command line (the server's, a benchmark run's, naming its problems) is not the
    pod's to read."""
    with subprocess.Popen(["sleep", "30"]) as other:
        try:
            listing = sh(kubectl, "claimed", "ps -eo user,pid,args")
            assert "sleep 3600" in listing  # its own
            assert str(kubectl.server.port) not in listing and f" {other.pid} " not in listing, listing
            assert sh(kubectl, "claimed", f"test -e /proc/{other.pid} && echo seen || echo hidden") == "hidden\n"
            assert sh(kubectl, "claimed", "test -e /proc/self/status && echo ok") == "ok\n"
        finally:
            other.kill()
    assert Path(f"/proc/{os.getpid()}").exists()  # the node's own /proc is untouched


def test_doctor_reports_the_namespaces(kubectl: Kubectl) -> None:
    checks = {c["mechanism"]: c for c in kubectl.server.ok("GET", "/v1/doctor")["checks"]}
    assert checks["mount namespace"]["level"] == "full", checks["mount namespace"]
    assert checks["user isolation"]["level"] == "full", checks["user isolation"]


def _holders(server: ServerProcess) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and cmdline[0].startswith(f"{HOLDER_NAME}:"):
            uid = cmdline[0].split(":", 1)[1]
            if (server.home / "pods" / uid).exists():
                found.append(proc)
    return found


def test_disk_io_fault_reaches_the_pods_volume_mount(kubectl: Kubectl) -> None:
    server = kubectl.server
    holder = next(p for p in _holders(server) if p.cmdline()[0].endswith(_uid(server, "empty-dir")))
    write = ["nsenter", f"--mount=/proc/{holder.pid}/ns/mnt", "sh", "-c", "echo x > /var/log/mysql/slow"]
    started = time.monotonic()
    subprocess.run(write, check=True, timeout=30)
    assert time.monotonic() - started < 1
    chaos = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "IOChaos",
        "metadata": {"name": "slow-logs", "namespace": NS},
        "spec": {
            "action": "latency",
            "mode": "one",
            "selector": {"namespaces": [NS], "labelSelectors": {"app": "empty-dir"}},
            "volumePath": "/var/log/mysql",
            "delay": "1s",
            "percent": 100,
        },
    }
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(chaos))
    mountinfo = Path(f"/proc/{holder.pid}/mountinfo")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _faulted(mountinfo):
            time.sleep(0.1)
        assert _faulted(mountinfo), mountinfo.read_text()
        kubectl.ok("wait", "-n", NS, "--for=condition=AllInjected", "iochaos/slow-logs", "--timeout=30s")
        time.sleep(RELOAD_INTERVAL + 0.1)
        # no preloaded shim in this process: the delay comes from the filesystem the pod sees
        started = time.monotonic()
        subprocess.run(write, check=True, timeout=60)
        assert time.monotonic() - started >= 1
    finally:
        kubectl.ok("delete", "iochaos", "-n", NS, "slow-logs", "--timeout=60s")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _faulted(mountinfo):
        time.sleep(0.1)
    assert not _faulted(mountinfo)


def _faulted(mountinfo: Path) -> bool:
    return any(
        " /var/log/mysql " in line and "fuse.remedlab-iofault" in line for line in mountinfo.read_text().splitlines()
    )


def test_a_deleted_pod_leaves_no_holder_mount_or_directory(kubectl: Kubectl) -> None:
    server = kubectl.server
    kubectl.ok("apply", "-f", "-", stdin=json.dumps(_pod("short-lived", [{"name": "s", "emptyDir": {}}], [])))
    kubectl.ok("wait", "-n", NS, "--for=condition=Ready", "pod/short-lived", "--timeout=60s")
    uid = _uid(server, "short-lived")
    pod_dir = server.home / "pods" / uid
    holder = [p for p in _holders(server) if p.cmdline()[0].endswith(uid)]
    assert len(holder) == 1
    assert mounts_under(pod_dir)
    kubectl.ok("delete", "pod", "-n", NS, "short-lived", "--wait=true", "--timeout=60s")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (holder[0].is_running() or pod_dir.exists()):
        time.sleep(0.1)
    assert not holder[0].is_running() or holder[0].status() == psutil.STATUS_ZOMBIE
    assert not mounts_under(pod_dir)
    assert not pod_dir.exists()


def test_a_crashed_servers_namespaces_are_swept_at_start(tmp_path: Path) -> None:
    server = ServerProcess()
    try:
        server.start()
        kubectl = Kubectl(server, tmp_path / "kube-cache")
        kubectl.ok("apply", "-f", "-", stdin=json.dumps(_pod("survivor", [{"name": "s", "emptyDir": {}}], [])))
        kubectl.ok("wait", "-n", NS, "--for=condition=Ready", "pod/survivor", "--timeout=60s")
        old = {p.pid for p in _holders(server)}
        assert old
        server.kill()
        server.start()
        kubectl.ok("wait", "-n", NS, "--for=condition=Ready", "pod/survivor", "--timeout=60s")
        now = {p.pid for p in _holders(server) if p.status() != psutil.STATUS_ZOMBIE}
        assert len(now) == 1 and not now & old, (old, now)
    finally:
        server.cleanup()
