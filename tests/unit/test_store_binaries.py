"""The data-store images: finding host binaries (one-line errors naming the package), host paths,
the wrappers' command lines and postgres' init SQL."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from remedlab.apps.stores import memcached, postgres, redis
from remedlab.apps.stores.store_binaries import (
    POSTGRES_BINDIR_ENV,
    MissingBinary,
    check_store_image,
    env_int,
    find_binary,
    host_path,
    postgres_bindir,
)


def _program(directory: Path, name: str, body: str = "exit 0") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        POSTGRES_BINDIR_ENV,
        "REMEDLAB_MOUNTS",
        "REMEDLAB_POD_IP",
        "REDIS_PORT",
        "REDIS_PERSIST",
        "MEMCACHED_PORT",
        "MEMCACHED_MEMORY_MB",
    ):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- binaries


def test_find_binary_on_a_fake_path(tmp_path: Path) -> None:
    server = _program(tmp_path / "bin", "redis-server")
    assert find_binary("redis-server", "redis-server", path=str(tmp_path / "bin")) == str(server)


def test_missing_binary_is_one_line_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(MissingBinary) as caught:
        find_binary("memcached", "memcached", path=str(tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("memcached not found") and "apt-get install -y memcached" in message


def test_postgres_bindir_prefers_the_newest_version_with_the_programs(tmp_path: Path) -> None:
    root = tmp_path / "postgresql"
    for version in ("9.6", "13", "15"):
        _program(root / version / "bin", "postgres")
        _program(root / version / "bin", "initdb")
    _program(root / "16" / "bin", "psql")  # a client-only install
    empty = str(tmp_path / "nothing")
    assert postgres_bindir(root=root, path=empty) == root / "15" / "bin"
    assert postgres_bindir(("psql",), root=root, path=empty) == root / "16" / "bin"
    assert postgres_bindir(version="13", root=root, path=empty) == root / "13" / "bin"
    with pytest.raises(MissingBinary, match="postgresql-14"):
        postgres_bindir(version="14", root=root, path=empty)


def test_postgres_bindir_falls_back_to_pg_config_then_path(tmp_path: Path) -> None:
    elsewhere = tmp_path / "opt" / "pgsql" / "bin"
    _program(elsewhere, "postgres")
    _program(elsewhere, "initdb")
    tools = tmp_path / "tools"
    _program(tools, "pg_config", f"echo {elsewhere}")
    missing_root = tmp_path / "none"
    assert postgres_bindir(root=missing_root, path=str(tools)) == elsewhere
    assert postgres_bindir(root=missing_root, path=str(elsewhere)) == elsewhere
    with pytest.raises(MissingBinary) as caught:
        postgres_bindir(root=missing_root, path=str(tmp_path / "empty"))
    assert "\n" not in str(caught.value) and "apt-get install -y postgresql" in str(caught.value)


def test_postgres_bindir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POSTGRES_BINDIR_ENV, str(tmp_path))
    with pytest.raises(MissingBinary, match=POSTGRES_BINDIR_ENV):
        postgres_bindir(root=tmp_path / "none")
    _program(tmp_path, "postgres")
    _program(tmp_path, "initdb")
    assert postgres_bindir(root=tmp_path / "none") == tmp_path


@pytest.mark.parametrize(
    ("module", "env", "package"),
    [
        ("redis", {}, "redis-server"),
        ("memcached", {}, "memcached"),
        ("postgres", {POSTGRES_BINDIR_ENV: "{empty}"}, "postgresql"),
    ],
)
def test_wrappers_exit_with_one_line_when_the_server_is_missing(
    tmp_path: Path, module: str, env: dict[str, str], package: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    environment = {
        "PATH": str(empty),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
        **{k: v.format(empty=empty) for k, v in env.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", f"remedlab.apps.stores.{module}"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"apt-get install -y {package}" in lines[0] and lines[0].startswith(f"remedlab-{module}: ")


# --------------------------------------------------------------------------- paths and settings


def test_host_path_maps_mounts_and_keeps_the_rest_in_the_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert host_path("/data/x") == Path("/data/x")  # not on the embedded cluster
    mounts = {"/var/lib/postgresql/data": str(tmp_path / "pvc"), "/data": str(tmp_path / "d")}
    monkeypatch.setenv("REMEDLAB_MOUNTS", json.dumps(mounts))
    monkeypatch.setenv("HOME", str(tmp_path / "root"))
    assert host_path("/var/lib/postgresql/data") == tmp_path / "pvc"
    assert host_path("/var/lib/postgresql/data/pgdata") == tmp_path / "pvc" / "pgdata"
    assert host_path("/database") == tmp_path / "root" / "database"
    assert host_path("/var/lib/postgresql") == tmp_path / "root" / "var" / "lib" / "postgresql"


def test_env_int_ignores_kubernetes_service_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PORT", "tcp://127.64.0.3:6379")
    assert env_int("REDIS_PORT", 6379, "t") == 6379
    monkeypatch.setenv("REDIS_PORT", "6380")
    assert env_int("REDIS_PORT", 6379, "t") == 6380
    monkeypatch.setenv("REDIS_PORT", "many")
    with pytest.raises(SystemExit):
        env_int("REDIS_PORT", 6379, "t")


# --------------------------------------------------------------------------- command lines


def test_redis_command_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDLAB_POD_IP", "127.66.0.9")
    argv = redis.server_argv("/usr/bin/redis-server", ["redis-server", "--maxmemory", "50mb"])
    assert argv[:5] == ["/usr/bin/redis-server", "--bind", "127.66.0.9", "--port", "6379"]
    assert argv[argv.index("--save") + 1] == "" and argv[-2:] == ["--maxmemory", "50mb"]
    assert "--protected-mode" in argv and "--daemonize" in argv
    monkeypatch.setenv("REDIS_PERSIST", "1")
    monkeypatch.setenv("REDIS_PORT", "7000")
    monkeypatch.setenv("REMEDLAB_MOUNTS", json.dumps({"/data": str(tmp_path / "vol")}))
    argv = redis.server_argv("/usr/bin/redis-server", [])
    assert "--save" not in argv and argv[argv.index("--dir") + 1] == str(tmp_path / "vol")
    assert argv[argv.index("--port") + 1] == "7000" and (tmp_path / "vol").is_dir()
    assert redis.client_argv("/usr/bin/redis-cli", ["ping"]) == [
        "/usr/bin/redis-cli",
        "-h",
        "127.66.0.9",
        "-p",
        "7000",
        "ping",
    ]
    assert redis.client_argv("/usr/bin/redis-cli", ["-h", "10.0.0.1", "ping"]) == [
        "/usr/bin/redis-cli",
        "-h",
        "10.0.0.1",
        "ping",
    ]


def test_memcached_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDLAB_POD_IP", "127.66.0.7")
    monkeypatch.setenv("MEMCACHED_MEMORY_MB", "128")
    argv = memcached.server_argv("/usr/bin/memcached", ["memcached", "-c", "1024"])
    assert argv[:9] == ["/usr/bin/memcached", "-l", "127.66.0.7", "-p", "11211", "-m", "128", "-U", "0"]
    assert argv[-2:] == ["-c", "1024"]
    assert ("-u" in argv) == (os.geteuid() == 0)


# --------------------------------------------------------------------------- postgres


def _settings(user: str = "app", database: str = "shop", password: str = "pw") -> postgres.Settings:
    return postgres.Settings(
        data_dir=Path("/nonexistent"),
        port=5432,
        listen="127.0.0.1",
        database=database,
        user=user,
        password=password,
        superuser_password=password,
        host_auth="scram-sha-256",
        initdb_dir=Path("/nonexistent"),
    )


def test_postgres_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDLAB_MOUNTS", json.dumps({"/var/lib/postgresql/data": str(tmp_path)}))
    monkeypatch.setenv("REMEDLAB_POD_IP", "127.66.0.5")
    s = postgres.load_settings({"POSTGRES_USER": "hotel", "POSTGRES_PASSWORD": "x", "PGPORT": "5433"})
    assert (s.data_dir, s.database, s.user, s.superuser_password) == (tmp_path, "hotel", "hotel", "x")
    assert s.listen == "127.66.0.5" and s.host_auth == "scram-sha-256"
    s = postgres.load_settings({"PGDATA": "/var/lib/postgresql/data/pgdata", "POSTGRES_SUPERUSER_PASSWORD": "root"})
    assert s.data_dir == tmp_path / "pgdata" and s.user == "postgres" and s.superuser_password == "root"


def test_postgres_init_sql_quotes_names_and_passwords() -> None:
    sql = postgres.roles_sql(_settings(user='we"ird', database="my db", password="it's"))
    assert "ALTER ROLE postgres PASSWORD 'it''s';" in sql
    assert "CREATE ROLE \"we\"\"ird\" LOGIN PASSWORD 'it''s';" in sql
    assert 'CREATE DATABASE "my db";' in sql
    access = postgres.access_sql(_settings())
    assert 'REVOKE ALL ON DATABASE "shop" FROM PUBLIC;' in access
    assert 'GRANT CONNECT, TEMPORARY ON DATABASE "shop" TO "app";' in access
    grants = postgres.grants_sql(_settings())
    assert "app text := 'app';" in grants and "ON ALL TABLES IN SCHEMA" in grants and "DEFAULT PRIVILEGES" in grants
    # the superuser as the application's role: nothing to grant
    assert postgres.access_sql(_settings(user="postgres")) == postgres.grants_sql(_settings(user="postgres")) == ""
    assert "CREATE DATABASE" not in postgres.roles_sql(_settings(user="postgres", database="postgres"))


def test_postgres_hba_trusts_the_socket_and_checks_passwords_over_tcp() -> None:
    lines = [line.split() for line in postgres.hba_conf("scram-sha-256").splitlines() if not line.startswith("#")]
    assert ["local", "all", "all", "trust"] in lines
    assert ["host", "all", "all", "127.0.0.0/8", "scram-sha-256"] in lines


def test_postgres_socket_dir_is_in_the_pod_and_found_by_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "pvc"
    data.mkdir()
    monkeypatch.setenv("REMEDLAB_MOUNTS", json.dumps({"/var/lib/postgresql/data": str(data)}))
    monkeypatch.setenv("HOME", str(tmp_path / "root"))
    (tmp_path / "root").mkdir()
    client_view = postgres.socket_dir(data, 5432)
    server_view = postgres.socket_dir(data, 5432, create=True)
    assert server_view == tmp_path / "root" / ".postgresql-run" and server_view.is_dir()
    assert postgres.socket_dir(data, 5432) == server_view  # the client finds the server's
    assert client_view != server_view  # before the server made it, a client looks elsewhere (and fails)
    # a $HOME too deep for a socket path: a short directory under the temporary directory
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setenv("HOME", str(deep))
    sockets = postgres.socket_dir(data, 5432, create=True)
    try:
        assert len(f"{sockets}/.s.PGSQL.5432") <= postgres.SOCKET_PATH_MAX and sockets.is_dir()
        assert postgres.socket_dir(data, 5432) == sockets
    finally:
        sockets.rmdir()


def test_postgres_data_dir_states(tmp_path: Path) -> None:
    assert postgres.data_dir_state(tmp_path) == "empty"
    (tmp_path / "lost+found").mkdir()
    (tmp_path / ".s.PGSQL.5432.lock").write_text("")
    assert postgres.data_dir_state(tmp_path) == "empty"
    (tmp_path / "notes.txt").write_text("")
    assert postgres.data_dir_state(tmp_path) == "foreign"
    (tmp_path / "PG_VERSION").write_text("15\n")
    assert postgres.data_dir_state(tmp_path) == "initialised"
    (tmp_path / postgres.PENDING).write_text("")
    assert postgres.data_dir_state(tmp_path) == "pending"


def test_store_images_say_which_package_the_host_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("REMEDLAB_POSTGRES_BINDIR", str(tmp_path))
    for image, package in [
        ("remedlab/postgres:15", "postgresql"),
        ("remedlab/redis:7", "redis-server"),
        ("remedlab/memcached", "memcached"),
    ]:
        problem = check_store_image(image)
        assert problem is not None and f"apt-get install -y {package}" in problem and "\n" not in problem
    assert check_store_image("remedlab/hotel-reservation:1.0") is None
    assert check_store_image("busybox") is None
    _program(tmp_path, "memcached")
    assert check_store_image("remedlab/memcached:1.6") is None
