"""Host programs and host paths for the data-store containers (postgres, redis, memcached, mariadb,
rabbitmq).

The store images run the host's own server binaries, installed from Debian
packages. When one is missing, the container exits with one line on stderr that
names the package to install, so `kubectl logs` says what to do.

Kept free of heavy imports: `kubectl exec <pod> -- psql` starts a Python process
that uses this module before it execs the real client.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

POSTGRES_ROOT = Path("/usr/lib/postgresql")
# overrides the search for PostgreSQL's server binaries (a directory holding `postgres` and `initdb`)
POSTGRES_BINDIR_ENV = "REMEDLAB_POSTGRES_BINDIR"
FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SERVICE_LINK = re.compile(r"^(tcp|udp|sctp)://", re.IGNORECASE)


class MissingBinary(Exception):
    """A store program is not installed on this host; the message is one line."""

    def __init__(self, program: str, package: str, detail: str = "") -> None:
        self.program = program
        self.package = package
        where = f" ({detail})" if detail else ""
        super().__init__(
            f"{program} not found on this host{where}: install the Debian package {package} "
            f"(apt-get install -y {package}, or `make setup`)"
        )


def fail(prefix: str, message: str) -> NoReturn:
    """Exit 1 with a single line on stderr, as a container that cannot start."""
    text = " ".join(str(message).split())
    print(f"{prefix}: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def search_path(path: str | None = None) -> str:
    return path if path is not None else os.environ.get("PATH") or FALLBACK_PATH


def find_binary(program: str, package: str, path: str | None = None) -> str:
    """The absolute path of `program` on the container's PATH, or MissingBinary naming `package`."""
    found = shutil.which(program, path=search_path(path))
    if found is None:
        raise MissingBinary(program, package)
    return found


def _version_key(directory: Path) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", directory.name)
    return tuple(int(n) for n in numbers) if numbers else (-1,)


def _has_all(directory: Path, programs: Sequence[str]) -> bool:
    return all(os.access(directory / p, os.X_OK) and (directory / p).is_file() for p in programs)


def postgres_bindirs(root: Path = POSTGRES_ROOT) -> list[Path]:
    """The versioned bin dirs (`<root>/<N>/bin`), newest first."""
    try:
        versions = [d for d in root.iterdir() if (d / "bin").is_dir()]
    except OSError:
        return []
    return [d / "bin" for d in sorted(versions, key=_version_key, reverse=True)]


def _pg_config_bindir(path: str | None) -> Path | None:
    pg_config = shutil.which("pg_config", path=search_path(path))
    if pg_config is None:
        return None
    try:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return Path(text) if done.returncode == 0 and text else None


def postgres_bindir(
    programs: Sequence[str] = ("postgres", "initdb"),
    *,
    version: str | None = None,
    root: Path = POSTGRES_ROOT,
    path: str | None = None,
    package: str = "postgresql",
) -> Path:
    """The directory holding PostgreSQL's `programs`.

    In order: `$REMEDLAB_POSTGRES_BINDIR` (alone, when set); the newest
    `/usr/lib/postgresql/<N>/bin` (or exactly `<version>` when given); `pg_config --bindir`;
    the directory of the first program on PATH.
    """
    override = os.environ.get(POSTGRES_BINDIR_ENV)
    if override:
        if _has_all(Path(override), programs):
            return Path(override)
        raise MissingBinary(programs[0], package, f"${POSTGRES_BINDIR_ENV}={override} lacks {', '.join(programs)}")
    candidates = postgres_bindirs(root)
    if version is not None:
        candidates = [d for d in candidates if d.parent.name == version]
        if not any(_has_all(d, programs) for d in candidates):
            raise MissingBinary(f"PostgreSQL {version} {programs[0]}", f"postgresql-{version}")
    for directory in candidates:
        if _has_all(directory, programs):
            return directory
    configured = _pg_config_bindir(path)
    if configured is not None and _has_all(configured, programs):
        return configured
    on_path = shutil.which(programs[0], path=search_path(path))
    if on_path is not None and _has_all(Path(on_path).parent, programs):
        return Path(on_path).parent
    raise MissingBinary(programs[0], package)


def postgres_major(bindir: Path) -> str:
    """The major version of the server in `bindir` ("15"), from `postgres --version`."""
    done = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", done.stdout)
    if match is None:
        raise MissingBinary("postgres", "postgresql", f"cannot tell the version of {bindir / 'postgres'}")
    major = int(match.group(1))
    # before 10 the major version had two parts (9.6)
    return f"{major}.{match.group(2)}" if major < 10 and match.group(2) else str(major)


def _mounts() -> dict[str, str]:
    raw = os.environ.get("REMEDLAB_MOUNTS")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def host_path(path: str) -> Path:
    """Where the container path `path` lives on this host.

    A path under a mounted volume maps through `REMEDLAB_MOUNTS`; any other path
    is the container's own, ephemeral filesystem: under `$HOME` (the pod's root
    directory, gone with the pod). In a pod with its own mount namespace (no
    `REMEDLAB_MOUNTS`, but `REMEDLAB_POD_NAME`) container paths are real: a path
    is used as it is when it exists or can be made where it would be (a volume),
    else it is the container's own, under `$HOME`, as the image's filesystem is
    not the pod's to write. Elsewhere (not on the embedded cluster) the path is
    used as it is.
    """
    if "REMEDLAB_MOUNTS" not in os.environ:
        if "REMEDLAB_POD_NAME" not in os.environ:
            return Path(path)
        return _real_or_own(Path(path))
    mounts = _mounts()
    for mount_path in sorted(mounts, key=len, reverse=True):
        base = mount_path.rstrip("/") or "/"
        if path == base or path.startswith(base + "/"):
            return Path(mounts[mount_path] + path[len(base) :])
    home = os.environ.get("HOME")
    if not home:
        return Path(path)
    return Path(home) / path.lstrip("/")


def _real_or_own(path: Path) -> Path:
    if path.exists():
        return path
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    home = os.environ.get("HOME")
    if os.access(existing, os.W_OK) or not home:
        return path
    return Path(home) / str(path).lstrip("/")


def listen_address() -> str:
    """The pod's own address (the kubelet's `REMEDLAB_POD_IP`), else every interface."""
    return os.environ.get("REMEDLAB_POD_IP") or "0.0.0.0"


def env_int(name: str, default: int, prefix: str) -> int:
    """A positive integer setting from the environment.

    A value like `tcp://10.0.0.1:6379` is no setting but the link Kubernetes
    makes for a Service named after the store (a Service `redis` sets
    `REDIS_PORT`): it is ignored, as the default applies.
    """
    raw = os.environ.get(name, "").strip()
    if not raw or SERVICE_LINK.match(raw):
        return default
    try:
        value = int(raw)
    except ValueError:
        fail(prefix, f"{name}={raw!r} is not a number")
    if value <= 0:
        fail(prefix, f"{name}={raw!r} must be positive")
    return value


def check_store_image(image: str) -> str | None:
    """Why a store image cannot run on this host (the package to install), or None when it can.

    Images other than remedlab's store images need nothing from the host.
    """
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    try:
        if repository == "remedlab/postgres":
            postgres_bindir()
        elif repository == "remedlab/redis":
            find_binary("redis-server", "redis-server")
        elif repository == "remedlab/memcached":
            find_binary("memcached", "memcached")
        elif repository == "remedlab/mariadb":
            find_binary("mariadbd", "mariadb-server")
        elif repository == "remedlab/rabbitmq":
            find_binary("epmd", "erlang-base")
            if not os.access("/usr/lib/rabbitmq/bin/rabbitmq-server", os.X_OK):
                raise MissingBinary("rabbitmq-server", "rabbitmq-server")
    except MissingBinary as exc:
        return str(exc)
    return None


def missing_store_programs(images: Sequence[str]) -> list[str]:
    """What this host lacks to run containers of ``images``: one line per missing store program."""
    problems: list[str] = []
    for image in sorted(set(images)):
        problem = check_store_image(image)
        if problem is not None and problem not in problems:
            problems.append(problem)
    return problems
