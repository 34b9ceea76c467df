"""Per-container isolation: cgroups, the fallback supervisor, the pod user and fidelity reporting."""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from remedlab.cluster.node.container_runtime import container_limits
from remedlab.cluster.node.isolation import (
    ContainerLimits,
    ContainerSandbox,
    FidelityCheck,
    Isolation,
    fuse_check,
    network_fault_check,
)
from remedlab.cluster.node.isolation.cgroupfs import (
    REMEDLAB_DIR,
    CgroupMount,
    cgroup_dir,
    cgroup_mounts,
    check_component,
    parse_identifier,
)
from remedlab.cluster.node.isolation.cgroups_v1 import CgroupV1Hierarchy
from remedlab.cluster.node.isolation.cgroups_v2 import CgroupV2Group
from remedlab.cluster.node.isolation.limits import cfs_quota_us, cpu_shares, cpu_weight
from remedlab.cluster.node.isolation.pod_user import PLACEMENT_FIX, POD_USER, interpreter_runs_as, resolve_pod_user

IS_ROOT = os.geteuid() == 0
MiB = 2**20
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def pod_user_account() -> None:
    """Create the pod user as `make setup` does, when running as root without it.

    It is left in place like `make setup` leaves it: other remedlab processes may be running pods as it.
    """
    if not IS_ROOT:
        return
    try:
        pwd.getpwnam(POD_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", POD_USER],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def cluster_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _cluster_leftovers(cluster_id: str) -> list[str]:
    found: list[str] = []
    for mount in cgroup_mounts():
        for current, dirs, _ in os.walk(mount.mountpoint):
            if os.path.basename(current) == REMEDLAB_DIR and cluster_id in dirs:
                found.append(os.path.join(current, cluster_id))
            if current.count("/") - mount.mountpoint.count("/") > 3:
                dirs[:] = []
    return found


@pytest.fixture
def isolation(cluster_id: str) -> Iterator[Isolation]:
    iso = Isolation.detect(cluster_id)
    try:
        yield iso
    finally:
        iso.cleanup_cluster()
    assert _cluster_leftovers(cluster_id) == []


@pytest.fixture
def cgroup_isolation(isolation: Isolation) -> Isolation:
    if not isolation.uses_cgroups:
        pytest.skip(f"cgroups not writable here: {isolation.fallback_reason}")
    return isolation


@pytest.fixture
def fallback_isolation(cluster_id: str) -> Iterator[Isolation]:
    iso = Isolation.detect(cluster_id, prefer_fallback=True)
    try:
        yield iso
    finally:
        iso.cleanup_cluster()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Popen objects registered here are killed and reaped after the test."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)


def run(coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coroutine())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def by_mechanism(checks: list[FidelityCheck]) -> dict[str, FidelityCheck]:
    return {check.mechanism: check for check in checks}


# --- detection and reporting -------------------------------------------------------------------


def test_report_names_every_mechanism(isolation: Isolation) -> None:
    checks = by_mechanism(isolation.report())
    expected = {"cpu limits", "memory limits", "oom detection", "resource usage", "user isolation"}
    assert expected | {"process containment", "io accounting"} <= set(checks)
    assert all(check.level in ("full", "degraded", "none") and check.detail for check in checks.values())


@pytest.mark.skipif(not IS_ROOT, reason="needs root to write cgroups")
def test_detect_reports_cgroup_v1_full_as_root(isolation: Isolation) -> None:
    if not any(m.version == 1 and "memory" in m.controllers for m in cgroup_mounts()):
        pytest.skip("no cgroup v1 memory hierarchy on this host")
    assert isolation.uses_cgroups, isolation.fallback_reason
    checks = by_mechanism(isolation.report())
    for mechanism in ("cpu limits", "memory limits", "process containment"):
        assert checks[mechanism].level == "full", checks[mechanism]
    assert isolation.hierarchy is not None
    if isolation.hierarchy.version == 1:
        assert checks["cpu limits"].detail.startswith("cgroup v1 cfs quota")
        assert checks["memory limits"].detail.startswith("cgroup v1 memory.limit_in_bytes")
        if int(os.uname().release.split(".")[0]) >= 5:  # the oom_kill counter exists since 4.13
            assert checks["oom detection"].level == "full"


def test_fallback_reports_degraded(fallback_isolation: Isolation) -> None:
    checks = by_mechanism(fallback_isolation.report())
    assert checks["cpu limits"].level == "degraded"
    assert "SIGSTOP/SIGCONT" in checks["cpu limits"].detail
    assert checks["memory limits"].level == "degraded"
    assert "watchdog" in checks["memory limits"].detail
    assert fallback_isolation.sandbox("pod-a", "main", ContainerLimits()).cgroup == ""


def test_fuse_and_network_checks() -> None:
    fuse = fuse_check()
    assert fuse.mechanism == "io faults"
    if not os.path.exists("/dev/fuse"):
        assert fuse.level == "none"
    elif fuse.level == "full":
        assert "pass-through" in fuse.detail
    network = network_fault_check()
    assert network.level == "full"
    assert "remedlab dataplane" in network.detail


# --- pod user ----------------------------------------------------------------------------------


def test_not_root_runs_as_server_user_degraded() -> None:
    user = resolve_pod_user(euid=1000, check=lambda uid, gid: None)
    assert user.run_as() is None
    assert user.check.level == "degraded"
    assert "not root" in user.check.detail


def test_unusable_pod_user_falls_back_with_fix() -> None:
    user = resolve_pod_user(euid=0, candidates=("nobody",), check=lambda uid, gid: "Permission denied: '/root/x'")
    assert user.run_as() is None
    assert user.check.level == "degraded"
    assert PLACEMENT_FIX in user.check.detail
    assert "Permission denied" in user.check.detail


def test_missing_pod_user_falls_back_to_nobody() -> None:
    user = resolve_pod_user(euid=0, candidates=("remedlab-no-such-user", "nobody"), check=lambda uid, gid: None)
    nobody = pwd.getpwnam("nobody")
    assert user.run_as() == (nobody.pw_uid, nobody.pw_gid)
    assert user.check.level == "full"


@pytest.mark.skipif(not IS_ROOT, reason="needs root to switch users")
def test_interpreter_check_runs_as_the_user() -> None:
    entry = pwd.getpwnam(POD_USER)
    assert interpreter_runs_as(entry.pw_uid, entry.pw_gid) is None


# --- cgroup mode -------------------------------------------------------------------------------


def test_child_joins_cgroup_and_runs_as_pod_user(
    cgroup_isolation: Isolation, cluster_id: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    sandbox = cgroup_isolation.sandbox("pod-a", "main", ContainerLimits(cpu_millicores=500, memory_bytes=128 * MiB))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time; print(os.getuid(), os.getgid(), flush=True); time.sleep(60)",
        ],
        preexec_fn=sandbox.preexec,
        stdout=subprocess.PIPE,
    )
    processes.append(child)
    assert child.stdout is not None
    uid, gid = map(int, child.stdout.readline().split())
    assert child.pid in sandbox.pids()
    expected = cgroup_isolation.run_as() or (os.getuid(), os.getgid())
    assert (uid, gid) == expected
    if IS_ROOT and cgroup_isolation.run_as() is not None:
        assert uid != 0
    membership = Path(f"/proc/{child.pid}/cgroup").read_text()
    assert f"/{REMEDLAB_DIR}/{cluster_id}/pod-a/main" in membership
    assert sandbox.usage().memory_bytes > 0
    sandbox.kill_all(signal.SIGKILL)
    assert child.wait(timeout=5) == -signal.SIGKILL
    assert wait_until(lambda: sandbox.pids() == [])


def test_cgroup_layout_and_limit_files(cgroup_isolation: Isolation, cluster_id: str) -> None:
    sandbox = cgroup_isolation.sandbox("pod-b", "app", ContainerLimits(cpu_millicores=200, memory_bytes=64 * MiB))
    directories = parse_identifier(sandbox.cgroup)
    assert directories
    assert all(d.endswith(f"/{REMEDLAB_DIR}/{cluster_id}/pod-b/app") for d in directories)
    hierarchy = cgroup_isolation.hierarchy
    if not isinstance(hierarchy, CgroupV1Hierarchy):
        pytest.skip("cgroup v1 file names")
    cpu = Path(hierarchy.bases["cpu"], cluster_id, "pod-b", "app")
    memory = Path(hierarchy.bases["memory"], cluster_id, "pod-b", "app")
    assert int((cpu / "cpu.cfs_quota_us").read_text()) == cfs_quota_us(200) == 20000
    assert int((cpu / "cpu.cfs_period_us").read_text()) == 100000
    assert int((memory / "memory.limit_in_bytes").read_text()) == 64 * MiB
    if hierarchy.memsw:
        assert int((memory / "memory.memsw.limit_in_bytes").read_text()) == 64 * MiB
    sandbox.update_limits(ContainerLimits(cpu_millicores=1500, memory_bytes=256 * MiB))
    assert int((cpu / "cpu.cfs_quota_us").read_text()) == 150000
    assert int((memory / "memory.limit_in_bytes").read_text()) == 256 * MiB
    sandbox.update_limits(ContainerLimits())
    assert int((cpu / "cpu.cfs_quota_us").read_text()) == -1
    assert int((memory / "memory.limit_in_bytes").read_text()) > 2**50
    run(sandbox.close)
    assert not cpu.exists() and not memory.exists()
    cgroup_isolation.cleanup_pod("pod-b")
    assert not cpu.parent.exists() and not memory.parent.exists()


def test_attach_adds_a_process_started_without_preexec(
    cgroup_isolation: Isolation, processes: list[subprocess.Popen[bytes]]
) -> None:
    sandbox = cgroup_isolation.sandbox("pod-g", "main", ContainerLimits())
    child = subprocess.Popen(SLEEPER)
    processes.append(child)
    assert child.pid not in sandbox.pids()
    sandbox.attach(child.pid)
    assert child.pid in sandbox.pids()


def test_sweep_kills_leftovers_after_a_crash(
    cgroup_isolation: Isolation, cluster_id: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    sandbox = cgroup_isolation.sandbox("pod-c", "main", ContainerLimits())
    # The shell backgrounds a grandchild that PDEATHSIG would not cover.
    child = subprocess.Popen(["/bin/sh", "-c", "sleep 60 & exec sleep 61"], preexec_fn=sandbox.preexec)
    processes.append(child)
    assert wait_until(lambda: len(sandbox.pids()) == 2)
    members = sandbox.pids()
    recorded = sandbox.cgroup
    # A restarted server only has the recorded identifier.
    restarted = Isolation.detect(cluster_id)
    restarted.sweep(recorded)
    assert wait_until(lambda: all(gone(pid) for pid in members))
    assert all(not os.path.exists(d) for d in parse_identifier(recorded))


def test_sweep_refuses_foreign_cgroups(isolation: Isolation) -> None:
    with pytest.raises(ValueError):
        isolation.sweep("not-an-identifier")
    with pytest.raises(ValueError):
        isolation.sweep("cgroup1|/sys/fs/cgroup/memory")
    with pytest.raises(ValueError):
        isolation.sweep("cgroup1|/tmp/remedlab/x")
    isolation.sweep("")  # fallback sandboxes record no cgroup


def test_pdeathsig_kills_child_of_dead_parent(cgroup_isolation: Isolation, cluster_id: str) -> None:
    script = textwrap.dedent(
        f"""
        import os, subprocess, sys
        from remedlab.cluster.node.isolation import ContainerLimits, Isolation
        sandbox = Isolation.detect({cluster_id!r}).sandbox("pod-d", "main", ContainerLimits())
        child = subprocess.Popen({SLEEPER!r}, preexec_fn=sandbox.preexec)
        print(child.pid, flush=True)
        os._exit(0)
        """
    )
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=20, check=True)
    orphan = int(parent.stdout.split()[0])
    assert wait_until(lambda: gone(orphan)), f"pid {orphan} survived its parent"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_preexec_with_create_subprocess_exec(cgroup_isolation: Isolation, cluster_id: str, loop: str) -> None:
    sandbox = cgroup_isolation.sandbox("pod-e", f"main-{loop}", ContainerLimits(cpu_millicores=100))

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "print(open('/proc/self/cgroup').read())",
            preexec_fn=sandbox.preexec,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0
        assert f"/{cluster_id}/pod-e/main-{loop}" in out.decode()
        await sandbox.close()

    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        uvloop.run(main())
    else:
        asyncio.run(main())


# --- fallback mode -----------------------------------------------------------------------------


def test_fallback_tracks_and_kills_the_process_tree(fallback_isolation: Isolation) -> None:
    sandbox = fallback_isolation.sandbox("pod-f", "main", ContainerLimits(memory_bytes=512 * MiB))
    assert isinstance(sandbox, ContainerSandbox)

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", "sleep 60 & exec sleep 61", preexec_fn=sandbox.preexec
        )
        try:
            sandbox.attach(proc.pid)
            for _ in range(100):
                if len(sandbox.pids()) == 2:
                    break
                await asyncio.sleep(0.02)
            members = sandbox.pids()
            assert proc.pid in members and len(members) == 2
            assert sandbox.usage().memory_bytes > 0
            sandbox.kill_all(signal.SIGKILL)
            assert await proc.wait() == -signal.SIGKILL
            for _ in range(100):
                if all(gone(pid) for pid in members):
                    break
                await asyncio.sleep(0.02)
            assert all(gone(pid) for pid in members)
            assert not sandbox.oom_killed()
        finally:
            await sandbox.close()

    run(main)


# --- pure parts --------------------------------------------------------------------------------


def test_limits_validation_and_quota() -> None:
    with pytest.raises(ValueError):
        ContainerLimits(cpu_millicores=0)
    with pytest.raises(ValueError):
        ContainerLimits(memory_bytes=-1)
    assert cfs_quota_us(250) == 25000
    assert cfs_quota_us(1) == 1000  # the kernel minimum


def test_component_names_are_checked() -> None:
    assert check_component("pod uid", "0b6f7c1e-3a5d-4f1e-9a43-1f2e3d4c5b6a")
    for bad in ("", "..", "a/b", ".hidden", "x" * 201):
        with pytest.raises(ValueError):
            check_component("pod uid", bad)
    with pytest.raises(ValueError):
        Isolation.detect("../escape")


def test_mountinfo_parsing(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified\\040x rw,relatime - cgroup2 cgroup2 rw\n"
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
    )
    mounts = cgroup_mounts(str(mountinfo))
    assert mounts == [
        CgroupMount("/sys/fs/cgroup/cpu", "/", 1, frozenset({"cpu", "cpuacct"})),
        CgroupMount("/sys/fs/cgroup/memory", "/docker/abc", 1, frozenset({"memory"})),
        CgroupMount("/sys/fs/cgroup/unified x", "/", 2, frozenset()),
    ]
    assert cgroup_dir(mounts[0], "/a/b") == "/sys/fs/cgroup/cpu/a/b"
    assert cgroup_dir(mounts[1], "/docker/abc/inner") == "/sys/fs/cgroup/memory/inner"
    assert cgroup_dir(mounts[1], "/elsewhere") == "/sys/fs/cgroup/memory"


def test_v2_group_on_a_fake_tree(tmp_path: Path) -> None:
    leaf = tmp_path / "remedlab" / "c" / "p" / "main"
    leaf.mkdir(parents=True)
    for control in ("cpu.max", "cpu.weight", "memory.max", "memory.swap.max"):
        (leaf / control).write_text("max\n")
    (leaf / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    (leaf / "memory.current").write_text("104857600\n")
    (leaf / "memory.stat").write_text("anon 50000000\nfile 54857600\ninactive_file 4857600\n")
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    (leaf / "io.stat").write_text("8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n")
    (leaf / "cgroup.procs").write_text("")
    group = CgroupV2Group(str(leaf), io_accounting=True)
    group.set_limits(ContainerLimits(cpu_millicores=200, memory_bytes=64 * MiB, cpu_request_millicores=100))
    assert (leaf / "cpu.max").read_text() == "20000 100000"
    assert (leaf / "cpu.weight").read_text() == str(cpu_weight(100)) == "4"
    assert (leaf / "memory.max").read_text() == str(64 * MiB)
    assert (leaf / "memory.swap.max").read_text() == "0"
    group.set_limits(ContainerLimits())
    assert (leaf / "cpu.max").read_text() == "max 100000"
    assert (leaf / "cpu.weight").read_text() == "1"
    assert (leaf / "memory.max").read_text() == "max"
    assert group.cpu_seconds() == 2.5
    assert group.memory_working_set() == 100 * MiB - 4857600
    assert group.io_bytes() == (101, 202)
    assert group.oom_kills() == 1
    assert group.procs() == []
    assert parse_identifier(group.identifier) == [str(leaf)]


def test_cpu_requests_become_shares_as_the_kubelet_computes_them() -> None:
    assert [cpu_shares(m) for m in (None, 0, 1, 50, 100, 1000, 2500, 10**6)] == [2, 2, 2, 51, 102, 1024, 2560, 262144]
    assert cpu_weight(None) == 1 and cpu_weight(1000) == 39 and cpu_weight(10**6) == 10000
    limits = container_limits({"resources": {"limits": {"cpu": "500m"}}})
    assert limits.cpu_request_millicores == 500  # no request: the limit
    limits = container_limits({"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}}})
    assert (limits.cpu_request_millicores, limits.cpu_millicores) == (100, 1000)
    assert container_limits({}).cpu_request_millicores is None
