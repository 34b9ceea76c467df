"""remedlab/mariadb: the host's MariaDB server (Debian mariadb-server) as a MySQL container entry point.

It reads the settings the official mysql/mariadb images read:

  MYSQL_ROOT_PASSWORD   the root password (root may log in from any host)
  MYSQL_DATABASE        a database made on every start when missing
  MYSQL_USER / MYSQL_PASSWORD
                        an account made on every start when missing, with every right on MYSQL_DATABASE
  MYSQL_PORT            port (default 3306), on the pod's address (`REMEDLAB_POD_IP`)

The data directory is /var/lib/mysql (a container path, usually a volume), made by
`mariadb-install-db` on the first start. InnoDB's redo log lives in
/var/log/mysql (the error log goes to stderr, for `kubectl logs`), as a MySQL pod of
MicroRemed's Train-Ticket keeps its logs there: every committed write goes through that
directory, so a fault on it slows writers.
Arguments (a container's `args`) are appended to mariadbd's command line.

`python -m remedlab.apps.stores.mariadb --client mysql ...` is the image's `mysql`:
it points at this pod's server unless -h or -S is given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from remedlab.apps.stores.store_binaries import MissingBinary, env_int, fail, find_binary, host_path, listen_address

PREFIX = "remedlab-mariadb"
PACKAGE = "mariadb-server"
DEFAULT_PORT = 3306
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
    info(f"initialising {DATA_DIR}")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(PREFIX, f"mariadb-install-db failed: {(done.stderr or done.stdout).strip()[-400:]}")


def server_argv(binary: str, args: list[str], env: Mapping[str, str]) -> list[str]:
    data, logs = host_path(DATA_DIR), host_path(LOG_DIR)
    logs.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "mysql").is_dir():
        install(data, logs)
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
