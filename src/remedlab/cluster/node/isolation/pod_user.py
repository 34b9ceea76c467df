"""The user containers run as, and whether that user can actually run remedlab's interpreter: on the
host as it is, else (as root, with mount namespaces) in a namespace where remedlab's runtime is made
reachable as each pod's namespace makes it."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from remedlab.api.fidelity_check import FidelityCheck
from remedlab.cluster.node.isolation.linux_calls import prepare
from remedlab.cluster.node.isolation.mount_namespace import namespaces_unavailable, runtime_paths
from remedlab.cluster.node.isolation.pod_filesystem import build_runtime_view

POD_USER = "remedlab-pod"
FALLBACK_POD_USER = "nobody"
PLACEMENT_FIX = "place the checkout and REMEDLAB_HOME in a world-readable path"
_CHECK_TIMEOUT_S = 30.0

# (uid, gid) -> None when the interpreter runs as that user, else the reason it does not.
InterpreterCheck = Callable[[int, int], str | None]


@dataclass(frozen=True)
class PodUser:
    """The resolved pod user and the fidelity check describing it."""

    uid: int | None  # None: containers run as the server's own user
    gid: int | None
    name: str
    check: FidelityCheck

    def run_as(self) -> tuple[int, int] | None:
        if self.uid is None or self.gid is None:
            return None
        return (self.uid, self.gid)


_check_lock = threading.Lock()
_check_cache: dict[tuple[str, int, int, bool], str | None] = {}


def _cached(uid: int, gid: int, state_dir: str | None, in_namespace: bool) -> str | None:
    key = (f"{sys.executable}:{state_dir or ''}", uid, gid, in_namespace)
    with _check_lock:
        if key not in _check_cache:
            _check_cache[key] = _run_import_check(uid, gid, state_dir, in_namespace)
        return _check_cache[key]


def interpreter_runs_on_host(uid: int, gid: int, state_dir: str | None = None) -> str | None:
    """Run ``python -c "import remedlab"`` as uid/gid on the host as it is; None if it works, else the
    reason. Cached per interpreter and user for the life of the process: the answer only changes when
    files move or permissions change, which needs a restart anyway."""
    return _cached(uid, gid, state_dir, False)


def interpreter_runs_as(uid: int, gid: int, state_dir: str | None = None) -> str | None:
    """Whether uid/gid can run the interpreter where pods run: on the host, else in a mount namespace
    exposing remedlab's runtime (when this host gives pods one); None if it can, else the reason."""
    reason = interpreter_runs_on_host(uid, gid, state_dir)
    if reason is None or namespaces_unavailable() is not None:
        return reason
    return _cached(uid, gid, state_dir, True)


_ACCESS_CHECK = (
    "import os, sys, remedlab; "
    "p = sys.argv[1] if len(sys.argv) > 1 else ''; "
    "sys.exit(0 if not p or os.access(p, os.R_OK | os.X_OK) else 3)"
)


def _switch_user_in_view(uid: int, gid: int, exposed: tuple[str, ...]) -> Callable[[], None]:
    """A preexec: the runtime view (see pod_filesystem), then the user."""
    prepare()

    def preexec() -> None:
        build_runtime_view(exposed, (uid, gid))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return preexec


def _run_import_check(uid: int, gid: int, state_dir: str | None = None, in_namespace: bool = False) -> str | None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/", "LANG": "C.UTF-8"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    argv = [sys.executable, "-c", _ACCESS_CHECK, *([state_dir] if state_dir else [])]
    common: dict[str, Any] = {
        "cwd": "/",
        "env": env,
        "stdin": subprocess.DEVNULL,
        "capture_output": True,
        "timeout": _CHECK_TIMEOUT_S,
        "check": False,
    }
    try:
        if in_namespace:
            exposed = runtime_paths(*([state_dir] if state_dir else []))
            done = subprocess.run(argv, preexec_fn=_switch_user_in_view(uid, gid, exposed), **common)
        else:
            done = subprocess.run(argv, user=uid, group=gid, extra_groups=[], **common)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot start {sys.executable} as uid {uid}: {exc}"
    if done.returncode == 0:
        return None
    if done.returncode == 3:
        return f"the state directory {state_dir} is not reachable by uid {uid}"
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else f"exit code {done.returncode}"
    return f"{sys.executable} -c 'import remedlab' fails as uid {uid}: {last}"


def _lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def resolve_pod_user(
    *,
    euid: int | None = None,
    candidates: Sequence[str] = (POD_USER, FALLBACK_POD_USER),
    check: InterpreterCheck = interpreter_runs_as,
) -> PodUser:
    """Pick the user containers run as on this host and describe the isolation achieved."""
    euid = os.geteuid() if euid is None else euid
    own = _describe_uid(euid)
    if euid != 0:
        return PodUser(
            None,
            None,
            own,
            FidelityCheck(
                "user isolation",
                "degraded",
                f"containers run as the server's user {own} (server not root, cannot switch users)",
            ),
        )
    entry = next((found for found in map(_lookup, candidates) if found is not None), None)
    if entry is None:
        return PodUser(
            None,
            None,
            own,
            FidelityCheck(
                "user isolation",
                "degraded",
                f"containers run as {own}: none of the users {', '.join(candidates)} exists "
                f"(run `make setup` to create {POD_USER})",
            ),
        )
    reason = check(entry.pw_uid, entry.pw_gid)
    if reason is not None:
        return PodUser(
            None,
            None,
            own,
            FidelityCheck(
                "user isolation",
                "degraded",
                f"containers run as {own}: {entry.pw_name} cannot run the interpreter ({reason}); fix: {PLACEMENT_FIX}",
            ),
        )
    detail = f"containers run as {entry.pw_name} (uid {entry.pw_uid}, gid {entry.pw_gid})"
    if entry.pw_name != POD_USER:
        detail += f"; {POD_USER} does not exist (run `make setup` to create it)"
    return PodUser(entry.pw_uid, entry.pw_gid, entry.pw_name, FidelityCheck("user isolation", "full", detail))


def _describe_uid(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
