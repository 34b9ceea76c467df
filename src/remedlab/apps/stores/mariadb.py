"""remedlab/mariadb: the host's MariaDB server (Debian mariadb-server) as a MySQL container entry point.

It reads the settings the official mysql/mariadb images read:

  MYSQL_ROOT_PASSWORD   the root password (root may log in from any host)
  MYSQL_DATABASE        a database made on every start when missing
  MYSQL_USER / MYSQL_PASSWORD
                        an account made on every start when missing, with every right on MYSQL_DATABASE
  MYSQL_PORT            port (default 3306), on the pod's address (`REMEDLAB_POD_IP`)

The data directory is /var/lib/mysql (a container path, usually a volume), filled on the
first start with a copy of a template the host keeps (made once by `mariadb-install-db`,
which takes seconds) under /var/tmp/remedlab-<uid>/mariadb-templates or $REMEDLAB_TEMPLATE_DIR.
InnoDB's redo log lives in /var/log/mysql (the error log goes to stderr, for `kubectl logs`), as a MySQL pod of
MicroRemed's Train-Ticket keeps its logs there: every committed write goes through that
directory, so a fault on it slows writers.
Arguments (a container's `args`) are appended to mariadbd's command line.

`python -m remedlab.apps.stores.mariadb --client mysql ...` is the image's `mysql`:
it points at this pod's server unless -h or -S is given.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from remedlab.apps.stores.store_binaries import MissingBinary, env_int, fail, find_binary, host_path, listen_address

PREFIX = "remedlab-mariadb"
PACKAGE = "mariadb-server"
DEFAULT_PORT = 3306
TEMPLATE_NAME = "mariadb-1"  # bump when the settings a data directory is made with change
DATA_DIR = "/var/lib/mysql"
LOG_DIR = "/var/log/mysql"
# small enough for dozens of pods on one host, large enough for Train-Ticket's tables
SERVER_SETTINGS = (
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--performance-schema=OFF",
    "--skip-log-bin",
    "--skip-name-resolve",
    "--max-connections=400",
    "--character-set-server=utf8mb4",
)


def info(message: str) -> None:
    print(f"{PREFIX}: {message}", file=sys.stderr, flush=True)


def quote_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def init_sql(env: Mapping[str, str]) -> str:
    """Statements run at every start: the root password, the database and the account the settings name."""
    lines: list[str] = []
    root_password = env.get("MYSQL_ROOT_PASSWORD", "")
    lines.append(f"CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY {quote_literal(root_password)};")
    lines.append("GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;")
    for host in ("localhost", "127.0.0.1", "::1"):  # mariadb-install-db's own root accounts
        lines.append(f"ALTER USER IF EXISTS 'root'@'{host}' IDENTIFIED BY {quote_literal(root_password)};")
    database = env.get("MYSQL_DATABASE", "")
    if database:
        lines.append(f"CREATE DATABASE IF NOT EXISTS {quote_ident(database)};")
    user, password = env.get("MYSQL_USER", ""), env.get("MYSQL_PASSWORD", "")
    if user and user != "root":
        lines.append(f"CREATE USER IF NOT EXISTS {quote_literal(user)}@'%' IDENTIFIED BY {quote_literal(password)};")
        if database:
            lines.append(f"GRANT ALL ON {quote_ident(database)}.* TO {quote_literal(user)}@'%';")
    return "\n".join(lines) + "\n"


def install(data: Path, logs: Path) -> None:
    """Make the system tables in an empty data directory (`mariadb-install-db`)."""
    binary = find_binary("mariadb-install-db", PACKAGE)
    argv = [binary, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal"]
    argv.append(f"--innodb-log-group-home-dir={logs}")
    argv += ["--skip-test-db", "--skip-name-resolve", *SERVER_SETTINGS[:2]]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(PREFIX, f"mariadb-install-db failed: {(done.stderr or done.stdout).strip()[-400:]}")


def template_base() -> Path:
    """Where the host keeps the template data directory, made once by the first start that needs it."""
    explicit = os.environ.get("REMEDLAB_TEMPLATE_DIR")
    if explicit:
        return Path(explicit) / "mariadb"
    return Path("/var/tmp") / f"remedlab-{os.geteuid()}" / "mariadb-templates"


def ensure_template(base: Path) -> Path | None:
    """A whole template (``data`` and ``logs`` made by mariadb-install-db, ``done`` last), or None when the
    host has no place for one."""
    target = base / TEMPLATE_NAME
    if (target / "done").is_file():
        return target
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (base / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (target / "done").is_file():
                return target
            work = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
            try:
                (work / "data").mkdir()
                (work / "logs").mkdir()
                install(work / "data", work / "logs")
                (work / "done").write_text("1\n")
                shutil.rmtree(target, ignore_errors=True)
                work.rename(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            return target
    except OSError as exc:
        info(f"no template ({exc}): initialising in place")
        return None


def initialise(data: Path, logs: Path) -> None:
    """Fill an empty data directory: a copy of the host's template, else mariadb-install-db in place."""
    info(f"initialising {DATA_DIR}")
    template = ensure_template(template_base())
    if template is None:
        install(data, logs)
        return
    shutil.copytree(template / "data", data, dirs_exist_ok=True)
    shutil.copytree(template / "logs", logs, dirs_exist_ok=True)


def server_argv(binary: str, args: list[str], env: Mapping[str, str]) -> list[str]:
    data, logs = host_path(DATA_DIR), host_path(LOG_DIR)
    logs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "mysql").is_dir():
        initialise(data, logs)
    init = data / "remedlab-init.sql"
    init.write_text(init_sql(env))
    port = env_int("MYSQL_PORT", DEFAULT_PORT, PREFIX)
    argv = [binary, "--no-defaults", f"--datadir={data}", f"--port={port}", f"--bind-address={listen_address()}"]
    argv += [f"--socket={data / 'mysqld.sock'}", f"--init-file={init}"]
    argv += [f"--innodb-log-group-home-dir={logs}", *SERVER_SETTINGS]
    if os.geteuid() == 0:
        argv.append("--user=root")
    if args and os.path.basename(args[0]) in ("mysqld", "mariadbd"):
        args = args[1:]
    return argv + args


def client_argv(binary: str, args: list[str]) -> list[str]:
    given = {a.split("=", 1)[0] for a in args}
    prefix = ["--no-defaults"]
    if not given & {"-h", "--host", "-S", "--socket"}:
        host = listen_address() if os.environ.get("REMEDLAB_POD_IP") else "127.0.0.1"
        prefix += ["-h", host, "-P", str(env_int("MYSQL_PORT", DEFAULT_PORT, PREFIX))]
    return [binary, *prefix, *args]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["--client"]:
            tool = args[1] if len(args) > 1 else "mariadb"
            command = client_argv(find_binary(tool, "mariadb-client"), args[2:])
        else:
            binary = find_binary("mariadbd", PACKAGE)
            # the host's mariadb-server may log its own note here first; ours comes after
            command = server_argv(binary, args, os.environ)
    except MissingBinary as exc:
        fail(PREFIX, str(exc))
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
