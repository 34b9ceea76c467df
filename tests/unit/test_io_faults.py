"""remedlab's IO-fault filesystem: fault parsing, the pass-through operations, and real FUSE mounts.

The mount tests need /dev/fuse, libfuse and mfusepy (skipped with the reason otherwise); the ownership test
also needs root and the pod user.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from remedlab.cluster.node.io_fault_fs import (
    FSNAME_PREFIX,
    FSTYPE,
    RELOAD_INTERVAL,
    IoFault,
    IoFaultFs,
    glob_regex,
    parse_fault,
    parse_faults,
)
from remedlab.cluster.node.io_fault_mount import (
    IoFaultMount,
    cleanup_stale,
    iofault_mounts,
    write_fault_config,
)

FUSE_OK, FUSE_REASON = IoFaultMount.fuse_available()
needs_fuse = pytest.mark.skipif(not FUSE_OK, reason=f"IO-fault filesystem unavailable: {FUSE_REASON}")
POD_USER = "remedlab-pod"


# -- configuration ----------------------------------------------------------------------------------------


def test_parse_fault_defaults_and_fields() -> None:
    fault = parse_fault({"action": "latency", "delay": "100ms"})
    assert fault.delay == pytest.approx(0.1)
    assert fault.percent == 100 and not fault.methods and fault.path == ""
    assert fault.matches("read", ["any/where"]) and fault.matches("getattr", [""])

    fault = parse_fault({"action": "fault", "errno": "ENOSPC", "methods": ["write"], "percent": 30})
    assert fault.errno == errno.ENOSPC and fault.percent == 30
    assert fault.matches("write", ["x"]) and not fault.matches("read", ["x"])
    assert parse_fault({"action": "fault"}).errno == errno.EIO
    assert parse_fault({"action": "fault", "errno": 28}).errno == 28

    fault = parse_fault({"action": "attrOverride", "attr": {"perm": 0o444, "size": 7, "kind": "dir"}})
    assert fault.attr == {"perm": 0o444, "size": 7, "kind": stat.S_IFDIR}
    assert parse_fault({"action": "attrOverride", "attr": {"perm": "0600"}}).attr == {"perm": 0o600}


def test_chaos_mesh_method_names_map_to_operations() -> None:
    setattr_fault = parse_fault({"action": "fault", "methods": ["setattr"]})
    for operation in ("chmod", "chown", "truncate", "utimens"):
        assert setattr_fault.matches(operation, ["f"])
    assert not setattr_fault.matches("write", ["f"])
    assert parse_fault({"action": "fault", "methods": ["lookup"]}).matches("getattr", ["f"])
    parse_fault({"action": "fault", "methods": ["getxattr", "forget"]})  # accepted, never matches


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"action": "explode"}, "action"),
        ({"action": "mistake"}, "not supported"),
        ({"action": "latency"}, "delay"),
        ({"action": "latency", "delay": "soon"}, "invalid duration"),
        ({"action": "fault", "methods": ["reed"]}, "unknown method"),
        ({"action": "fault", "methods": "read"}, "list"),
        ({"action": "fault", "percent": 0}, "percent"),
        ({"action": "fault", "percent": 150}, "percent"),
        ({"action": "fault", "errno": "EWHAT"}, "errno"),
        ({"action": "attrOverride"}, "attr"),
        ({"action": "attrOverride", "attr": {"colour": 1}}, "unknown attr"),
        ({"action": "fault", "method": ["read"]}, "unknown fault field"),
    ],
)
def test_invalid_faults_are_rejected(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault(spec)


def test_parse_faults_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match="fault #1"):
        parse_faults([{"action": "fault"}, {"action": "latency"}])
    with pytest.raises(ValueError, match="list"):
        parse_faults({"action": "fault"})
    assert parse_faults([]) == []


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("bad/*", "bad/x", True),
        ("bad/*", "bad/x/y", False),
        ("bad/*", "good/x", False),
        ("**/*.db", "a.db", True),
        ("**/*.db", "d/e/a.db", True),
        ("**/*.db", "d/e/a.dbx", False),
        ("data/**", "data/a/b", True),
        ("f?.txt", "f1.txt", True),
        ("f[0-2].txt", "f3.txt", False),
        ("f[!0-2].txt", "f3.txt", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert bool(glob_regex(pattern).match(path)) is expected


def test_volume_path_prefix_is_removed() -> None:
    fault = parse_fault({"action": "fault", "volumePath": "/var/lib/db", "path": "/var/lib/db/base/*"})
    assert fault.path == "base/*"
    assert fault.matches("read", ["base/1"]) and not fault.matches("read", ["other/1"])
    assert parse_fault({"action": "fault", "path": "/logs/*"}).matches("write", ["logs/a"])


def test_write_fault_config_validates_and_replaces(tmp_path: Path) -> None:
    config = tmp_path / "faults.json"
    write_fault_config(config, [{"action": "fault", "errno": 5}])
    first = os.stat(config)
    write_fault_config(config, [])
    second = os.stat(config)
    assert json.loads(config.read_text()) == []
    assert second.st_mtime_ns > first.st_mtime_ns
    with pytest.raises(ValueError):
        write_fault_config(config, [{"action": "latency"}])
    assert json.loads(config.read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faults.json"]


def test_mountinfo_parsing(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
        "42 30 0:50 / /srv/pod\\040one/data rw,nosuid,nodev shared:1 - fuse.remedlab-iofault "
        "remedlab-iofault.1234 rw,user_id=0,group_id=0,default_permissions,allow_other\n"
    )
    (entry,) = iofault_mounts(str(info))
    assert entry.mountpoint == "/srv/pod one/data"
    assert entry.pid == 1234 and entry.fstype == FSTYPE and entry.source.startswith(FSNAME_PREFIX)


# -- the operations without a mount ----------------------------------------------------------------------


@contextlib.contextmanager
def opened_directory(path: Path) -> Iterator[int]:
    """A read-only descriptor of the directory `path`, closed afterwards."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def direct_fs(tmp_path: Path) -> Iterator[tuple[IoFaultFs, Path, Path, FakeTime]]:
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "a.txt").write_bytes(b"hello")
    config = tmp_path / "faults.json"
    clock = FakeTime()
    with opened_directory(volume) as fd:
        yield IoFaultFs(fd, str(config), seed=7, clock=clock.clock, sleep=clock.sleep), volume, config, clock


def _reload(config: Path, clock: FakeTime, faults: list[dict[str, object]]) -> None:
    write_fault_config(config, faults)
    clock.now += RELOAD_INTERVAL


def test_operations_pass_through(direct_fs: tuple[IoFaultFs, Path, Path, FakeTime]) -> None:
    fs, volume, _, _ = direct_fs
    fh = fs.open("/a.txt", os.O_RDONLY)
    assert fs.read("/a.txt", 100, 0, fh) == b"hello"
    assert fs.getattr("/a.txt", fh)["st_size"] == 5
    fs.release("/a.txt", fh)
    fh = fs.create("/d.bin", 0o640, os.O_WRONLY | os.O_CREAT)
    assert fs.write("/d.bin", b"abcdef", 0, fh) == 6
    fs.truncate("/d.bin", 3, fh)
    fs.fsync("/d.bin", 0, fh)
    fs.flush("/d.bin", fh)
    fs.release("/d.bin", fh)
    assert (volume / "d.bin").read_bytes() == b"abc"
    assert stat.S_IMODE(fs.getattr("/d.bin")["st_mode"]) == 0o640
    fs.mkdir("/sub", 0o755)
    fs.rename("/d.bin", "/sub/e.bin")
    fs.symlink("/sub/link", "e.bin")
    fs.link("/sub/hard", "/sub/e.bin")
    assert fs.readlink("/sub/link") == "e.bin"
    names = {entry[0] for entry in fs.readdir("/sub", 0)}
    assert names == {".", "..", "e.bin", "link", "hard"}
    assert all(attrs["st_ino"] for _, attrs, _ in fs.readdir("/", 0))
    assert fs.getattr("/sub/hard")["st_nlink"] == 2
    with pytest.raises(FileExistsError):
        fs.rename("/sub/hard", "/sub/e.bin", 1)  # RENAME_NOREPLACE
    fs.utimens("/sub/e.bin", ((5, 0), (6, (1 << 30) - 2)))  # atime 5 s, mtime left alone
    attrs = fs.getattr("/sub/e.bin")
    assert attrs["st_atime"] == 5_000_000_000 and attrs["st_mtime"] > 6_000_000_000
    fs.chmod("/sub/e.bin", 0o600)
    assert stat.S_IMODE((volume / "sub" / "e.bin").stat().st_mode) == 0o600
    assert fs.statfs("/")["f_bsize"] > 0
    for name in ("link", "hard", "e.bin"):
        fs.unlink(f"/sub/{name}")
    fs.rmdir("/sub")
    assert sorted(os.listdir(volume)) == ["a.txt"]


def test_fault_injection_rules(direct_fs: tuple[IoFaultFs, Path, Path, FakeTime]) -> None:
    fs, volume, config, clock = direct_fs
    (volume / "bad").mkdir()
    (volume / "bad" / "x").write_bytes(b"x")
    _reload(config, clock, [{"action": "fault", "errno": 5, "path": "bad/*", "methods": ["read"]}])
    fh = fs.open("/bad/x", os.O_RDONLY)
    with pytest.raises(OSError) as failure:
        fs.read("/bad/x", 10, 0, fh)
    assert failure.value.errno == errno.EIO
    fs.release("/bad/x", fh)
    fh = fs.open("/a.txt", os.O_RDONLY)
    assert fs.read("/a.txt", 10, 0, fh) == b"hello"

    _reload(config, clock, [{"action": "latency", "delay": "1s", "methods": ["read"], "percent": 50}])
    delayed = 0
    for _ in range(1000):
        started = clock.now
        fs.read("/a.txt", 10, 0, fh)
        delayed += clock.now - started >= 1.0
    assert 400 < delayed < 600
    assert max(clock.slept) <= RELOAD_INTERVAL  # slept in slices, watching for configuration changes
    fs.release("/a.txt", fh)

    _reload(config, clock, [{"action": "attrOverride", "attr": {"perm": 0o400, "size": 99}, "path": "a.txt"}])
    attrs = fs.getattr("/a.txt")
    assert attrs["st_size"] == 99 and stat.S_IMODE(attrs["st_mode"]) == 0o400 and stat.S_ISREG(attrs["st_mode"])
    assert fs.getattr("/bad/x")["st_size"] == 1


def test_configuration_reload_is_rate_limited(direct_fs: tuple[IoFaultFs, Path, Path, FakeTime]) -> None:
    fs, _, config, clock = direct_fs

    def actions() -> list[str]:
        return [fault.action for fault in fs.faults]

    assert actions() == []
    write_fault_config(config, [{"action": "fault"}])
    assert actions() == []  # checked less than RELOAD_INTERVAL ago
    clock.now += RELOAD_INTERVAL
    assert actions() == ["fault"]
    config.write_text("[{not json")
    clock.now += RELOAD_INTERVAL
    assert actions() == ["fault"]  # a broken file keeps the previous faults
    config.unlink()
    clock.now += RELOAD_INTERVAL
    assert actions() == []


def test_set_faults_without_a_configuration_file(tmp_path: Path) -> None:
    with opened_directory(tmp_path) as fd:
        fs = IoFaultFs(fd, None, sleep=lambda _: None)
        fs.set_faults([IoFault("fault", errno=errno.ENOSPC)])
        with pytest.raises(OSError) as failure:
            fs.mkdir("/x", 0o755)
        assert failure.value.errno == errno.ENOSPC


def test_start_refuses_bad_arguments(tmp_path: Path) -> None:
    mount = IoFaultMount()
    if FUSE_OK:
        with pytest.raises(RuntimeError, match="not a directory"):
            mount.start(tmp_path / "missing", tmp_path / "faults.json")
        (tmp_path / "vol").mkdir()
        with pytest.raises(RuntimeError, match="outside"):
            mount.start(tmp_path / "vol", tmp_path / "vol" / "faults.json")
    else:
        with pytest.raises(RuntimeError, match="unavailable"):
            mount.start(tmp_path, tmp_path.parent / "faults.json")
    assert mount.pid is None


# -- real mounts ------------------------------------------------------------------------------------------


def _traversable_tempdir() -> Path:
    """A temporary directory the pod user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="remedlab-iofault-test-"))
    os.chmod(base, 0o755)
    return base


@contextlib.contextmanager
def scratch_volume(files: Mapping[str, bytes] = {}, subpath: str = "vol") -> Iterator[tuple[Path, Path]]:
    """(base, volume): a fresh volume directory `base/subpath` holding `files`, in a directory the pod user can
    reach; afterwards any IO-fault mount left under `base` is cleaned up and `base` is removed."""
    base = _traversable_tempdir()
    volume = base / subpath
    volume.mkdir(parents=True)
    for name, data in files.items():
        (volume / name).parent.mkdir(parents=True, exist_ok=True)
        (volume / name).write_bytes(data)
    try:
        yield base, volume
    finally:
        cleanup_stale(base)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def started_mount(
    mount: IoFaultMount, files: Mapping[str, bytes] = {}, subpath: str = "vol"
) -> Iterator[tuple[Path, Path]]:
    """`scratch_volume` with `mount` started on the volume (its configuration `base/faults.json`) and stopped
    afterwards."""
    with scratch_volume(files, subpath) as (base, volume):
        try:
            mount.start(volume, base / "faults.json")
            yield base, volume
        finally:
            mount.stop()


def mounted_at(path: Path) -> bool:
    """Whether an IO-fault filesystem is mounted on `path`."""
    return any(entry.mountpoint == str(path) for entry in iofault_mounts())


class Mounted:
    def __init__(self, mount: IoFaultMount, volume: Path, backing_fd: int) -> None:
        self.mount = mount
        self.volume = volume
        self.backing_fd = backing_fd  # the directory underneath, opened before mounting

    def timed_read(self, name: str) -> float:
        started = time.monotonic()
        fd = os.open(self.volume / name, os.O_RDONLY)
        try:
            os.pread(fd, 4096, 0)
        finally:
            os.close(fd)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def mounted() -> Iterator[Mounted]:
    if not FUSE_OK:
        pytest.skip(f"IO-fault filesystem unavailable: {FUSE_REASON}")
    files = {"existing.txt": b"from before the mount\n", "bad/broken.txt": b"unlucky"}
    with scratch_volume(files) as (base, volume), opened_directory(volume) as backing_fd:
        mount = IoFaultMount(seed=1234)
        try:
            mount.start(volume, base / "faults.json")
            yield Mounted(mount, volume, backing_fd)
        finally:
            mount.stop()


@pytest.fixture
def fresh(mounted: Mounted) -> Iterator[Mounted]:
    """The shared mount, with no faults before and after the test."""
    mounted.mount.set_faults([], settle=True)
    try:
        yield mounted
    finally:
        mounted.mount.set_faults([], settle=True)


@needs_fuse
@pytest.mark.integration
def test_mount_is_live_and_passes_through(fresh: Mounted) -> None:
    volume = fresh.volume
    entry = fresh.mount.entry()
    assert entry is not None and entry.fstype == FSTYPE and entry.pid == fresh.mount.pid
    assert (volume / "existing.txt").read_bytes() == b"from before the mount\n"
    (volume / "new.txt").write_text("written through the mount")
    os.rename(volume / "new.txt", volume / "renamed.txt")
    assert sorted(os.listdir(volume)) == ["bad", "existing.txt", "renamed.txt"]
    assert os.stat(volume / "renamed.txt").st_size == len("written through the mount")
    assert os.stat("renamed.txt", dir_fd=fresh.backing_fd).st_size == len("written through the mount")
    os.mkdir(volume / "d")
    os.symlink("../renamed.txt", volume / "d" / "link")
    assert (volume / "d" / "link").read_text() == "written through the mount"
    os.link(volume / "renamed.txt", volume / "d" / "hard")
    assert os.stat(volume / "d" / "hard").st_ino == os.stat("renamed.txt", dir_fd=fresh.backing_fd).st_ino
    with open(volume / "d" / "hard", "r+b") as handle:
        handle.truncate(7)
        os.fsync(handle.fileno())
    os.chmod(volume / "renamed.txt", 0o600)
    os.utime(volume / "renamed.txt", (1_000_000, 2_000_000))
    st = os.stat("renamed.txt", dir_fd=fresh.backing_fd)
    assert (st.st_size, stat.S_IMODE(st.st_mode), st.st_mtime) == (7, 0o600, 2_000_000)
    assert os.statvfs(volume).f_bsize > 0
    with pytest.raises(FileNotFoundError):
        os.stat(volume / "missing")
    for name in ("d/link", "d/hard", "renamed.txt"):
        os.unlink(volume / name)
    os.rmdir(volume / "d")
    assert sorted(os.listdir(volume)) == ["bad", "existing.txt"]


@needs_fuse
@pytest.mark.integration
def test_large_write_and_read_round_trip(fresh: Mounted) -> None:
    data = os.urandom(1 << 20) * 20  # 20 MiB
    path = fresh.volume / "big.bin"
    try:
        with open(path, "wb") as handle:
            for offset in range(0, len(data), 4 << 20):
                handle.write(data[offset : offset + (4 << 20)])
        assert os.stat(path).st_size == len(data)
        with open(path, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        path.unlink(missing_ok=True)


@needs_fuse
@pytest.mark.integration
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sqlite_on_the_mount(fresh: Mounted, journal: str) -> None:
    path = fresh.volume / f"db-{journal}.sqlite"
    try:
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA journal_mode={journal}")
            db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
            db.executemany("INSERT INTO items (name) VALUES (?)", [(f"item-{i}",) for i in range(500)])
        db.close()
        db = sqlite3.connect(path)
        try:
            assert db.execute("SELECT COUNT(*), MAX(name) FROM items").fetchone() == (500, "item-99")
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            db.close()
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@needs_fuse
@pytest.mark.integration
def test_read_latency_spares_writes_and_clears_without_remount(fresh: Mounted) -> None:
    pid = fresh.mount.pid
    assert fresh.timed_read("existing.txt") < 0.15
    fresh.mount.set_faults([{"action": "latency", "delay": "200ms", "methods": ["read"], "percent": 100}], settle=True)
    assert fresh.timed_read("existing.txt") >= 0.2
    started = time.monotonic()
    (fresh.volume / "w.txt").write_bytes(b"quick")
    assert time.monotonic() - started < 0.15
    (fresh.volume / "w.txt").unlink()
    fresh.mount.set_faults([], settle=True)
    assert fresh.timed_read("existing.txt") < 0.15
    assert fresh.mount.pid == pid and fresh.mount.mounted()


@needs_fuse
@pytest.mark.integration
def test_percent_delays_about_half(fresh: Mounted) -> None:
    fresh.mount.set_faults([{"action": "latency", "delay": "50ms", "methods": ["read"], "percent": 50}], settle=True)
    delayed = sum(fresh.timed_read("existing.txt") >= 0.05 for _ in range(40))
    assert 8 <= delayed <= 32


@needs_fuse
@pytest.mark.integration
def test_errno_fault_only_on_matching_paths(fresh: Mounted) -> None:
    fresh.mount.set_faults([{"action": "fault", "errno": 5, "path": "bad/*", "methods": ["read"]}], settle=True)
    with pytest.raises(OSError) as failure:
        (fresh.volume / "bad" / "broken.txt").read_bytes()
    assert failure.value.errno == errno.EIO
    assert (fresh.volume / "existing.txt").read_bytes() == b"from before the mount\n"
    assert os.stat(fresh.volume / "bad" / "broken.txt").st_size == 7  # getattr is not a listed method
    fresh.mount.set_faults([{"action": "fault", "errno": "ENOSPC", "methods": ["write"]}], settle=True)
    with pytest.raises(OSError) as failure, open(fresh.volume / "full.txt", "wb", buffering=0) as handle:
        handle.write(b"no room")
    assert failure.value.errno == errno.ENOSPC
    (fresh.volume / "full.txt").unlink(missing_ok=True)


@needs_fuse
@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="running a process as the pod user needs root")
def test_files_written_by_the_pod_user_keep_their_owner(fresh: Mounted) -> None:
    try:
        pod = pwd.getpwnam(POD_USER)
    except KeyError:
        pytest.skip(f"no user {POD_USER} (make setup creates it)")

    def as_pod_user(script: str) -> subprocess.CompletedProcess[str]:
        """Run a shell script as the pod user in the volume."""
        return subprocess.run(
            ["/bin/sh", "-c", script],
            cwd=fresh.volume,
            user=pod.pw_uid,
            group=pod.pw_gid,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=10,
        )

    shared = fresh.volume / "shared"
    shared.mkdir()
    try:
        os.chown(shared, pod.pw_uid, pod.pw_gid)
        result = as_pod_user("echo pod data > shared/owned.txt && mkdir shared/sub && id -u")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(pod.pw_uid)
        for name in ("shared/owned.txt", "shared/sub"):
            through = os.stat(fresh.volume / name)
            underneath = os.stat(name, dir_fd=fresh.backing_fd)
            assert (through.st_uid, through.st_gid) == (pod.pw_uid, pod.pw_gid)
            assert (underneath.st_uid, underneath.st_gid) == (pod.pw_uid, pod.pw_gid)
        denied = as_pod_user("echo x > existing.txt")
        assert denied.returncode != 0  # default_permissions: root's 0644 file stays read-only for the pod
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@needs_fuse
@pytest.mark.integration
def test_stop_leaves_a_plain_directory_even_with_open_files() -> None:
    mount = IoFaultMount()
    held: int | None = None
    with started_mount(mount, {"kept.txt": b"kept"}) as (base, volume):
        try:
            before = os.stat(volume)
            (volume / "written.txt").write_text("through the mount")
            mount.set_faults([{"action": "latency", "delay": "10ms"}])
            held = os.open(volume / "written.txt", os.O_RDONLY)  # makes a plain unmount fail: lazy fallback
            pid = mount.pid
            mount.stop()
            assert not mounted_at(volume)
            assert os.stat(volume).st_dev != before.st_dev
            assert sorted(os.listdir(volume)) == ["kept.txt", "written.txt"]
            assert (volume / "written.txt").read_text() == "through the mount"
            assert json.loads((base / "faults.json").read_text()) == []
            assert pid is not None and not os.path.exists(f"/proc/{pid}/cmdline")
            with pytest.raises(OSError):
                os.pread(held, 10, 0)  # the killed filesystem can no longer serve it
        finally:
            if held is not None:
                with contextlib.suppress(OSError):  # closing flushes through the dead filesystem: ENOTCONN
                    os.close(held)


@needs_fuse
@pytest.mark.integration
def test_stop_with_linger_keeps_open_files_working() -> None:
    mount = IoFaultMount()
    held: int | None = None
    lingering: int | None = None
    with started_mount(mount) as (_, volume):
        try:
            held = os.open(volume / "log.txt", os.O_RDWR | os.O_CREAT, 0o644)
            os.write(held, b"before stop\n")
            mount.stop(linger=True)
            lingering = mount.lingering_pid
            assert lingering is not None
            assert not mounted_at(volume)
            os.write(held, b"after stop\n")
            assert os.pread(held, 100, 0) == b"before stop\nafter stop\n"
            os.close(held)
            held = None
            deadline = time.monotonic() + 5
            while mount.lingering_pid is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert mount.lingering_pid is None  # exits by itself once the last file is closed
            assert (volume / "log.txt").read_bytes() == b"before stop\nafter stop\n"
        finally:
            if held is not None:
                os.close(held)
            if mount.lingering_pid is not None:
                os.kill(mount.lingering_pid, 9)


@needs_fuse
@pytest.mark.integration
def test_cleanup_stale_after_a_crash() -> None:
    orphan = IoFaultMount()
    with started_mount(orphan, {"data": b"survives"}, subpath="pod/vol") as (base, volume):
        pid = orphan.pid
        # The server "crashes": nobody calls stop(); a later run cleans up by directory.
        assert cleanup_stale(base) == [str(volume)]
        assert not mounted_at(volume)
        assert (volume / "data").read_text() == "survives"
        deadline = time.monotonic() + 3
        while pid is not None and os.path.exists(f"/proc/{pid}/cmdline") and time.monotonic() < deadline:
            if orphan._proc is not None:
                orphan._proc.poll()  # reap (this test process is the parent)
            time.sleep(0.02)
        assert pid is not None and not os.path.exists(f"/proc/{pid}/cmdline")
        assert cleanup_stale(base) == []


@needs_fuse
@pytest.mark.integration
def test_direct_io_sends_every_read_to_the_filesystem() -> None:
    mount = IoFaultMount(direct_io=True)
    with started_mount(mount, {"page.txt": b"cached?"}) as (_, volume):
        mount.set_faults([{"action": "latency", "delay": "100ms", "methods": ["read"]}], settle=True)
        fd = os.open(volume / "page.txt", os.O_RDONLY)
        try:
            for _ in range(3):  # without direct IO only the first read would reach the filesystem
                started = time.monotonic()
                assert os.pread(fd, 100, 0) == b"cached?"
                assert time.monotonic() - started >= 0.1
        finally:
            os.close(fd)


@needs_fuse
@pytest.mark.integration
def test_failed_start_reports_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'fuse: device not found, try modprobe fuse first' >&2\nexit 3\n")
    fake.chmod(0o755)
    mount = IoFaultMount(python=str(fake))
    with pytest.raises(RuntimeError) as failure:
        mount.start(volume, tmp_path / "faults.json")
    message = str(failure.value)
    assert "\n" not in message and "status 3" in message and "device not found" in message
    assert mount.pid is None and not mounted_at(volume)
