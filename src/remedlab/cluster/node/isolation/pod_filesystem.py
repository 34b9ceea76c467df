"""What a pod's processes see of the filesystem, built inside a new mount namespace.

`build_pod_filesystem` runs in a forked child that has just unshared its mount and UTS namespaces
(the pod's namespace holder): it makes every mount a slave of the host's (nothing done here reaches
the host; the host's later mounts, such as an IO fault over a volume, reach the pod), builds a new
root on a tmpfs that binds each top-level entry of the host's root except ``/tmp``, pivots into it,
and then mounts:

- a private ``/tmp`` and ``/dev/shm`` (tmpfs);
- for pods run as an unprivileged user, a ``/proc`` of their own that shows that user's processes
  only (``hidepid=invisible``, a per-mount option since Linux 5.8; an older kernel refuses the word
  and the node's ``/proc`` stays): the server's, the benchmark's and every other user's command lines
  stay out of an agent's ``kubectl exec ... ps``;
- remedlab's runtime, wherever it is: each directory on the way to the interpreter, the virtual
  environment, the source tree and the pod's own files that the pod's user cannot traverse is
  covered by a tmpfs holding only the entries on the way (a *mask*), so the paths stay the same;
- the pod's ``resolv.conf`` and ``hosts`` at ``/etc/resolv.conf`` and ``/etc/hosts``;
- every volume at its mount path (a file for a ``subPath`` naming a file), read-only when asked.

FUSE mounts copied from the host are detached (see `detach_fuse_copies`).

A mount point missing from the host is never created there: the deepest existing directory above it
is covered by a tmpfs that binds each of its original entries back in (a *mirror*), and the missing
directories are made on that tmpfs. Files the host adds to a mirrored directory afterwards are not
seen by the pod.

`build_runtime_view` does the runtime part alone, for a process started outside any pod.

Everything here runs between fork and exec: system calls and plain data only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from remedlab.cluster.node.isolation.linux_calls import (
    CLONE_NEWNS,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
    mount,
    pivot_root,
    prepare,
    sethostname,
    umount,
    unshare,
)

OLD_ROOT = "/.remedlab-old-root"
PRIVATE_DIRS = (("/tmp", 0o1777), ("/dev/shm", 0o1777))


@dataclass(frozen=True)
class VolumeMount:
    """A volume (or a ``subPath`` of one) at a container path."""

    target: str
    source: str
    read_only: bool = False


@dataclass(frozen=True)
class PodFilesystem:
    """Everything `build_pod_filesystem` needs, prepared before the fork."""

    staging: str
    """An empty host directory of the pod's: the new root is a tmpfs mounted there, then pivoted into."""
    hostname: str
    volumes: tuple[VolumeMount, ...] = ()
    files: tuple[VolumeMount, ...] = ()
    """Single files bound over the host's (the pod's resolv.conf and hosts)."""
    exposed: tuple[str, ...] = ()
    """Host paths the pod's user must reach at the same path (the runtime, the pod's directory)."""
    run_as: tuple[int, int] | None = None


def _join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def _under(path: str, base: str) -> bool:
    return base == "/" or path == base or path.startswith(base.rstrip("/") + "/")


def _can_traverse(st: os.stat_result, run_as: tuple[int, int] | None) -> bool:
    if run_as is None or run_as[0] == 0:
        return True
    uid, gid = run_as
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


class FilesystemView:
    """Mounts made inside the current (new) mount namespace, with what each tmpfs covers.

    ``originals`` maps a directory covered by a tmpfs of ours to a path of what it covered;
    ``old_root`` prefixes any other host path (the host's root after a pivot, '' without one).
    """

    def __init__(self, run_as: tuple[int, int] | None, old_root: str = "") -> None:
        self.run_as = run_as
        self.old_root = old_root
        self.originals: dict[str, str] = {}
        self.writable: set[str] = set()
        """Directories of ours where new entries may be made."""
        self.fds: list[int] = []

    def original(self, host_path: str) -> str:
        """A path reaching `host_path` as the host has it, whatever covers it here."""
        best = ""
        for covered in self.originals:
            if _under(host_path, covered) and len(covered) > len(best):
                best = covered
        if best:
            rest = host_path[len(best.rstrip("/")) :]
            return self.originals[best] + rest
        return self.old_root + host_path

    # -- tmpfs covers -----------------------------------------------------------------------------

    def _cover(self, path: str, mode: int, uid: int = 0, gid: int = 0) -> str:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.fds.append(fd)
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o},uid={uid},gid={gid}")
        source = f"/proc/self/fd/{fd}"
        if path not in self.originals:
            self.originals[path] = source
        self.writable.add(path)
        return source

    def replicate(self, source_dir: str, name: str, target: str) -> None:
        """Make `target` show the entry `name` of `source_dir`: a bind mount, or the same symlink."""
        source = _join(source_dir, name)
        st = os.lstat(source)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISDIR(st.st_mode):
            os.mkdir(target, 0o755)
            mount(source, target, None, MS_BIND | MS_REC)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
            mount(source, target, None, MS_BIND)

    def mirror(self, path: str) -> None:
        """Cover `path` with a tmpfs holding each of its entries, bound back in: new entries made there
        stay in this namespace."""
        st = os.stat(path)
        source = self._cover(path, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        for name in os.listdir(source):
            self.replicate(source, name, _join(path, name))

    def private_dir(self, path: str, mode: int) -> None:
        """A new, empty tmpfs at `path` (an existing directory), whose former content stays reachable
        through `original`."""
        if not os.path.isdir(path):
            return
        before = self.original(path)
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o}")
        self.originals[path] = before
        self.writable.add(path)

    # -- the runtime ------------------------------------------------------------------------------

    def expose(self, host_path: str) -> None:
        """Make `host_path` reachable by the pod's user at the same path: each directory on the way that
        it cannot traverse is masked (only the entries on the way are bound back in), and an entry
        missing under a tmpfs of ours is bound in from the host."""
        directory = "/"
        for name in [p for p in host_path.split("/") if p]:
            entry = _join(directory, name)
            if directory in self.originals and directory in self.writable:
                if not os.path.lexists(entry):
                    self.replicate(self.originals[directory], name, entry)
            elif not os.path.lexists(entry):
                return
            else:
                st = os.stat(directory)
                if not _can_traverse(st, self.run_as):
                    self._cover(directory, 0o755)
                    self.replicate(self.originals[directory], name, entry)
            if os.path.islink(entry):
                return
            directory = entry

    # -- volumes and files ------------------------------------------------------------------------

    def ensure_target(self, path: str, is_dir: bool) -> str:
        """The mount point for `path`, made where it is missing (never on the host); symlinks on the
        way are followed within this view."""
        parts = [p for p in path.split("/") if p]
        directory = "/"
        for index, name in enumerate(parts):
            entry = _join(directory, name)
            last = index == len(parts) - 1
            if os.path.islink(entry):
                rest = "/".join(parts[index + 1 :])
                resolved = os.path.realpath(entry)
                return self.ensure_target(_join(resolved, rest) if rest else resolved, is_dir)
            if not os.path.lexists(entry):
                if directory not in self.writable:
                    self.mirror(directory)
                try:
                    self._make(entry, last and not is_dir)
                except OSError:
                    self.mirror(directory)
                    self._make(entry, last and not is_dir)
            directory = entry
        return directory

    def _make(self, path: str, is_file: bool) -> None:
        if is_file:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        else:
            os.mkdir(path, 0o755)
            self.writable.add(path)

    def bind(self, mount_: VolumeMount) -> None:
        source = self.original(mount_.source)
        try:
            os.lstat(source)
            target = self.ensure_target(mount_.target, os.path.isdir(source))
            mount(source, target, None, MS_BIND | MS_REC)
            self.writable.add(target)
            if mount_.read_only:
                mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise OSError(exc.errno, f"cannot mount {mount_.source} at {mount_.target}: {reason}") from None

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def detach_fuse_copies() -> None:
    """Detach every FUSE mount this namespace copied from the host: a copy would keep the host's
    filesystem alive after the host unmounts it, and its process from ever seeing the unmount."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as handle:
        lines = handle.read().splitlines()
    points = []
    for line in lines:
        fields = line.split(" ")
        if "-" in fields[6:]:
            fstype = fields[fields.index("-", 6) + 1]
            if fstype == "fuse" or fstype.startswith(("fuse.", "fuseblk")):
                points.append(_unescape(fields[4]))
    for point in sorted(set(points), key=lambda p: p.count("/"), reverse=True):
        try:
            umount(point, MNT_DETACH)
        except OSError:
            continue


def runtime_view_entry(exposed: Sequence[str], run_as: tuple[int, int] | None) -> Callable[[], None]:
    """A preexec step giving the process `build_runtime_view` (prepared now: nothing is looked up in
    the child)."""
    prepare()
    paths = tuple(exposed)

    def enter() -> None:
        build_runtime_view(paths, run_as)

    return enter


def build_runtime_view(exposed: Sequence[str], run_as: tuple[int, int] | None) -> None:
    """In the calling process: a new mount namespace where the pod's user reaches every path of
    `exposed` (no pivot, nothing else changed)."""
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_SLAVE)
    detach_fuse_copies()
    view = FilesystemView(run_as)
    try:
        for path in exposed:
            view.expose(path)
    finally:
        view.close()


def own_processes_only() -> bool:
    """Mount a procfs at /proc on which the pod's user sees its own processes only; False when the
    kernel refuses it (the node's /proc stays)."""
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    except OSError:
        return False
    return True


def build_pod_filesystem(plan: PodFilesystem) -> None:
    """In the calling process (the pod's namespace holder, as root): new mount and UTS namespaces set
    up as the module describes. Its working directory ends at the new root."""
    unshare(CLONE_NEWNS | CLONE_NEWUTS)
    sethostname(plan.hostname)
    mount(None, "/", None, MS_REC | MS_SLAVE)
    mount("tmpfs", plan.staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    os.mkdir(plan.staging + OLD_ROOT, 0o700)
    pivot_root(plan.staging, plan.staging + OLD_ROOT)
    os.chdir("/")
    view = FilesystemView(plan.run_as, OLD_ROOT)
    try:
        for name in os.listdir(OLD_ROOT):
            if name != "tmp" and not os.path.lexists(f"/{name}"):
                view.replicate(OLD_ROOT, name, f"/{name}")
        if os.path.isdir(f"{OLD_ROOT}/tmp"):
            os.mkdir("/tmp", 0o1777)
        view.writable.add("/")
        for path, mode in PRIVATE_DIRS:
            view.private_dir(path, mode)
        if plan.run_as is not None and plan.run_as[0] != 0:
            own_processes_only()
        for path in plan.exposed:
            view.expose(path)
        for file in plan.files:
            view.bind(file)
        for volume in sorted(plan.volumes, key=lambda v: (v.target.rstrip("/").count("/"), v.target)):
            view.bind(volume)
    finally:
        view.close()
    umount(OLD_ROOT, MNT_DETACH)
    os.rmdir(OLD_ROOT)
    detach_fuse_copies()
    os.chdir("/")
