"""Latency the service dataplane adds to HTTP requests, on loopback.

A tiny HTTP/1.1 backend runs as its own process on a pod-like 127.x address,
a Dataplane in this process puts a service in front of it, and an open-loop
load generator (a third process) sends requests at a fixed rate to the
backend directly and through the service, interleaved in the same run, so
both paths see the same machine load. Modes: a new connection per request
(a client without pooling) and keep-alive connections, each on the fast path
(no hooks) and on the slow path (a pass-through hook on the backend pod).

    .venv/bin/python benchmarks/dataplane.py [--rate 500] [--duration 5] [--loops uvloop,asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from remedlab.cluster.dataplane.dataplane import Dataplane, Endpoint, PassthroughHook, ServicePortMap

BACKEND_UID = "bench-backend"
REQUEST_TIMEOUT = 2.0
WARM_CONNECTIONS = 8
RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
RESPONSE = RESPONSE_HEAD + b"\r\nok"
RESPONSE_CLOSE = RESPONSE_HEAD + b"Connection: close\r\n\r\nok"


def has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def run_on(loop_kind: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if loop_kind == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    else:
        asyncio.run(main())


# -- backend process -----------------------------------------------------------


class HttpBackend(asyncio.Protocol):
    """Answers every request with a 2-byte body; honours `Connection: close`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            if b"connection: close" in head.lower():
                self.transport.write(RESPONSE_CLOSE)
                self.transport.close()
                return
            self.transport.write(RESPONSE)

    def eof_received(self) -> bool:
        return False


async def serve_backend(ip: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttpBackend, ip, port, backlog=1024)
    print("ready", flush=True)
    # Serve until the parent closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


# -- load generator process ----------------------------------------------------


@dataclass
class Target:
    name: str
    host: str
    port: int
    latencies: list[float]
    errors: int = 0


class KeepAlivePool:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.all: list[asyncio.StreamWriter] = []

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle:
            return self.idle.pop()
        reader, writer = await asyncio.open_connection(self.target.host, self.target.port)
        self.all.append(writer)
        return reader, writer

    def give_back(self, pair: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.idle.append(pair)

    def close(self) -> None:
        for writer in self.all:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)


async def request_new_connection(target: Target) -> None:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            reader, writer = await asyncio.open_connection(target.host, target.port)
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                await read_response(reader)
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        target.errors += 1
        return
    target.latencies.append(time.perf_counter() - started)


async def request_keep_alive(target: Target, pool: KeepAlivePool) -> None:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            pair = await pool.take()
            reader, writer = pair
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
            await read_response(reader)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        target.errors += 1
        return
    target.latencies.append(time.perf_counter() - started)
    pool.give_back(pair)


async def generate_load(targets: list[Target], rate: float, duration: float, keep_alive: bool) -> float:
    """Open loop: request i to target j starts at i/rate + j/(rate*len(targets)), whatever came back."""
    pools = {target.name: KeepAlivePool(target) for target in targets}
    if keep_alive:
        for target in targets:
            pool = pools[target.name]
            warm = [await pool.take() for _ in range(WARM_CONNECTIONS)]
            for pair in warm:
                pool.give_back(pair)
            for _ in range(WARM_CONNECTIONS):
                await request_keep_alive(target, pool)
            target.latencies.clear()
    count = int(rate * duration)
    step = 1.0 / rate / len(targets)
    tasks: set[asyncio.Task[None]] = set()
    max_lag = 0.0
    start = time.perf_counter() + 0.05
    for i in range(count):
        for j, target in enumerate(targets):
            due = start + i / rate + j * step
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            max_lag = max(max_lag, time.perf_counter() - due)
            if keep_alive:
                task = asyncio.create_task(request_keep_alive(target, pools[target.name]))
            else:
                task = asyncio.create_task(request_new_connection(target))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    for pool in pools.values():
        pool.close()
    return max_lag


async def run_load(args: argparse.Namespace) -> None:
    targets = [
        Target("direct", args.direct_ip, args.direct_port, []),
        Target("dataplane", args.service_ip, args.service_port, []),
    ]
    random.shuffle(targets)  # neither path always goes first within a tick
    max_lag = await generate_load(targets, args.rate, args.duration, args.keep_alive)
    result = {t.name: {"latencies": t.latencies, "errors": t.errors} for t in targets}
    print(json.dumps({"targets": result, "max_lag": max_lag}), flush=True)


# -- orchestrating process -----------------------------------------------------


@dataclass(frozen=True)
class Row:
    loop: str
    mode: str
    path: str
    requests: int
    errors: int
    p50: float
    p99: float
    added_p50: float | None
    added_p99: float | None
    max_lag: float


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


MODES: list[tuple[str, bool, bool]] = [
    ("new connection", False, False),
    ("keep-alive", True, False),
    ("new connection, hooked", False, True),
    ("keep-alive, hooked", True, True),
]


async def measure_loop(loop_kind: str, args: argparse.Namespace, rows: list[Row]) -> None:
    octet = random.randint(1, 254)
    backend_ip, backend_port = f"127.88.{octet}.{random.randint(1, 254)}", random.randint(20000, 30000)
    service_ip, service_port = f"127.77.{octet}.{random.randint(1, 254)}", random.randint(20000, 30000)
    script = [sys.executable, __file__]
    backend = subprocess.Popen(
        [*script, "--role", "backend", "--direct-ip", backend_ip, "--direct-port", str(backend_port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    dataplane = Dataplane()
    try:
        assert backend.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(backend.stdout.readline), 10)
        if ready.strip() != "ready":
            raise RuntimeError("the backend did not start")
        await dataplane.start()
        endpoint = Endpoint(BACKEND_UID, backend_ip, backend_port)
        await dataplane.set_service("bench/backend", service_ip, [ServicePortMap(service_port, (endpoint,))])
        for mode, keep_alive, hooked in MODES:
            handle = dataplane.add_hook(BACKEND_UID, PassthroughHook(), "in") if hooked else None
            load = await asyncio.create_subprocess_exec(
                *script,
                "--role",
                "loadgen",
                "--direct-ip",
                backend_ip,
                "--direct-port",
                str(backend_port),
                "--service-ip",
                service_ip,
                "--service-port",
                str(service_port),
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
                *(["--keep-alive"] if keep_alive else []),
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(load.communicate(), args.duration + 60)
            if handle is not None:
                dataplane.remove_hook(handle)
            if load.returncode != 0:
                raise RuntimeError(f"the load generator failed with {load.returncode}")
            report = json.loads(out)
            direct = report["targets"]["direct"]
            proxied = report["targets"]["dataplane"]
            base50 = percentile(direct["latencies"], 0.50)
            base99 = percentile(direct["latencies"], 0.99)
            for path, data in (("direct", direct), ("dataplane", proxied)):
                p50 = percentile(data["latencies"], 0.50)
                p99 = percentile(data["latencies"], 0.99)
                is_proxied = path == "dataplane"
                rows.append(
                    Row(
                        loop=loop_kind,
                        mode=mode,
                        path=path,
                        requests=len(data["latencies"]),
                        errors=int(data["errors"]),
                        p50=p50,
                        p99=p99,
                        added_p50=p50 - base50 if is_proxied else None,
                        added_p99=p99 - base99 if is_proxied else None,
                        max_lag=float(report["max_lag"]),
                    )
                )
        stats = dataplane.stats()["bench/backend"]
        print(
            f"  [{loop_kind}] service stats: {stats.connections_total} connections, "
            f"{stats.bytes_in} B in, {stats.bytes_out} B out, {stats.refused} refused",
            file=sys.stderr,
        )
    finally:
        await dataplane.stop()
        if backend.stdin is not None:
            backend.stdin.close()
        try:
            backend.wait(5)
        except subprocess.TimeoutExpired:
            backend.kill()
            backend.wait()


def print_table(rows: list[Row], rate: float, duration: float) -> None:
    print(f"\nopen-loop load: {rate:g} requests/s per path for {duration:g} s, loopback, HTTP/1.1 GET")
    header = (
        f"{'dataplane loop':<15}{'mode':<24}{'path':<11}{'requests':>9}{'errors':>7}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'added p50 µs':>14}{'added p99 µs':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        added50 = "" if row.added_p50 is None else f"{row.added_p50 * 1e6:.0f}"
        added99 = "" if row.added_p99 is None else f"{row.added_p99 * 1e6:.0f}"
        print(
            f"{row.loop:<15}{row.mode:<24}{row.path:<11}{row.requests:>9}{row.errors:>7}"
            f"{row.p50 * 1e3:>9.3f}{row.p99 * 1e3:>9.3f}{added50:>14}{added99:>14}"
        )
    lag = max((row.max_lag for row in rows), default=0.0)
    print(f"\nworst load-generator lag behind schedule: {lag * 1e3:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["main", "backend", "loadgen"], default="main")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second per path")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per mode")
    default_loops = "uvloop,asyncio" if has_uvloop() else "asyncio"
    parser.add_argument("--loops", default=default_loops, help="event loops to run the dataplane on")
    parser.add_argument("--direct-ip", default="")
    parser.add_argument("--direct-port", type=int, default=0)
    parser.add_argument("--service-ip", default="")
    parser.add_argument("--service-port", type=int, default=0)
    parser.add_argument("--keep-alive", action="store_true")
    args = parser.parse_args()
    if not 0 < args.rate <= 5000 or not 0 < args.duration <= 60:
        parser.error("keep --rate within (0, 5000] and --duration within (0, 60]")
    helper_loop = "uvloop" if has_uvloop() else "asyncio"
    if args.role == "backend":
        run_on(helper_loop, lambda: serve_backend(args.direct_ip, args.direct_port))
        return
    if args.role == "loadgen":
        run_on(helper_loop, lambda: run_load(args))
        return
    rows: list[Row] = []
    for loop_kind in args.loops.split(","):
        if loop_kind not in ("asyncio", "uvloop") or (loop_kind == "uvloop" and not has_uvloop()):
            parser.error(f"unknown or unavailable loop {loop_kind!r}")
        print(f"measuring with the dataplane on {loop_kind} ...", file=sys.stderr)
        run_on(loop_kind, functools.partial(measure_loop, loop_kind, args, rows))
    print_table(rows, args.rate, args.duration)


if __name__ == "__main__":
    main()
