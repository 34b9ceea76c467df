"""The kit's store clients, POST calls, address resolution, readiness helpers and the pod's source-address shim.

memcached and Redis run for real (the host's servers on a random loopback
address, stopped at the end); PostgreSQL is exercised by the applications'
integration tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from remedlab.apps.kit.cache import Cache
from remedlab.apps.kit.client import ServiceClient, UpstreamError
from remedlab.apps.kit.database import Database
from remedlab.apps.kit.discovery import ServiceNotFoundError, cluster_search, resolve_address
from remedlab.apps.kit.health import all_of, latched
from remedlab.apps.kit.metrics import UPSTREAM_REQUESTS
from remedlab.apps.kit.redis_store import RedisStore
from remedlab.apps.kit.store_calls import StoreAddress, StoreError
from remedlab.apps.kit.tracing import SpanKind, StatusCode, span
from remedlab.cluster.node.time_shift import build_shim
from remedlab.free_port import free_port
from tests.unit.test_kit import serving
from tests.unit.test_kit_tracing import Collect, loopback


def wait_port(host: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on {host}:{port}")


@pytest.fixture
def server_process(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """A memcached or redis-server on a random loopback address, stopped afterwards."""
    kind: str = request.param
    program = {"memcached": "memcached", "redis": "redis-server"}[kind]
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (make setup)")
    host = loopback()
    port = free_port(host)
    if kind == "memcached":
        argv = [program, "-l", host, "-p", str(port), "-U", "0", "-m", "16"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
    else:
        argv = [program, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(host, port)
        yield host, port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- addresses


def test_resolve_address_like_cluster_dns() -> None:
    env = {"REDIS_CART_SERVICE_HOST": "127.9.0.7"}
    assert resolve_address("redis-cart:6379", env) == ("127.9.0.7", 6379)
    assert resolve_address("redis-cart.online-boutique.svc.cluster.local:6380", env) == ("127.9.0.7", 6380)
    assert resolve_address("127.1.2.3:11211", env) == ("127.1.2.3", 11211)
    assert resolve_address("[::1]:80", env) == ("::1", 80)
    for bad, needle in [
        ("redis-cart", "expected host:port"),
        ("redis-cart:http", "not a port number"),
        ("redis-cart:70000", "out of range"),
        ("cartservice:7070", "CARTSERVICE_SERVICE_HOST not set"),
    ]:
        with pytest.raises(ServiceNotFoundError, match=needle):
            resolve_address(bad, env)


def test_store_address_names_the_service() -> None:
    assert StoreAddress.parse("postgres-geo:5432").name == "postgres-geo"
    assert StoreAddress.parse("memcached-rate.hotel-reservation.svc:11211").name == "memcached-rate"
    assert StoreAddress.parse("127.0.0.5:6379").name == "127.0.0.5"


def test_database_configuration_errors_are_one_line() -> None:
    with pytest.raises(StoreError, match="set DATABASE_ADDR, DATABASE_USER"):
        Database.from_env(environ={"DATABASE_NAME": "geo"})
    with pytest.raises(StoreError, match="set MEMCACHED_ADDR"):
        Cache.from_env(environ={})
    with pytest.raises(StoreError, match="set REDIS_ADDR"):
        RedisStore.from_env(environ={})


def test_database_tls_follows_its_sslmode_setting_plain_tcp_by_default() -> None:
    env = {"DATABASE_ADDR": "postgres-geo:5432", "DATABASE_NAME": "geo", "DATABASE_USER": "geo"}
    assert Database.from_env(environ=env).ssl_mode == "disable"
    assert Database.from_env(environ={**env, "DATABASE_SSLMODE": "require"}).ssl_mode == "require"
    with pytest.raises(StoreError, match=r"^postgres-geo: sslmode 'sometimes' is not one of disable, allow, prefer"):
        Database.from_env(environ={**env, "DATABASE_SSLMODE": "sometimes"})


def test_unreachable_database_is_a_connect_error(collected: Collect) -> None:
    host = loopback()
    db = Database(f"{host}:{free_port(host)}", "geo", "geo", "secret", connect_timeout=1.0)

    async def scenario() -> None:
        with span("request"), pytest.raises(StoreError) as info:
            await db.fetch("SELECT hotel_id FROM points", table="points")
        assert info.value.kind == "connect_error" and "cannot reach the database" in str(info.value)
        await db.close()

    asyncio.run(scenario())
    (query,) = collected.named("SELECT points")
    assert query.kind == SpanKind.CLIENT and query.status_code == StatusCode.ERROR
    assert query.attributes["db.system"] == "postgresql" and query.attributes["db.namespace"] == "geo"
    assert query.attributes["error.type"] == "connect_error"
    assert query.attributes["db.query.text"] == "SELECT hotel_id FROM points"


# --------------------------------------------------------------------------- memcached and redis


@pytest.mark.parametrize("server_process", ["memcached"], indirect=True)
def test_cache_round_trip_spans_and_metrics(server_process: tuple[str, int], collected: Collect) -> None:
    host, port = server_process
    address = f"{host}:{port}"
    before = UPSTREAM_REQUESTS.value(service=host, outcome="ok")

    async def scenario() -> None:
        cache = Cache(address)
        try:
            with span("request"):
                assert await cache.get("rate:1") is None
                await cache.set("rate:1", {"code": "RACK", "rate": 109.0})
                await cache.set("rate:2", [1, 2])
                assert await cache.get("rate:1") == {"code": "RACK", "rate": 109.0}
                assert await cache.get_many(["rate:1", "rate:2", "rate:3"]) == {
                    "rate:1": {"code": "RACK", "rate": 109.0},
                    "rate:2": [1, 2],
                }
                await cache.delete("rate:2")
                assert await cache.get("rate:2") is None
                assert await cache.check()
        finally:
            await cache.close()

    asyncio.run(scenario())
    (request,) = collected.named("request")
    gets = collected.named("get")
    assert len(gets) == 4 and all(g.parent_span_id == request.context.span_id for g in gets)
    assert [g.attributes.get("db.memcached.hit") for g in gets if "db.memcached.key" in g.attributes] == [
        False,
        True,
        False,
    ]
    assert gets[2].attributes["db.memcached.hits"] == 2
    assert all(s.attributes["db.system"] == "memcached" for s in collected.spans if s.name != "request")
    assert UPSTREAM_REQUESTS.value(service=host, outcome="ok") - before == 8


@pytest.mark.parametrize("server_process", ["redis"], indirect=True)
def test_redis_commands_and_failures(server_process: tuple[str, int], collected: Collect) -> None:
    host, port = server_process

    async def scenario() -> None:
        store = RedisStore(f"{host}:{port}")
        try:
            assert await store.check()
            await store.command("HSET", "cart:alice", "OLJCESPC7Z", 2, target="cart")
            await store.command("HINCRBY", "cart:alice", "OLJCESPC7Z", 1, target="cart")
            assert await store.command("HGETALL", "cart:alice", target="cart") == {"OLJCESPC7Z": "3"}
            with pytest.raises(StoreError) as info:
                await store.command("NOSUCHCOMMAND")
            assert info.value.kind == "error" and "unknown command" in str(info.value).lower()
        finally:
            await store.close()
        gone = RedisStore(f"{host}:{free_port(host)}", timeout=0.5)
        with pytest.raises(StoreError) as info:
            await gone.check()
        assert info.value.kind == "connect_error" and "cannot reach redis" in str(info.value)
        await gone.close()

    asyncio.run(scenario())
    (hgetall,) = collected.named("HGETALL cart")
    assert hgetall.attributes["db.query.text"] == "HGETALL cart:alice"
    failed = collected.named("NOSUCHCOMMAND")
    assert failed and failed[0].status_code == StatusCode.ERROR and failed[0].attributes["error.type"] == "error"


# --------------------------------------------------------------------------- POST calls


def test_post_json_by_host_port_with_error_detail(monkeypatch: pytest.MonkeyPatch, collected: Collect) -> None:
    host = loopback()
    calls: list[object] = []

    async def reserve(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(body)
        if body.get("number", 0) > 10:
            return web.json_response({"error": "no room for 11 guests"}, status=503)
        return web.json_response({"hotelIds": [body["hotelId"]]})

    app = web.Application()
    app.router.add_post("/reservation.Reservation/MakeReservation", reserve)

    async def scenario() -> None:
        async with serving(app, host) as port:
            monkeypatch.setenv("RESERVATION_SERVICE_HOST", host)
            async with ServiceClient(source_ip="") as client:
                with span("frontend"):
                    answer = await client.post_json(
                        f"reservation:{port}", "/reservation.Reservation/MakeReservation", {"hotelId": "7"}
                    )
                    assert answer == {"hotelIds": ["7"]}
                    with pytest.raises(UpstreamError) as info:
                        await client.post_json(
                            f"reservation:{port}",
                            "/reservation.Reservation/MakeReservation",
                            {"hotelId": "7", "number": 11},
                        )
        assert info.value.status == 503 and info.value.detail == "no room for 11 guests"
        assert "HTTP 503: no room for 11 guests" in str(info.value)
        assert len(calls) == 2  # a POST is not retried unless the caller asks

    asyncio.run(scenario())
    posts = collected.named("POST reservation /reservation.Reservation/MakeReservation")
    assert len(posts) == 2 and posts[0].attributes["peer.service"] == "reservation"
    assert posts[1].status_code == StatusCode.ERROR


# --------------------------------------------------------------------------- readiness helpers


def test_latched_and_all_of() -> None:
    answers = [False, True, False]
    seen: list[bool] = []

    async def flaky() -> bool:
        value = answers.pop(0)
        seen.append(value)
        return value

    async def always() -> bool:
        return True

    async def never() -> bool:
        return False

    async def scenario() -> list[bool]:
        check = latched(flaky)
        out = [await check(), await check(), await check()]
        out.append(await all_of(always, check)())
        out.append(await all_of(check, never)())
        return out

    assert asyncio.run(scenario()) == [False, True, True, True, False]
    assert seen == [False, True]  # once passed, the dependency is not asked again


# --------------------------------------------------------------------------- the source-address shim

PEER_SCRIPT = """
import socket, sys
listener = socket.socket()
listener.bind((sys.argv[1], 0))
listener.listen()
plain = socket.create_connection(listener.getsockname())
print(listener.accept()[1][0])
chosen = socket.socket()
chosen.bind((sys.argv[1], 0))
chosen.connect(listener.getsockname())
print(listener.accept()[1][0])
"""


def test_pod_shim_binds_loopback_connections_to_the_pod_ip(tmp_path: Path) -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler (make setup installs gcc)")
    shim, note = build_shim(tmp_path)
    assert shim is not None, note
    listen_ip, pod_ip = loopback(), loopback()
    env = {**os.environ, "LD_PRELOAD": str(shim), "REMEDLAB_POD_IP": pod_ip}
    done = subprocess.run(
        [sys.executable, "-c", PEER_SCRIPT, listen_ip], env=env, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    # an unbound socket leaves from the pod IP; one the program bound itself keeps its address
    assert done.stdout.split() == [pod_ip, listen_ip]
    without = subprocess.run(
        [sys.executable, "-c", PEER_SCRIPT, listen_ip],
        env={**env, "REMEDLAB_POD_IP": ""},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert without.stdout.split() == ["127.0.0.1", listen_ip]  # the kernel's choice for loopback


def test_only_a_resolver_set_up_for_a_cluster_asks_the_dns() -> None:
    pod = "search hotel-reservation.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n"
    assert cluster_search(pod)
    assert not cluster_search("nameserver 10.0.0.2\nsearch example.internal\n")
    assert not cluster_search("")
