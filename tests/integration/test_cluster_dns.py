"""Cluster DNS on a live cluster: inside a Hotel Reservation pod, `getent`, `curl` and `psql` reach
their peers by name through `kubectl exec`; an off-cluster name fails fast with NXDOMAIN, and the
lookup sends nothing past loopback."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kubectl_harness import Kubectl
from tests.integration.server_harness import running_server

pytestmark = pytest.mark.integration

NS = "hotel-reservation"
SEARCH = "/hotels?inDate=2015-04-09&outDate=2015-04-11&lat=37.7867&lon=-122.4112"


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    with running_server(NS) as server:
        yield Kubectl(server, tmp_path_factory.mktemp("kube-cache"))


def exec_in(kubectl: Kubectl, *command: str, deployment: str = "geo") -> tuple[int, str, str]:
    done = kubectl.run("exec", "-n", NS, f"deploy/{deployment}", "--", *command, timeout=60)
    return done.returncode, done.stdout, done.stderr


def cluster_ip(kubectl: Kubectl, namespace: str, name: str) -> str:
    return str(json.loads(kubectl.ok("get", "svc", "-n", namespace, name, "-o", "json"))["spec"]["clusterIP"])


def test_kube_dns_service_and_pod_files(kubectl: Kubectl) -> None:
    svc = json.loads(kubectl.ok("get", "svc", "-n", "kube-system", "kube-dns", "-o", "json"))
    assert {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
    }
    code, resolv_conf, err = exec_in(kubectl, "sh", "-c", 'cat "${REMEDLAB_RESOLV_CONF:-/etc/resolv.conf}"')
    assert code == 0, err
    assert f"nameserver {svc['spec']['clusterIP']}\n" in resolv_conf
    assert "search hotel-reservation.svc.cluster.local svc.cluster.local cluster.local\n" in resolv_conf
    assert "options ndots:5" in resolv_conf
    checks = {c["mechanism"]: c for c in kubectl.server.ok("GET", "/v1/doctor")["checks"]}
    assert checks["cluster dns"]["level"] in ("full", "degraded"), checks["cluster dns"]


def test_getent_curl_and_psql_reach_peers_by_name(kubectl: Kubectl) -> None:
    geo_ip = cluster_ip(kubectl, NS, "geo")
    code, out, err = exec_in(kubectl, "getent", "hosts", "geo")
    assert code == 0, err
    assert out.split() == [geo_ip, "geo.hotel-reservation.svc.cluster.local"]

    code, out, err = exec_in(
        kubectl, "curl", "-s", "-m", "10", f"http://frontend.hotel-reservation.svc.cluster.local:5000{SEARCH}"
    )
    assert code == 0, err
    assert json.loads(out)["type"] == "FeatureCollection"

    code, out, err = exec_in(
        kubectl,
        "sh",
        "-c",
        'PGPASSWORD="$DATABASE_PASSWORD" PGCONNECT_TIMEOUT=10 '
        'psql -h postgres-geo -U "$DATABASE_USER" -d geo -tAc "select count(*) > 0 from pg_tables"',
    )
    assert code == 0, err
    assert out.strip() == "t"


def test_off_cluster_names_fail_fast_with_nxdomain(kubectl: Kubectl) -> None:
    started = time.monotonic()
    code, out, _ = exec_in(kubectl, "getent", "hosts", "example.com")
    assert code == 2 and not out  # getent's "not found"
    assert time.monotonic() - started < 5
    code, _, err = exec_in(kubectl, "curl", "-sS", "-m", "10", "http://www.example.org/")
    assert code == 6 and "Could not resolve host" in err, err


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (make setup installs it)")
def test_a_lookup_sends_nothing_past_loopback(kubectl: Kubectl, tmp_path: Path) -> None:
    code, out, err = exec_in(
        kubectl,
        "strace",
        "-f",
        "-qq",
        "-e",
        "trace=connect,sendto,sendmsg,sendmmsg",
        "getent",
        "hosts",
        "example.com",
        "geo",
    )
    assert code in (0, 2), err
    destinations = re.findall(r'inet_addr\("([0-9.]+)"\)', err)
    assert destinations, err
    assert all(ip.startswith("127.") for ip in destinations), destinations
    assert cluster_ip(kubectl, NS, "geo") in out


def test_the_kit_finds_services_through_the_cluster_dns(kubectl: Kubectl) -> None:
    """A name in another namespace has no ``*_SERVICE_HOST`` variable in the pod: only DNS finds it."""
    script = (
        "from remedlab.apps.kit.discovery import resolve_address as r; "
        "print(r('kube-dns.kube-system:53')[0], r('geo:8083')[0])"
    )
    code, out, err = exec_in(kubectl, sys.executable, "-c", script)  # the runtime the kit's pods run on
    assert code == 0, err
    assert out.split() == [cluster_ip(kubectl, "kube-system", "kube-dns"), cluster_ip(kubectl, NS, "geo")]
