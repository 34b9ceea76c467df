"""A pod's name resolution: its resolv.conf and hosts file for each dnsPolicy, and the pod shim resolving
real programs' lookups (getent, Python's socket module, curl) through a cluster DNS server on a loopback
address, with the search list and ndots of the pod's resolv.conf, its hosts file first, and nothing sent
anywhere else: an off-cluster name fails fast."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedlab.cluster.dns.records import ClusterRecords
from remedlab.cluster.dns.server import DnsServer
from remedlab.cluster.node.pod_dns import (
    DNS_SERVER_ENV,
    ClusterDns,
    DnsMode,
    parse_resolv_conf,
    render_hosts,
    resolver_config,
    resolver_env,
    write_pod_dns_files,
)
from tests.unit.test_cluster_dns import NS, Objects, address, pod, service

DNS = ClusterDns("127.96.0.10", 53)


def test_cluster_first_resolv_conf() -> None:
    config = resolver_config({}, "shop", DNS)
    assert config.render() == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.96.0.10\noptions ndots:5\n"
    )
    with_config = resolver_config(
        {
            "dnsConfig": {
                "nameservers": ["127.96.0.11"],
                "searches": ["corp.internal"],
                "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
            }
        },
        "shop",
        DNS,
    )
    assert with_config.nameservers == ("127.96.0.10", "127.96.0.11")
    assert with_config.searches[-1] == "corp.internal"
    assert with_config.options == (("ndots", "2"), ("edns0", None))


def test_other_policies() -> None:
    node = "nameserver 10.0.0.2\nsearch corp.example\noptions timeout:2\n"
    default = resolver_config({"dnsPolicy": "Default"}, "shop", DNS, node)
    assert default == parse_resolv_conf(node)
    # ClusterFirst on the host network is Default, ClusterFirstWithHostNet is not
    assert resolver_config({"hostNetwork": True}, "shop", DNS, node).nameservers == ("10.0.0.2",)
    host_net = resolver_config({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"}, "shop", DNS, node)
    assert host_net.nameservers == ("127.96.0.10",)
    none = resolver_config(
        {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["127.5.5.5"], "searches": ["a.b"]}}, "shop", DNS, node
    )
    assert none.render() == "search a.b\nnameserver 127.5.5.5\n"
    # no cluster DNS: ClusterFirst falls back to Default, as the kubelet does
    assert resolver_config({}, "shop", None, node).nameservers == ("10.0.0.2",)


def test_hosts_file() -> None:
    plain = render_hosts("127.81.0.4", "cart-7d9f", "shop", {})
    assert "127.0.0.1\tlocalhost\n" in plain and "127.81.0.4\tcart-7d9f\n" in plain
    stateful = render_hosts(
        "127.81.0.5",
        "web-0",
        "shop",
        {"hostname": "web-0", "subdomain": "web", "hostAliases": [{"ip": "127.1.1.1", "hostnames": ["a", "b"]}]},
    )
    assert "127.81.0.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n" in stateful
    assert stateful.endswith("# Entries added by HostAliases.\n127.1.1.1\ta\tb\n")


def test_files_and_shim_environment(tmp_path: Path) -> None:
    files = write_pod_dns_files(tmp_path, "127.81.0.4", "cart", "shop", {}, DNS)
    assert files.resolv_conf == tmp_path / "etc" / "resolv.conf" and files.cluster_first
    assert oct(files.hosts.stat().st_mode & 0o777) == "0o644"
    env = resolver_env(files, DNS, DnsMode.SHIM)
    assert env[DNS_SERVER_ENV] == "127.96.0.10:53"
    assert resolver_env(files, DNS, DnsMode.MOUNT_NAMESPACE) == {}
    off = write_pod_dns_files(tmp_path, "127.81.0.4", "cart", "shop", {"dnsPolicy": "Default"}, DNS)
    assert resolver_env(off, DNS, DnsMode.SHIM) == {}


# ---------------------------------------------------------------------- the shim, with real programs

LOOKUPS = r"""
import socket, sys, time
for name in sys.argv[1:]:
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
        result = ",".join(sorted({i[4][0] for i in infos}))
    except socket.gaierror as exc:
        result = f"error{exc.errno}"
    print(name, result, f"{time.monotonic() - started:.3f}", flush=True)
print("ex", ",".join(sorted(socket.gethostbyname_ex("web")[2])))
print("fqdn", socket.getfqdn())
"""


@pytest.fixture
def cluster() -> Objects:
    o = Objects()
    o.svcs[f"{NS}/cart"] = service("cart", "127.80.0.5", [{"name": "http", "port": 7070}])
    o.svcs[f"{NS}/web"] = service("web", "None", [{"name": "http", "port": 80}])
    web0 = pod("web-0", "127.81.0.10", hostname="web-0", subdomain="web")
    web1 = pod("web-1", "127.81.0.11", hostname="web-1", subdomain="web")
    o.pod_list = [web0, web1]
    o.eps[f"{NS}/web"] = {
        "subsets": [{"ports": [{"name": "http", "port": 80}], "addresses": [address(web0), address(web1)]}]
    }
    return o


@pytest.fixture
def pod_env(tmp_path: Path, shim: Path) -> Iterator[dict[str, str]]:
    spec: dict[str, Any] = {"hostAliases": [{"ip": "127.7.7.7", "hostnames": ["alias.local"]}]}
    files = write_pod_dns_files(tmp_path / "pod", "127.81.0.99", "client", NS, spec, ClusterDns("127.0.0.1", 0))
    env = {
        **os.environ,
        "LD_PRELOAD": str(shim),
        "REMEDLAB_POD_IP": "127.81.0.99",
        **resolver_env(files, ClusterDns("127.0.0.1", 0), DnsMode.SHIM),
    }
    yield env


def run_lookups(objects: Objects, env: dict[str, str], argv: list[str], trace: Path | None = None) -> tuple[str, int]:
    """Run ``argv`` in the pod's environment against a cluster DNS server; (its output, queries answered)."""

    async def main() -> tuple[str, int]:
        server = DnsServer(ClusterRecords(objects), "127.0.0.1", [0])
        await server.start()
        try:
            run_env = {**env, DNS_SERVER_ENV: f"127.0.0.1:{server.port}"}
            command = argv
            if trace is not None:
                command = [
                    "strace",
                    "-f",
                    "-qq",
                    "-e",
                    "trace=connect,sendto,sendmsg,sendmmsg",
                    "-o",
                    str(trace),
                    *argv,
                ]
            proc = await asyncio.create_subprocess_exec(
                *command, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            return out.decode(), server.stats.queries
        finally:
            await server.stop()

    return asyncio.run(main())


def test_getent_resolves_through_the_cluster_dns(cluster: Objects, pod_env: dict[str, str]) -> None:
    out, _ = run_lookups(cluster, pod_env, ["getent", "hosts", "cart"])
    assert out.split() == ["127.80.0.5", "cart.shop.svc.cluster.local"]
    out, _ = run_lookups(cluster, pod_env, ["getent", "hosts", "web-1.web"])
    assert out.split() == ["127.81.0.11", "web-1.web.shop.svc.cluster.local"]
    out, _ = run_lookups(cluster, pod_env, ["getent", "hosts", "alias.local"])
    assert out.split() == ["127.7.7.7", "alias.local"]
    out, _ = run_lookups(cluster, pod_env, ["getent", "ahostsv4", "cart.shop.svc.cluster.local."])
    assert out.split()[0] == "127.80.0.5"


def test_python_lookups_follow_the_search_list(cluster: Objects, pod_env: dict[str, str]) -> None:
    names = ["cart", "cart.shop", "cart.shop.svc", "web", "localhost", "127.0.0.9", "client", "nothere.example.com"]
    out, queries = run_lookups(cluster, pod_env, [sys.executable, "-c", LOOKUPS, *names])
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert lines["cart"][0] == lines["cart.shop"][0] == lines["cart.shop.svc"][0] == "127.80.0.5"
    assert lines["web"][0] == "127.81.0.10,127.81.0.11"
    assert lines["localhost"][0] == "127.0.0.1" and lines["127.0.0.9"][0] == "127.0.0.9"
    assert lines["client"][0] == "127.81.0.99"  # the pod's own name, from its hosts file
    assert lines["nothere.example.com"][0] == f"error{socket.EAI_NONAME}"
    assert float(lines["nothere.example.com"][1]) < 0.5
    assert lines["ex"] == ["127.81.0.10,127.81.0.11"]
    assert lines["fqdn"] == ["client"]
    # the off-cluster name was asked for with each search domain and as it is, and nowhere else
    assert queries >= 4


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (make setup installs it)")
def test_off_cluster_names_fail_fast_and_nothing_leaves_loopback(
    cluster: Objects, pod_env: dict[str, str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace"
    started = time.monotonic()
    out, _ = run_lookups(cluster, pod_env, ["getent", "hosts", "example.com", "localhost", "cart"], trace)
    assert time.monotonic() - started < 10
    assert "example.com" not in out and "127.80.0.5" in out
    curl = shutil.which("curl")
    if curl is not None:
        curl_out, _ = run_lookups(
            cluster, pod_env, [curl, "-sS", "-m", "5", "http://off-cluster.example.org/"], tmp_path / "curl"
        )
        assert "Could not resolve host" in curl_out
    destinations = []
    for path in (trace, tmp_path / "curl"):
        if path.exists():
            destinations += re.findall(r'inet_addr\("([0-9.]+)"\)|inet_pton\(AF_INET6, "([^"]+)"', path.read_text())
    assert destinations, "the lookups sent nothing at all"
    for v4, v6 in destinations:
        assert (v4 and v4.startswith("127.")) or v6 in ("::1", "::ffff:127.0.0.1"), (v4, v6)
