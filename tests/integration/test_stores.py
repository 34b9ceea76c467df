"""Data stores as pods: PostgreSQL, Redis and memcached on the embedded cluster, reached through
their Services with real clients (psql, RESP and memcached's text protocol over sockets)."""

from __future__ import annotations

import contextlib
import copy
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import psutil
import pytest
import yaml

from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import ServerProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not all(shutil.which(p) for p in ("psql", "redis-server", "memcached")),
        reason="needs the Debian packages postgresql, redis-server and memcached (make setup)",
    ),
]

NS = "stores"
MANIFEST = Path(__file__).parent / "manifests" / "stores.yaml"
APP_USER = "reservation"
APP_PASSWORD = "s3cret-pa55"
APP_DB = "reservation"
POD_USER = "remedlab-pod"


@dataclass
class Stores:
    server: ServerProcess
    ips: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


def _pod(server: ServerProcess, app: str) -> dict[str, Any]:
    pods = [p for p in server.pods(NS, f"app={app}") if not p["metadata"].get("deletionTimestamp")]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def _log(server: ServerProcess, pod: str) -> str:
    status, body = server.request("GET", ServerProcess.path("pods", NS, pod, "log"))
    assert status == 200, body
    return str(body)


def _exec(server: ServerProcess, pod: str, command: list[str]) -> dict[str, Any]:
    """`kubectl exec POD -- COMMAND`: its output and exit code."""
    done = Kubectl(server, server.home / "kube-cache").run("exec", pod, "-n", NS, "--", *command, timeout=30)
    return {"stdout": done.stdout, "stderr": done.stderr, "exitCode": done.returncode}


def _psql(host: str, sql: str, port: int = 5432) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGPASSWORD": APP_PASSWORD, "PGCONNECT_TIMEOUT": "3"}
    argv = ["psql", "-X", "-q", "-h", host, "-p", str(port), "-U", APP_USER, "-d", APP_DB, "-v", "ON_ERROR_STOP=1"]
    return subprocess.run([*argv, "-tA", "-c", sql], env=env, capture_output=True, text=True, timeout=15)


def _query(host: str, sql: str) -> str:
    done = _psql(host, sql)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _accepts(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.2):
            return True
    except OSError:
        return False


def _template_dir(server: ServerProcess) -> str:
    """Template clusters of this test live in its state dir (removed with it), writable by the pod user."""
    path = server.home / "postgres-templates"
    path.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(POD_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return str(path)


def _documents(server: ServerProcess) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    assert docs[0]["kind"] == "Namespace"
    templates = _template_dir(server)
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "postgres":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["env"].append({"name": "REMEDLAB_TEMPLATE_DIR", "value": templates})
    return docs


def _times_to_accepting(
    server: ServerProcess, ports: dict[str, int], since: float, timeout: float = 20
) -> dict[str, float]:
    """Seconds from `since` until each app's (new) pod accepts TCP connections on its own address."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(ports) and time.monotonic() < deadline:
        for pod in server.pods(NS):
            app = pod["metadata"].get("labels", {}).get("app", "")
            ip = pod.get("status", {}).get("podIP")
            live = ip and not pod["metadata"].get("deletionTimestamp")
            if app in ports and app not in found and live and _accepts(ip, ports[app]):
                found[app] = time.monotonic() - since
        time.sleep(0.01)
    assert len(found) == len(ports), f"only {sorted(found)} of {sorted(ports)} accepted connections"
    return found


def _time_to_accepting(server: ServerProcess, app: str, port: int, since: float) -> float:
    return _times_to_accepting(server, {app: port}, since)[app]


@pytest.fixture(scope="module")
def stores() -> Iterator[Stores]:
    server = ServerProcess()
    try:
        server.start()
        docs = _documents(server)
        started = time.monotonic()
        server.apply(*docs)
        accepting = _times_to_accepting(server, {"postgres": 5432, "redis": 6379, "memcached": 11211}, started)
        timings = {f"{app} first start (apply to accepting)": t for app, t in accepting.items()}
        server.wait_for(
            lambda: len(pods := server.pods(NS)) == 3 and all(_ready(p) for p in pods),
            30,
            interval=0.02,
            what="all store pods Ready",
        )
        timings["all stores Ready"] = time.monotonic() - started
        first = _log(server, _pod(server, "postgres")["metadata"]["name"])
        made = re.search(r"initialised \S+ in ([0-9.]+) s \((.*)\)", first)
        if made:
            timings[f"postgres wrapper, first start ({made.group(2)})"] = float(made.group(1))
        ips = {
            name: server.get("services", NS, name)["spec"]["clusterIP"] for name in ("postgres", "redis", "memcached")
        }
        yield Stores(server, ips, timings)
    finally:
        server.cleanup()


# --------------------------------------------------------------------------- postgres


def test_postgres_app_user_reads_seed_and_writes(stores: Stores) -> None:
    ip = stores.ips["postgres"]
    assert _query(ip, "SELECT count(*) FROM hotels") == "2"
    assert _query(ip, "SELECT current_user") == APP_USER
    _query(ip, "CREATE TABLE bookings (id serial PRIMARY KEY, hotel int, guest text)")
    _query(ip, "INSERT INTO bookings (hotel, guest) VALUES (1, 'ada'), (2, 'grace')")
    assert _query(ip, "SELECT guest FROM bookings ORDER BY id") == "ada\ngrace"
    # the application role is no superuser, and the password is checked
    assert _query(ip, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "f"
    env = {**os.environ, "PGPASSWORD": "wrong", "PGCONNECT_TIMEOUT": "3"}
    bad = subprocess.run(
        ["psql", "-X", "-h", ip, "-U", APP_USER, "-d", APP_DB, "-c", "SELECT 1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    log = _log(stores.server, _pod(stores.server, "postgres")["metadata"]["name"])
    assert "remedlab-postgres: initialised" in log and "running 02-data.sql" in log


def test_postgres_exec_psql_and_pg_isready(stores: Stores) -> None:
    pod = _pod(stores.server, "postgres")["metadata"]["name"]
    done = _exec(stores.server, pod, ["psql", "-d", APP_DB, "-tAc", "SELECT count(*) FROM hotels"])
    assert done["exitCode"] == 0 and done["stdout"].strip() == "2", done
    done = _exec(stores.server, pod, ["psql", "-tAc", "SELECT current_user"])
    assert done["stdout"].strip() == "postgres", done
    done = _exec(stores.server, pod, ["pg_isready"])
    assert done["exitCode"] == 0 and "accepting connections" in done["stdout"], done


def test_postgres_revoke_then_grant(stores: Stores) -> None:
    """The shape of a permissions fault: revoked grants make the app's queries fail; granting restores them."""
    ip = stores.ips["postgres"]
    pod = _pod(stores.server, "postgres")["metadata"]["name"]

    def admin(sql: str) -> None:
        done = _exec(stores.server, pod, ["psql", "-d", APP_DB, "-v", "ON_ERROR_STOP=1", "-c", sql])
        assert done["exitCode"] == 0, done

    admin(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_USER}")
    try:
        for sql in ("SELECT count(*) FROM hotels", "SELECT count(*) FROM bookings"):
            denied = _psql(ip, sql)
            assert denied.returncode != 0 and "permission denied" in denied.stderr, denied
    finally:
        admin(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_USER}")
    assert _query(ip, "SELECT count(*) FROM hotels") == "2"
    assert _query(ip, "INSERT INTO hotels (name, city) VALUES ('Bay Inn', 'Oakland') RETURNING name") == "Bay Inn"
    assert _query(ip, "DELETE FROM hotels WHERE name = 'Bay Inn' RETURNING city") == "Oakland"


def test_postgres_data_survives_pod_deletion(stores: Stores) -> None:
    server, ip = stores.server, stores.ips["postgres"]
    _query(ip, "CREATE TABLE IF NOT EXISTS marks (note text)")
    _query(ip, "INSERT INTO marks VALUES ('before the pod was deleted')")
    old = _pod(server, "postgres")["metadata"]["name"]
    deleted = time.monotonic()
    server.delete("pods", NS, old)
    stores.timings["postgres restart on the same volume (delete to accepting)"] = _time_to_accepting(
        server, "postgres", 5432, deleted
    )

    def replacement() -> str | None:
        pods = [p for p in server.pods(NS, "app=postgres") if p["metadata"]["name"] != old]
        return pods[0]["metadata"]["name"] if pods and _ready(pods[0]) else None

    new = server.wait_for(replacement, 30, interval=0.02, what="a new Ready postgres pod")
    stores.timings["postgres restart on the same volume (delete to Ready)"] = time.monotonic() - deleted
    assert _query(ip, "SELECT note FROM marks") == "before the pod was deleted"
    assert _query(ip, "SELECT count(*) FROM hotels") == "2"  # the seed did not run again
    log = _log(server, new)
    assert "initialisation skipped" in log and "remedlab-postgres: initialised" not in log, log


def test_postgres_second_data_dir_starts_from_the_kept_initialised_copy(stores: Stores) -> None:
    """A new data directory with the settings and seed files of one initialised before on this host: the
    common case of a fresh trial, which copies the kept result instead of running the init SQL again."""
    server = stores.server
    docs = _documents(server)
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "postgres")
    claim, deployment = copy.deepcopy(claim), copy.deepcopy(deployment)
    claim["metadata"]["name"] = "postgres-warm-data"
    deployment["metadata"]["name"] = "postgres-warm"
    deployment["metadata"]["labels"] = {"app": "postgres-warm"}
    deployment["spec"]["selector"]["matchLabels"] = {"app": "postgres-warm"}
    template = deployment["spec"]["template"]
    template["metadata"]["labels"] = {"app": "postgres-warm"}
    template["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "postgres-warm-data"
    started = time.monotonic()
    server.apply(claim, deployment)
    stores.timings["postgres first start, initialised copy kept (apply to accepting)"] = _time_to_accepting(
        server, "postgres-warm", 5432, started
    )
    pod = server.wait_for(
        lambda: next((p for p in server.pods(NS, "app=postgres-warm") if _ready(p)), None),
        20,
        interval=0.02,
        what="postgres-warm Ready",
    )
    stores.timings["postgres first start, initialised copy kept (apply to Ready)"] = time.monotonic() - started
    log = _log(server, pod["metadata"]["name"])
    assert "(a copy of " in log and "running " not in log, log  # no seed file ran
    made = re.search(r"initialised \S+ in ([0-9.]+) s \((.*)\)", log)
    if made:
        stores.timings[f"postgres wrapper, first start ({made.group(2)})"] = float(made.group(1))
    assert _query(pod["status"]["podIP"], "SELECT count(*) FROM hotels") == "2"
    server.delete("deployments", NS, "postgres-warm")


# --------------------------------------------------------------------------- redis, memcached


def _resp(*parts: str) -> bytes:
    out = f"*{len(parts)}\r\n".encode()
    for part in parts:
        data = part.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def _read_reply(stream: BinaryIO) -> Any:
    """One RESP reply: str for simple strings, bytes | None for bulk strings, a list for arrays."""
    line = stream.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise AssertionError(f"redis error: {rest.decode()}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        return [_read_reply(stream) for _ in range(int(rest))]
    raise AssertionError(f"unexpected reply {line!r}")


def test_redis_set_get(stores: Stores) -> None:
    with socket.create_connection((stores.ips["redis"], 6379), timeout=5) as sock, sock.makefile("rb") as replies:
        sock.sendall(_resp("SET", "cart:42", "3 items"))
        assert _read_reply(replies) == "OK"
        sock.sendall(_resp("GET", "cart:42"))
        assert _read_reply(replies) == b"3 items"
        sock.sendall(_resp("INCR", "visits"))
        assert _read_reply(replies) == 1
        sock.sendall(_resp("CONFIG", "GET", "save"))
        assert _read_reply(replies) == [b"save", b""]  # nothing is persisted unless REDIS_PERSIST=1
    pod = _pod(stores.server, "redis")["metadata"]["name"]
    done = _exec(stores.server, pod, ["redis-cli", "GET", "cart:42"])
    assert done["exitCode"] == 0 and done["stdout"].strip() == "3 items", done


def test_memcached_set_get(stores: Stores) -> None:
    with socket.create_connection((stores.ips["memcached"], 11211), timeout=5) as sock:
        stream = sock.makefile("rwb")
        stream.write(b"set profile:7 0 60 5\r\nalice\r\n")
        stream.flush()
        assert stream.readline() == b"STORED\r\n"
        stream.write(b"get profile:7\r\n")
        stream.flush()
        assert stream.readline() == b"VALUE profile:7 0 5\r\n"
        assert stream.readline() == b"alice\r\n"
        assert stream.readline() == b"END\r\n"
        stream.write(b"stats settings\r\n")
        stream.flush()
        settings = {}
        while (line := stream.readline()) != b"END\r\n":
            _stat, key, value = line.decode().split()
            settings[key] = value
    assert settings["maxbytes"] == str(64 * 1024 * 1024) and settings["udpport"] == "0"


# --------------------------------------------------------------------------- measurements


def test_report_memory_and_times(stores: Stores) -> None:
    """Print (not assert) each store's memory: RSS of its main process, and PSS of its whole tree."""
    print()
    for app in ("postgres", "redis", "memcached"):
        pod = _pod(stores.server, app)
        container_id = pod["status"]["containerStatuses"][0]["containerID"]
        main = psutil.Process(int(container_id.rsplit("/", 1)[1]))
        tree = [main, *main.children(recursive=True)]
        rss = main.memory_info().rss
        try:
            pss = f", PSS of {len(tree)} processes {sum(p.memory_full_info().pss for p in tree) / 2**20:.1f} MiB"
        except (psutil.Error, AttributeError):
            pss = f", {len(tree)} processes"
        print(f"  {app} ({main.name()}): RSS {rss / 2**20:.1f} MiB{pss}")
        wrapper = re.search(r"\(([0-9.]+) s after the wrapper started\)", _log(stores.server, pod["metadata"]["name"]))
        if wrapper:
            stores.timings[f"{app} wrapper until exec (its own log)"] = float(wrapper.group(1))
    for what, seconds in sorted(stores.timings.items()):
        print(f"  {what}: {seconds:.2f} s")


def test_an_app_whose_store_server_is_missing_is_refused_before_anything_is_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REMEDLAB_POSTGRES_BINDIR", "/nonexistent/postgresql/bin")
    server = ServerProcess()
    try:
        server.start()
        status, body = server.request("POST", "/v1/apps/hotel-reservation/deploy", {"timeoutSeconds": 10})
        assert status == 400, body
        message = body["message"]
        assert message.startswith("hotel-reservation cannot run on this host: ") and "\n" not in message
        assert "apt-get install -y postgresql" in message
        assert server.request("GET", ServerProcess.path("namespaces", None, "hotel-reservation"))[0] == 404
    finally:
        server.cleanup()
