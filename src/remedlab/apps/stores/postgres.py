"""remedlab/postgres: the host's PostgreSQL server as a container entry point.

At the first start of an empty data directory the wrapper copies a template
cluster (made once per PostgreSQL major version by `initdb`, then kept), writes
`pg_hba.conf`, and runs the init SQL on a private, socket-only server: the
database, the application role and its read-write grants, then the seed files.
The result is kept too: a later first start with the same settings and seed
files copies it instead (the most recent INITIALISED_KEPT are kept per host).
Every start ends by exec'ing `postgres` in the foreground on the pod's address,
so the kubelet's SIGTERM shuts it down and its log goes to the container log.

Environment (the names of the official image where they exist):
  PGDATA                      data directory, a container path (default /var/lib/postgresql/data)
  PGPORT                      port (default 5432)
  POSTGRES_DB                 database created at first start (default: POSTGRES_USER)
  POSTGRES_USER               application role (default postgres: then the superuser is the app's role)
  POSTGRES_PASSWORD           its password; also the superuser's unless POSTGRES_SUPERUSER_PASSWORD is set
  POSTGRES_SUPERUSER_PASSWORD password of the superuser `postgres`
  POSTGRES_HOST_AUTH_METHOD   TCP authentication (default scram-sha-256; `trust` needs no password)
  REMEDLAB_TEMPLATE_DIR       where template clusters are kept (default: the node cache REMEDLAB_CACHE_DIR)
Seed data: every `*.sql` file in /docker-entrypoint-initdb.d (a container path,
typically a ConfigMap volume) runs once, in name order, as the superuser in
POSTGRES_DB, before the grants (so the application role gets them on seeded tables).
Arguments (a container's `args`, e.g. ["-c", "max_connections=200"]) are
appended to postgres' command line.

`python -m remedlab.apps.stores.postgres --client psql ...` is the image's
`psql` (likewise pg_isready, pg_dump, ...): it connects to this pod's server
over its Unix socket as the superuser, unless PGHOST / PGUSER say otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from remedlab.apps.stores.store_binaries import (
    MissingBinary,
    env_int,
    fail,
    host_path,
    listen_address,
    postgres_bindir,
    postgres_major,
)

PREFIX = "remedlab-postgres"
SUPERUSER = "postgres"
DEFAULT_DATA = "/var/lib/postgresql/data"
DEFAULT_PORT = 5432
INITDB_DIR = "/docker-entrypoint-initdb.d"
# present while a first start initialises the data directory: found at a later start, the work is redone
PENDING = "remedlab-init.pending"
# bump when the way templates are made changes: old templates are then left alone
TEMPLATE_FORMAT = "t2"
# initialised clusters (template, roles, grants and seed files applied) kept per host, the most recent
INITIALISED_KEPT = 24
WAL_SEGMENT_MB = 1
# longest Unix socket path PostgreSQL accepts
SOCKET_PATH_MAX = 107
READY_TIMEOUT_S = 60.0
PREVIOUS_SERVER_WAIT_S = 60.0
CLIENT_TOOLS = frozenset(
    {
        "psql",
        "pg_isready",
        "pg_dump",
        "pg_dumpall",
        "pg_restore",
        "createdb",
        "dropdb",
        "createuser",
        "dropuser",
        "vacuumdb",
        "reindexdb",
        "clusterdb",
        "pgbench",
    }
)
HOST_AUTH_METHODS = ("scram-sha-256", "md5", "password", "trust", "reject")
# users a wrapper started as root switches to (PostgreSQL refuses to run as root)
RUN_AS_CANDIDATES = ("remedlab-pod", "postgres", "nobody")


def info(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    port: int
    listen: str
    database: str
    user: str
    password: str
    superuser_password: str
    host_auth: str
    initdb_dir: Path


def load_settings(env: Mapping[str, str]) -> Settings:
    user = env.get("POSTGRES_USER") or SUPERUSER
    password = env.get("POSTGRES_PASSWORD", "")
    host_auth = env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256"
    if host_auth not in HOST_AUTH_METHODS:
        fail(PREFIX, f"POSTGRES_HOST_AUTH_METHOD={host_auth!r} is not one of {', '.join(HOST_AUTH_METHODS)}")
    return Settings(
        data_dir=host_path(env.get("PGDATA") or DEFAULT_DATA),
        port=env_int("PGPORT", DEFAULT_PORT, PREFIX),
        listen=listen_address(),
        database=env.get("POSTGRES_DB") or user,
        user=user,
        password=password,
        superuser_password=env.get("POSTGRES_SUPERUSER_PASSWORD") or password,
        host_auth=host_auth,
        initdb_dir=host_path(INITDB_DIR),
    )


def _fits(directory: Path, port: int) -> bool:
    return len(f"{directory}/.s.PGSQL.{port}") <= SOCKET_PATH_MAX


def _shared_socket_dir(data_dir: Path, port: int) -> Path:
    digest = hashlib.sha256(f"{data_dir}:{port}".encode()).hexdigest()[:16]
    try:
        owner = data_dir.stat().st_uid
    except OSError:
        owner = os.geteuid()
    return Path(tempfile.gettempdir()) / f"remedlab-pg-{owner}-{digest}"


def socket_dir(data_dir: Path, port: int, create: bool = False) -> Path:
    """Where the server's Unix socket lives, off the data volume (a FUSE IO fault mounted over the
    volume would hide a socket kept there): a directory in the pod's own $HOME, else one under /tmp
    named after the data directory. The server creates it (`create`); a client finds the same one.
    """
    home = os.environ.get("HOME")
    if home and "REMEDLAB_MOUNTS" in os.environ:
        own = Path(home) / ".postgresql-run"
        if _fits(own, port):
            if own.is_dir():
                return own
            if create:
                with contextlib.suppress(OSError):
                    own.mkdir(mode=0o700)
                    return own
    shared = _shared_socket_dir(data_dir, port)
    if create:
        shared.mkdir(mode=0o700, exist_ok=True)
        if shared.stat().st_uid != os.geteuid():
            fail(PREFIX, f"{shared} belongs to another user")
    return shared


# ---------------------------------------------------------------------- SQL


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    # standard_conforming_strings is on (the default since 9.1): a backslash is an ordinary character
    return "'" + text.replace("'", "''") + "'"


def roles_sql(s: Settings, major: str = "") -> str:
    """Run in the `postgres` database: passwords, the application role, the database."""
    lines = []
    if s.superuser_password:
        lines.append(f"ALTER ROLE {SUPERUSER} PASSWORD {quote_literal(s.superuser_password)};")
    if s.user != SUPERUSER:
        password = f" PASSWORD {quote_literal(s.password)}" if s.password else ""
        lines.append(f"CREATE ROLE {quote_ident(s.user)} LOGIN{password};")
    if s.database != SUPERUSER:
        # FILE_COPY (15+) copies template1's files once; the default writes them to the WAL as well
        strategy = " STRATEGY FILE_COPY" if major.isdigit() and int(major) >= 15 else ""
        lines.append(f"CREATE DATABASE {quote_ident(s.database)}{strategy};")
    return "\n".join(lines) + "\n"


def access_sql(s: Settings) -> str:
    """Run in POSTGRES_DB before the seed files: only the application role may connect and use `public`."""
    if s.user == SUPERUSER:
        return ""
    db, user = quote_ident(s.database), quote_ident(s.user)
    return (
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;\n"
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {user};\n"
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;\n"
        f"GRANT USAGE, CREATE ON SCHEMA public TO {user};\n"
    )


def grants_sql(s: Settings) -> str:
    """Run in POSTGRES_DB after the seed files: read-write on every table and sequence, now and later."""
    if s.user == SUPERUSER:
        return ""
    return f"""DO $remedlab_grants$
DECLARE
  app text := {quote_literal(s.user)};
  schema_name text;
BEGIN
  FOR schema_name IN
    SELECT nspname FROM pg_namespace
    WHERE nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%'
  LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, app);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', schema_name, app);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', schema_name, app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE {SUPERUSER} IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', schema_name, app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE {SUPERUSER} IN SCHEMA %I '
                   'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', schema_name, app);
  END LOOP;
END
$remedlab_grants$;
"""


def hba_conf(host_auth: str) -> str:
    return (
        "# written by remedlab at the first start of this data directory\n"
        "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
        "local   all       all                 trust\n"
        f"host    all       all   127.0.0.0/8   {host_auth}\n"
        f"host    all       all   ::1/128       {host_auth}\n"
    )


# ---------------------------------------------------------------------- templates


def template_bases() -> list[Path]:
    """Where template clusters may be kept, in order of preference."""
    uid = os.geteuid()
    bases: list[Path] = []
    explicit = os.environ.get("REMEDLAB_TEMPLATE_DIR")
    if explicit:
        bases.append(Path(explicit))
    node_cache = os.environ.get("REMEDLAB_CACHE_DIR")
    if node_cache:
        bases.append(Path(node_cache) / "postgres-templates")
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        bases.append(Path(xdg) / "remedlab" / "postgres-templates")
    with contextlib.suppress(KeyError):
        account_home = Path(pwd.getpwuid(uid).pw_dir)
        if account_home.is_dir() and str(account_home) != "/":
            bases.append(account_home / ".cache" / "remedlab" / "postgres-templates")
    # persists across pods (and reboots): the default for a pod user without a home directory
    bases.append(Path("/var/tmp") / f"remedlab-{uid}" / "postgres-templates")
    home = os.environ.get("HOME")
    if home:
        bases.append(Path(home) / ".cache" / "remedlab" / "postgres-templates")
    bases.append(Path(tempfile.gettempdir()) / f"remedlab-{uid}" / "postgres-templates")
    return bases


def _usable(base: Path) -> bool:
    """Create `base` if needed; usable when this user owns it and can write to it."""
    uid = os.geteuid()
    try:
        # a directory of ours directly in a shared (sticky) directory: made private
        parent = base.parent
        if parent.name == f"remedlab-{uid}" and not parent.exists():
            parent.mkdir(mode=0o700)
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        return base.stat().st_uid == uid and os.access(base, os.W_OK | os.X_OK)
    except OSError:
        return False


def _run_initdb(bindir: Path, major: str, target: Path) -> None:
    base = [str(bindir / "initdb"), "-D", str(target), "-U", SUPERUSER, "-E", "UTF8"]
    base += ["--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]
    if major.isdigit() and int(major) >= 11:
        # 1 MB WAL segments instead of 16: a lab database writes little, and every copy is smaller
        base.append(f"--wal-segsize={WAL_SEGMENT_MB}")
    if major.isdigit() and int(major) >= 14:
        base.append("--no-instructions")
    last = ""
    for locale in ("C.UTF-8", "C"):
        done = subprocess.run([*base, f"--locale={locale}"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        lines = (done.stderr or done.stdout).strip().splitlines()
        last = lines[-1] if lines else f"exit code {done.returncode}"
        shutil.rmtree(target, ignore_errors=True)
    fail(PREFIX, f"initdb failed: {last}")


@dataclass(frozen=True)
class Template:
    """A template cluster (initdb's output) kept for one major version."""

    path: Path
    made: bool


def _count_files(directory: Path) -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(directory))


def _template_ok(target: Path) -> bool:
    """A template is whole when it still has the files it was made with (a cleaner of old temporary
    files may have taken some)."""
    count = target.with_name(target.name + ".files")
    try:
        return (target / "PG_VERSION").is_file() and int(count.read_text()) == _count_files(target)
    except (OSError, ValueError):
        return False


def ensure_template(bindir: Path, major: str) -> Template:
    """The template cluster of this major version, made by the first start that needs it."""
    for base in template_bases():
        if not _usable(base):
            continue
        target = base / f"postgres-{major}-{TEMPLATE_FORMAT}"
        if _template_ok(target):
            return Template(target, False)
        with (base / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _template_ok(target):
                return Template(target, False)
            work = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
            try:
                _run_initdb(bindir, major, work / "data")
                if target.exists():
                    info(f"the template {target} is incomplete: making it again")
                    target.rename(work / "old")
                target.with_name(target.name + ".files").write_text(f"{_count_files(work / 'data')}\n")
                (work / "data").rename(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            return Template(target, True)
    fail(PREFIX, "no writable directory for template clusters; set REMEDLAB_TEMPLATE_DIR")


def copy_tree(source: Path, target: Path) -> None:
    """Copy the contents of `source` into the existing directory `target` (holes stay holes)."""
    cp = shutil.which("cp", path=os.environ.get("PATH") or None)
    if cp is not None:
        argv = [cp, "-a", "--sparse=always", f"{source}/.", f"{target}/"]
        if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
            return
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)


# ---------------------------------------------------------------------- data directory


def data_dir_state(data: Path) -> str:
    """The state of a data directory: pending (a first start did not finish), initialised, empty, or
    foreign (it holds other files)."""
    if (data / PENDING).exists():
        return "pending"
    if (data / "PG_VERSION").is_file():
        return "initialised"
    others = [n for n in os.listdir(data) if n != "lost+found" and not n.startswith(".s.PGSQL.")]
    return "foreign" if others else "empty"


def _wipe(data: Path) -> None:
    for name in os.listdir(data):
        if name == "lost+found":
            continue
        path = data / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _private(data: Path) -> None:
    """PostgreSQL wants its data directory closed to others (0700 or 0750)."""
    mode = data.stat().st_mode & 0o777
    if mode & 0o027:
        os.chmod(data, 0o700)


def _process_name(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return os.path.basename(raw.split(b"\0", 1)[0].decode(errors="replace"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_previous_server(data: Path, timeout: float = PREVIOUS_SERVER_WAIT_S) -> None:
    """A server of an earlier pod on this volume may still be shutting down: let it finish.

    A lock file whose process is gone, or is no PostgreSQL, is stale: it is removed.
    """
    lock = data / "postmaster.pid"
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            first = lock.read_text().splitlines()[0].strip()
        except (OSError, IndexError):
            return
        pid = int(first) if first.lstrip("-").isdigit() else 0
        pid = abs(pid)
        name = _process_name(pid) if pid else ""
        if pid in (0, os.getpid(), os.getppid()) or not _alive(pid) or name not in ("postgres", "postmaster"):
            with contextlib.suppress(OSError):
                lock.unlink()
            return
        if time.monotonic() > deadline:
            fail(PREFIX, f"another server (pid {pid}) still uses {data}")
        if not said:
            info(f"waiting for the previous server (pid {pid}) to release {data}")
            said = True
        time.sleep(0.05)


@contextlib.contextmanager
def temp_server(bindir: Path, data: Path, port: int) -> Iterator[Path]:
    """A server for initialisation only: Unix socket in a private directory, no TCP."""
    sockets = Path(tempfile.mkdtemp(prefix="remedlab-pginit-"))
    argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets)]
    argv += ["-c", "listen_addresses=", "-c", "autovacuum=off", "-c", "fsync=off"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            code = proc.poll()
            if code is not None:
                fail(PREFIX, f"postgres exited with code {code} while initialising {data}")
            with contextlib.suppress(OSError):
                lines = (data / "postmaster.pid").read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    break
            if time.monotonic() > deadline:
                fail(PREFIX, f"postgres did not become ready within {READY_TIMEOUT_S:g} s while initialising")
            time.sleep(0.01)
        yield sockets
        proc.send_signal(signal.SIGINT)  # fast shutdown
        proc.wait(READY_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(sockets, ignore_errors=True)


def _psql_path(major: str) -> Path:
    try:
        return postgres_bindir(("psql",), version=major, package="postgresql-client") / "psql"
    except MissingBinary as exc:
        fail(PREFIX, str(exc))


def _psql(psql: Path, sockets: Path, port: int, database: str, script: str | None, file: Path | None = None) -> None:
    argv = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password"]
    argv += ["-h", str(sockets), "-p", str(port), "-U", SUPERUSER, "-d", database]
    argv += ["-f", str(file) if file is not None else "-"]
    done = subprocess.run(argv, input=script, text=True, check=False)
    if done.returncode != 0:
        what = file.name if file is not None else "init SQL"
        fail(PREFIX, f"{what} failed in database {database} (psql exit code {done.returncode})")


def seed_files(s: Settings) -> list[Path]:
    if not s.initdb_dir.is_dir():
        return []
    return sorted(p for p in s.initdb_dir.iterdir() if p.suffix == ".sql" and p.is_file())


def initialised_key(major: str, s: Settings, seeds: list[Path]) -> str:
    """What an initialised cluster depends on: the server's major version, the template's format, the
    roles, grants and access rules the settings make, and every seed file's name and bytes."""
    digest = hashlib.sha256()
    parts = [major, TEMPLATE_FORMAT, roles_sql(s, major), access_sql(s), grants_sql(s), hba_conf(s.host_auth)]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for seed in seeds:
        digest.update(seed.name.encode() + b"\0" + seed.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _initialised_cache(major: str) -> Path | None:
    for base in template_bases():
        if _usable(base):
            return base / f"initialised-{major}-{TEMPLATE_FORMAT}"
    return None


def _cached_copy(cache: Path, key: str) -> Path | None:
    target = cache / key
    if not _template_ok(target):
        return None
    with contextlib.suppress(OSError):
        os.utime(target)  # kept as recently used
    return target


def _keep_copy(cache: Path, key: str, data: Path) -> None:
    """Keep a copy of a freshly initialised (and cleanly shut down) cluster; the oldest copies go when
    there are more than INITIALISED_KEPT."""
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
        try:
            copy_tree(data, work)
            for name in (PENDING, "postmaster.pid", "postmaster.opts"):
                with contextlib.suppress(FileNotFoundError):
                    (work / name).unlink()
            (cache / f"{key}.files").write_text(f"{_count_files(work)}\n")
            with contextlib.suppress(OSError):  # another pod kept the same copy first
                work.rename(cache / key)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        kept = sorted((p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")), key=_mtime)
        for old in kept[:-INITIALISED_KEPT]:
            shutil.rmtree(old, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                old.with_name(old.name + ".files").unlink()
    except OSError as exc:
        info(f"no copy of the initialised cluster kept ({exc.strerror or exc})")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def initialise(bindir: Path, major: str, s: Settings) -> None:
    started = time.monotonic()
    data = s.data_dir
    (data / PENDING).write_text("initialisation in progress\n")
    seeds = seed_files(s)
    key = initialised_key(major, s, seeds)
    cache = _initialised_cache(major)
    cached = _cached_copy(cache, key) if cache is not None else None
    if cached is not None:
        # the same settings and seed files were initialised before on this host: their result is copied
        found_at = time.monotonic()
        copy_tree(cached, data)
        os.chmod(data, 0o700)
        (data / PENDING).unlink()
        info(
            f"initialised {data} in {time.monotonic() - started:.2f} s (a copy of {cached}, found in "
            f"{found_at - started:.2f} s, copied in {time.monotonic() - found_at:.2f} s)"
        )
        return
    template = ensure_template(bindir, major)
    made_at = time.monotonic()
    template_note = f"template made in {made_at - started:.2f} s" if template.made else "template reused"
    copy_tree(template.path, data)
    os.chmod(data, 0o700)
    (data / "pg_hba.conf").write_text(hba_conf(s.host_auth))
    copied_at = time.monotonic()
    psql = _psql_path(major)
    with temp_server(bindir, data, s.port) as sockets:
        served_at = time.monotonic()
        _psql(psql, sockets, s.port, SUPERUSER, roles_sql(s, major))
        access = access_sql(s)
        if access:
            _psql(psql, sockets, s.port, s.database, access)
        for seed in seeds:
            info(f"running {seed.name}")
            _psql(psql, sockets, s.port, s.database, None, seed)
        grants = grants_sql(s)
        if grants:
            _psql(psql, sockets, s.port, s.database, grants)
        sql_at = time.monotonic()
    if cache is not None:
        _keep_copy(cache, key, data)
    (data / PENDING).unlink()
    info(
        f"initialised {data} in {time.monotonic() - started:.2f} s ({template_note} at {template.path}, "
        f"copied in {copied_at - made_at:.2f} s, init server {served_at - copied_at:.2f} s, "
        f"init SQL and {len(seeds)} seed file(s) {sql_at - served_at:.2f} s)"
    )


def drop_root(data: Path) -> None:
    """PostgreSQL refuses to run as root: switch to an unprivileged user that owns the data directory."""
    if os.geteuid() != 0:
        return
    entry = None
    for name in RUN_AS_CANDIDATES:
        try:
            entry = pwd.getpwnam(name)
            break
        except KeyError:
            continue
    if entry is None:
        fail(PREFIX, f"running as root and none of the users {', '.join(RUN_AS_CANDIDATES)} exists")
    for dirpath, _dirs, files in os.walk(data):
        for path in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
            with contextlib.suppress(OSError):
                os.lchown(path, entry.pw_uid, entry.pw_gid)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["USER"] = entry.pw_name


# ---------------------------------------------------------------------- entry points


def server(args: list[str]) -> NoReturn:
    started = time.monotonic()
    if args and os.path.basename(args[0]) in ("postgres", "postmaster"):
        args = args[1:]
    try:
        bindir = postgres_bindir()
        if args in (["--version"], ["-V"]):
            os.execv(bindir / "postgres", ["postgres", *args])
        s = load_settings(os.environ)
        try:
            s.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(PREFIX, f"cannot create the data directory {s.data_dir}: {exc.strerror}")
        drop_root(s.data_dir)
        if not os.access(s.data_dir, os.W_OK | os.X_OK):
            fail(PREFIX, f"the data directory {s.data_dir} is not writable by uid {os.geteuid()}")
        wait_for_previous_server(s.data_dir)
        major = postgres_major(bindir)
        state = data_dir_state(s.data_dir)
        if state == "pending":
            info(f"an earlier initialisation of {s.data_dir} did not finish: starting it over")
            _wipe(s.data_dir)
            state = "empty"
        if state == "initialised":
            version = (s.data_dir / "PG_VERSION").read_text().strip()
            if version != major:
                bindir = postgres_bindir(version=version)
            info(f"{s.data_dir} holds a PostgreSQL {version} database: initialisation skipped")
        elif state == "foreign":
            fail(PREFIX, f"{s.data_dir} is not empty and holds no PostgreSQL database (no PG_VERSION)")
        else:
            if s.host_auth != "trust" and not s.password:
                fail(PREFIX, "POSTGRES_PASSWORD is not set (set POSTGRES_HOST_AUTH_METHOD=trust to allow no password)")
            initialise(bindir, major, s)
    except MissingBinary as exc:
        fail(PREFIX, str(exc))
    _private(s.data_dir)
    sockets = socket_dir(s.data_dir, s.port, create=True)
    argv = ["postgres", "-D", str(s.data_dir), "-h", s.listen, "-p", str(s.port), "-k", str(sockets), *args]
    info(f"starting postgres on {s.listen}:{s.port} ({time.monotonic() - started:.2f} s after the wrapper started)")
    os.execv(bindir / "postgres", argv)


def client(tool: str, args: list[str]) -> NoReturn:
    """A PostgreSQL client program aimed at this pod's server (the image's psql, pg_isready, ...)."""
    if tool not in CLIENT_TOOLS:
        fail(PREFIX, f"{tool} is not a PostgreSQL client program this image has")
    try:
        bindir = postgres_bindir((tool,), package="postgresql-client")
    except MissingBinary as exc:
        fail(PREFIX, str(exc))
    env = dict(os.environ)
    data = host_path(env.get("PGDATA") or DEFAULT_DATA)
    port = env_int("PGPORT", DEFAULT_PORT, PREFIX)
    env.setdefault("PGHOST", str(socket_dir(data, port)))
    env.setdefault("PGUSER", SUPERUSER)
    os.execve(bindir / tool, [tool, *args], env)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--client"]:
        client(args[1] if len(args) > 1 else "psql", args[2:])
    server(args)


if __name__ == "__main__":
    main()
