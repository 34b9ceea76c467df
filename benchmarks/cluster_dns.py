"""What cluster DNS adds to a pod's start-up, and what one lookup costs.

Start-up: writing a pod's resolv.conf and hosts file (once per pod), and the start of a process with
the pod shim preloaded, with and without the shim's resolver configured (once per process).
Lookups: one name through the shim from a pod's process (Python's getaddrinfo), a name that needs the
search list's second domain, an off-cluster name (every search domain then as it is, NXDOMAIN each
time), a hosts-file name, and a bare DNS query answered by the server. The server runs in a thread of
its own, as the cluster's loop would answer it. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dns.message
import dns.query

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.unit.test_cluster_dns import NS, Objects, service

from remedlab.cluster.dns.records import ClusterRecords
from remedlab.cluster.dns.server import DnsServer
from remedlab.cluster.node.pod_dns import ClusterDns, DnsMode, resolver_env, write_pod_dns_files
from remedlab.cluster.node.time_shift import build_shim

LOOKUP_LOOP = r"""
import socket, sys, time
name, count = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
for _ in range(count):
    try:
        socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        pass
print((time.perf_counter() - started) / count)
"""


class ServerThread:
    """A cluster DNS server on its own event loop in a thread."""

    def __init__(self, objects: Objects) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = DnsServer(ClusterRecords(objects), "127.0.0.1", [0])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def objects() -> Objects:
    o = Objects()
    for i in range(200):
        o.svcs[f"{NS}/svc{i}"] = service(f"svc{i}", f"127.80.{i // 250}.{i % 250 + 1}", [{"name": "http", "port": 80}])
    o.svcs[f"{NS}/cart"] = service("cart", "127.80.9.5", [{"name": "http", "port": 7070}])
    return o


def process_start(env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["/bin/true"], env=env, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--pods", type=int, default=200)
    args = parser.parse_args()
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp, ServerThread(objects()) as running:
        home = Path(tmp)
        shim, note = build_shim(home)
        if shim is None:
            raise SystemExit(f"cluster DNS benchmark: {note}")
        cluster_dns = ClusterDns("127.0.0.1", running.server.port)

        started = time.perf_counter()
        for i in range(args.pods):
            write_pod_dns_files(home / "pods" / str(i), f"127.81.0.{i % 250 + 1}", f"pod-{i}", NS, {}, cluster_dns)
        per_pod = (time.perf_counter() - started) / args.pods
        rows.append(("pod set-up: write resolv.conf and hosts", per_pod * 1e3, "once per pod"))

        files = write_pod_dns_files(home / "pods" / "bench", "127.81.1.1", "bench", NS, {}, cluster_dns)
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LD_PRELOAD": str(shim)}
        dns_env = {**base_env, "REMEDLAB_POD_IP": "127.81.1.1", **resolver_env(files, cluster_dns, DnsMode.SHIM)}
        without = process_start(base_env, 200)
        with_dns = process_start(dns_env, 200)
        rows.append(("process start, shim without resolver", without * 1e3, "/bin/true, median"))
        rows.append(("process start, shim with resolver", with_dns * 1e3, f"x{with_dns / without:.2f} of the above"))

        message = dns.message.make_query("cart.shop.svc.cluster.local.", "A")
        started = time.perf_counter()
        for _ in range(args.lookups):
            dns.query.udp(message, "127.0.0.1", port=running.server.port, timeout=2)
        query = (time.perf_counter() - started) / args.lookups
        rows.append(("one UDP query to the server (dnspython)", query * 1e3, "round trip"))

        for name, what in (
            ("cart", "first search domain"),
            ("cart.shop", "second search domain"),
            ("off-cluster.example.com", "NXDOMAIN x4"),
            ("localhost", "hosts file, no query"),
        ):
            done = subprocess.run(
                [sys.executable, "-c", LOOKUP_LOOP, name, str(args.lookups)],
                env={**os.environ, **dns_env},
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append((f"getaddrinfo({name!r}) through the shim", float(done.stdout) * 1e3, what))
        queries = running.server.stats.queries

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'ms':>8}  note")
    for label, ms, what in rows:
        print(f"{label:<{width}}  {ms:>8.3f}  {what}")
    print(f"(server answered {queries} queries; {args.pods} pods; {args.lookups} lookups per line)")


if __name__ == "__main__":
    main()
