"""A pod's mount and UTS namespaces, set up by a real holder process (as root) and joined by real
processes: volumes at their mount paths, missing mount points never made on the host, a private
/tmp, the pod's hostname, paths the pod's user cannot traverse on the host made reachable."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from remedlab.cluster.node.isolation.mount_namespace import namespaces_unavailable, runtime_paths
from remedlab.cluster.node.isolation.pod_filesystem import PodFilesystem, VolumeMount, runtime_view_entry
from remedlab.cluster.node.isolation.pod_user import POD_USER
from remedlab.cluster.node.pod_namespace import PodNamespace, PodNamespaceError
from remedlab.cluster.node.pod_volumes import PodVolumes
from remedlab.mounts import mounts_under

needs_namespaces = pytest.mark.skipif(
    namespaces_unavailable() is not None, reason=f"no mount namespaces here: {namespaces_unavailable()}"
)


def _pod_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(POD_USER)
    except KeyError:
        entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def unique() -> str:
    return f"remedlab-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def namespaces() -> Iterator[list[PodNamespace]]:
    made: list[PodNamespace] = []
    yield made
    for ns in made:
        ns.close()


def run_in(ns: PodNamespace, script: str, run_as: tuple[int, int] | None = None, workdir: str = "/") -> str:
    enter = ns.entry(workdir, "/")

    def preexec() -> None:
        enter()
        if run_as is not None:
            os.setgroups([])
            os.setgid(run_as[1])
            os.setuid(run_as[0])

    done = subprocess.run(["sh", "-c", script], preexec_fn=preexec, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _plan(pod_dir: Path, **kwargs: object) -> PodFilesystem:
    pod_dir.mkdir(parents=True, exist_ok=True)
    return PodFilesystem(staging=str(pod_dir / "rootfs"), **kwargs)  # type: ignore[arg-type]


@needs_namespaces
def test_volumes_sit_at_their_mount_paths_and_the_host_is_untouched(
    tmp_path: Path, unique: str, namespaces: list[PodNamespace]
) -> None:
    logs = tmp_path / "volumes" / "logs"
    logs.mkdir(parents=True)
    config = tmp_path / "volumes" / "config"
    config.mkdir()
    (config / "config.yaml").write_text("level: debug\n")
    plan = _plan(
        tmp_path / "pod",
        hostname="db-0",
        volumes=(
            VolumeMount(f"/var/log/{unique}", str(logs)),
            VolumeMount(f"/etc/{unique}/config.yaml", str(config / "config.yaml"), read_only=True),
            VolumeMount(f"/{unique}", str(logs)),
        ),
    )
    ns = PodNamespace.create("pod-a", plan)
    namespaces.append(ns)
    out = run_in(
        ns,
        f"echo hi > /var/log/{unique}/x; cat /etc/{unique}/config.yaml; ls /{unique}; hostname; "
        f"ls /var/log | grep -c . >/dev/null; test -e /etc/passwd && echo passwd; "
        f"echo mine > /tmp/{unique}; cat /tmp/{unique}; echo no > /etc/{unique}/config.yaml 2>/dev/null || echo ro",
    )
    assert out.splitlines() == ["level: debug", "x", "db-0", "passwd", "mine", "ro"]
    assert (logs / "x").read_text() == "hi\n"
    for made in (f"/var/log/{unique}", f"/etc/{unique}", f"/{unique}", f"/tmp/{unique}"):
        assert not os.path.exists(made), f"{made} was created on the host"
    assert os.uname().nodename != "db-0"


@needs_namespaces
def test_a_directory_the_pod_user_cannot_traverse_is_masked_to_what_it_needs(
    tmp_path: Path, namespaces: list[PodNamespace]
) -> None:
    private = tmp_path / "private"
    runtime = private / "checkout"
    runtime.mkdir(parents=True)
    (private / "secret").write_text("hidden\n")
    (runtime / "tool").write_text("reachable\n")
    os.chmod(runtime, 0o755)
    os.chmod(runtime / "tool", 0o644)
    os.chmod(private, 0o700)
    user = _pod_user()
    denied = subprocess.run(["cat", str(runtime / "tool")], user=user[0], group=user[1], capture_output=True)
    assert denied.returncode != 0
    ns = PodNamespace.create("pod-b", _plan(tmp_path / "pod", hostname="b", exposed=(str(runtime),), run_as=user))
    namespaces.append(ns)
    assert run_in(ns, f"cat {runtime}/tool", run_as=user) == "reachable\n"
    assert run_in(ns, f"ls -A {private}") == "checkout\n"
    assert set(os.listdir(private)) == {"checkout", "secret"}


@needs_namespaces
def test_a_runtime_view_makes_a_private_checkout_reachable_outside_any_pod(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "checkout").mkdir(parents=True)
    os.chmod(private / "checkout", 0o755)
    (private / "checkout" / "tool").write_text("ok\n")
    os.chmod(private, 0o700)
    user = _pod_user()
    enter = runtime_view_entry((str(private / "checkout"),), user)

    def preexec() -> None:
        enter()
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])

    done = subprocess.run(["cat", str(private / "checkout" / "tool")], preexec_fn=preexec, capture_output=True)
    assert done.stdout == b"ok\n", done.stderr


@needs_namespaces
def test_the_runtime_is_exposed_to_the_pod_user(tmp_path: Path, namespaces: list[PodNamespace]) -> None:
    user = _pod_user()
    plan = _plan(tmp_path / "pod", hostname="c", exposed=runtime_paths(), run_as=user)
    ns = PodNamespace.create("pod-c", plan)
    namespaces.append(ns)
    assert run_in(ns, f"{sys.executable} -c 'import remedlab; print(1)'", run_as=user) == "1\n"


@needs_namespaces
def test_closing_ends_the_holder_and_leaves_no_mount_on_the_host(tmp_path: Path) -> None:
    ns = PodNamespace.create("pod-d", _plan(tmp_path / "pod", hostname="d"))
    assert ns.alive()
    assert Path(f"/proc/{ns.pid}/cmdline").read_bytes().split(b"\0")[0].decode() == "remedlab-pod-ns:pod-d"
    ns.close()
    assert not ns.alive()
    assert not mounts_under(tmp_path)


@needs_namespaces
def test_a_namespace_that_cannot_be_set_up_says_why_in_one_line(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "pod", hostname="e", volumes=(VolumeMount("/data", str(tmp_path / "missing")),))
    with pytest.raises(PodNamespaceError) as caught:
        PodNamespace.create("pod-e", plan)
    assert "\n" not in str(caught.value) and "missing" in str(caught.value)
    assert not mounts_under(tmp_path)


def test_namespace_mounts_are_the_union_of_the_containers(tmp_path: Path) -> None:
    spec = {
        "volumes": [
            {"name": "logs", "emptyDir": {}},
            {"name": "config", "configMap": {"name": "cfg"}},
            {"name": "data", "emptyDir": {}},
        ],
        "initContainers": [{"name": "init", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "containers": [
            {
                "name": "a",
                "volumeMounts": [
                    {"name": "logs", "mountPath": "/var/log/mysql"},
                    {"name": "config", "mountPath": "/etc/app/config.yaml", "subPath": "config.yaml"},
                ],
            },
            {
                "name": "b",
                "volumeMounts": [
                    {"name": "logs", "mountPath": "/var/log/mysql/"},
                    {"name": "data", "mountPath": "/srv", "readOnly": True},
                ],
            },
        ],
    }
    volumes = PodVolumes(None, tmp_path, tmp_path / "pod", "default", spec)  # type: ignore[arg-type]
    base = tmp_path / "pod" / "volumes"
    for name in ("logs", "config", "data"):
        (base / name).mkdir(parents=True)
    (base / "config" / "config.yaml").write_text("x")
    volumes.paths = {name: base / name for name in ("logs", "config", "data")}
    mounts = {m.target: m for m in volumes.namespace_mounts()}
    assert set(mounts) == {"/data", "/var/log/mysql", "/etc/app/config.yaml", "/srv"}
    assert mounts["/etc/app/config.yaml"] == VolumeMount(
        "/etc/app/config.yaml", str(base / "config" / "config.yaml"), True
    )
    assert not mounts["/var/log/mysql"].read_only and mounts["/srv"].read_only
