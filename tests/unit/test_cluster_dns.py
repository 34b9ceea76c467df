"""Cluster DNS: the zone's records computed from Services, Endpoints and Pods, and the server answering
real UDP and TCP queries on a loopback address; nothing outside the zone is answered or forwarded."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from remedlab.api.kinds import Obj
from remedlab.cluster.dns.records import (
    AddressRecord,
    ClusterRecords,
    CnameRecord,
    PtrRecord,
    Rcode,
    SoaRecord,
    SrvRecord,
)
from remedlab.cluster.dns.server import DnsServer

NS = "shop"


def service(name: str, cluster_ip: str, ports: list[dict[str, Any]], **spec: Any) -> Obj:
    return {"metadata": {"namespace": NS, "name": name}, "spec": {"clusterIP": cluster_ip, "ports": ports, **spec}}


def pod(name: str, ip: str, ready: bool = True, **spec: Any) -> Obj:
    return {
        "metadata": {"namespace": NS, "name": name, "uid": f"uid-{name}"},
        "spec": spec,
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def address(p: Obj) -> dict[str, Any]:
    return {"ip": p["status"]["podIP"], "targetRef": {"kind": "Pod", "name": p["metadata"]["name"]}}


class Objects:
    """An in-memory cluster: what the records read."""

    def __init__(self) -> None:
        self.svcs: dict[str, Obj] = {}
        self.eps: dict[str, Obj] = {}
        self.pod_list: list[Obj] = []

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.svcs.get(f"{namespace}/{name}")

    def services(self) -> Iterable[Obj]:
        return list(self.svcs.values())

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self.eps.get(f"{namespace}/{name}")

    def pod(self, namespace: str, name: str) -> Obj | None:
        return next((p for p in self.pod_list if p["metadata"]["name"] == name), None)

    def pods(self, namespace: str) -> Iterable[Obj]:
        return [p for p in self.pod_list if p["metadata"]["namespace"] == namespace]

    def namespace_exists(self, namespace: str) -> bool:
        return namespace in (NS, "default", "kube-system")


@pytest.fixture
def objects() -> Objects:
    o = Objects()
    o.svcs[f"{NS}/cart"] = service("cart", "127.80.0.5", [{"name": "http", "port": 7070, "protocol": "TCP"}])
    o.svcs[f"{NS}/web"] = service("web", "None", [{"name": "http", "port": 80, "protocol": "TCP"}])
    o.svcs[f"{NS}/ext"] = service("ext", "", [], type="ExternalName", externalName="db.example.com")
    web0 = pod("web-0", "127.81.0.10", hostname="web-0", subdomain="web")
    web1 = pod("web-1", "127.81.0.11", hostname="web-1", subdomain="web")
    web2 = pod("web-2", "127.81.0.12", ready=False, hostname="web-2", subdomain="web")
    loose = pod("loose", "127.81.0.13")
    o.pod_list = [web0, web1, web2, loose]
    o.eps[f"{NS}/web"] = {
        "subsets": [
            {
                "ports": [{"name": "http", "port": 8080}],
                "addresses": [address(web0), address(web1), address(loose)],
                "notReadyAddresses": [address(web2)],
            }
        ]
    }
    return o


def test_a_records_of_services(objects: Objects) -> None:
    records = ClusterRecords(objects)
    answer = records.answer("cart.shop.svc.cluster.local.", "A")
    assert answer.rcode is Rcode.NOERROR and answer.authoritative
    assert answer.records == (AddressRecord("cart.shop.svc.cluster.local", "127.80.0.5"),)
    # names are case-insensitive
    assert records.answer("CART.Shop.svc.cluster.local", "A").records == answer.records
    headless = records.answer("web.shop.svc.cluster.local", "A")
    assert [r.ip for r in headless.records if isinstance(r, AddressRecord)] == [
        "127.81.0.10",
        "127.81.0.11",
        "127.81.0.13",
    ]
    ext = records.answer("ext.shop.svc.cluster.local", "A")
    assert ext.records == (CnameRecord("ext.shop.svc.cluster.local", "db.example.com"),)


def test_pods_under_a_headless_service(objects: Objects) -> None:
    records = ClusterRecords(objects)
    assert records.answer("web-1.web.shop.svc.cluster.local", "A").records == (
        AddressRecord("web-1.web.shop.svc.cluster.local", "127.81.0.11"),
    )
    # a pod that is not ready is not published, unless the Service says so
    assert records.answer("web-2.web.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN
    objects.svcs[f"{NS}/web"]["spec"]["publishNotReadyAddresses"] = True
    assert records.answer("web-2.web.shop.svc.cluster.local", "A").records
    # an endpoint without a hostname goes by its dashed IP
    assert records.answer("127-81-0-13.web.shop.svc.cluster.local", "A").records
    # a Service with a cluster IP has no per-pod names
    assert records.answer("web-0.cart.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN


def test_srv_records(objects: Objects) -> None:
    records = ClusterRecords(objects)
    answer = records.answer("_http._tcp.cart.shop.svc.cluster.local", "SRV")
    assert answer.records == (
        SrvRecord("_http._tcp.cart.shop.svc.cluster.local", 0, 100, 7070, "cart.shop.svc.cluster.local"),
    )
    assert answer.additional == (AddressRecord("cart.shop.svc.cluster.local", "127.80.0.5"),)
    headless = records.answer("_http._tcp.web.shop.svc.cluster.local", "SRV")
    targets = {(r.target, r.port, r.weight) for r in headless.records if isinstance(r, SrvRecord)}
    assert targets == {
        ("web-0.web.shop.svc.cluster.local", 8080, 33),
        ("web-1.web.shop.svc.cluster.local", 8080, 33),
        ("127-81-0-13.web.shop.svc.cluster.local", 8080, 33),
    }
    assert len(headless.additional) == 3
    assert records.answer("_grpc._tcp.cart.shop.svc.cluster.local", "SRV").rcode is Rcode.NXDOMAIN
    assert records.answer("_http._udp.cart.shop.svc.cluster.local", "SRV").rcode is Rcode.NXDOMAIN


def test_negative_answers(objects: Objects) -> None:
    records = ClusterRecords(objects)
    # a known name asked for another type: no record, no error, the SOA for negative caching
    aaaa = records.answer("cart.shop.svc.cluster.local", "AAAA")
    assert aaaa.rcode is Rcode.NOERROR and not aaaa.records and aaaa.authority == (SoaRecord(),)
    assert records.answer("shop.svc.cluster.local", "A").rcode is Rcode.NOERROR
    assert records.answer("nowhere.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN
    assert records.answer("missing.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN
    assert records.answer("a.b.c.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN
    outside = records.answer("example.com", "A")
    assert outside.rcode is Rcode.NXDOMAIN and not outside.authoritative
    assert records.answer("cluster.local", "SOA").records == (SoaRecord(),)


def test_pod_and_reverse_records(objects: Objects) -> None:
    records = ClusterRecords(objects)
    assert records.answer("127-81-0-13.shop.pod.cluster.local", "A").records
    assert records.answer("127-81-0-99.shop.pod.cluster.local", "A").rcode is Rcode.NXDOMAIN
    assert records.answer("5.0.80.127.in-addr.arpa", "PTR").records == (
        PtrRecord("5.0.80.127.in-addr.arpa", "cart.shop.svc.cluster.local"),
    )
    assert records.answer("10.0.81.127.in-addr.arpa", "PTR").records == (
        PtrRecord("10.0.81.127.in-addr.arpa", "web-0.web.shop.svc.cluster.local"),
    )
    assert records.answer("9.9.9.9.in-addr.arpa", "PTR").rcode is Rcode.NXDOMAIN


def test_answers_follow_changes(objects: Objects) -> None:
    records = ClusterRecords(objects)
    assert records.answer("new.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN
    objects.svcs[f"{NS}/new"] = service("new", "127.80.0.9", [])
    assert records.answer("new.shop.svc.cluster.local", "A").records
    del objects.svcs[f"{NS}/new"]
    assert records.answer("new.shop.svc.cluster.local", "A").rcode is Rcode.NXDOMAIN


# ---------------------------------------------------------------------- the server


def query(server: tuple[str, int], name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    message = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(message, server[0], port=server[1], timeout=2)
    return dns.query.udp(message, server[0], port=server[1], timeout=2)


def run_with_server(objects: Objects, body: Any) -> Any:
    async def main() -> Any:
        server = DnsServer(ClusterRecords(objects), "127.0.0.1", [0])
        await server.start()
        try:
            return await asyncio.to_thread(body, server.address, server)
        finally:
            await server.stop()

    return asyncio.run(main())


def test_server_answers_over_udp_and_tcp(objects: Objects) -> None:
    def body(address: tuple[str, int], server: DnsServer) -> None:
        for tcp in (False, True):
            answer = query(address, "cart.shop.svc.cluster.local.", "A", tcp)
            assert answer.rcode() == dns.rcode.NOERROR
            assert answer.flags & dns.flags.AA
            assert [rr.to_text() for rr in answer.answer[0]] == ["127.80.0.5"]
            srv = query(address, "_http._tcp.web.shop.svc.cluster.local.", "SRV", tcp)
            assert len(srv.answer[0]) == 3 and len(srv.additional) == 3
            outside = query(address, "example.com.", "A", tcp)
            assert outside.rcode() == dns.rcode.NXDOMAIN and not outside.answer
            aaaa = query(address, "cart.shop.svc.cluster.local.", "AAAA", tcp)
            assert aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer and aaaa.authority
        assert server.stats.queries == 8 and server.stats.nxdomain == 2

    run_with_server(objects, body)


def test_long_udp_answers_are_truncated_for_tcp(objects: Objects) -> None:
    many = [address(pod(f"p{i}", f"127.81.1.{i}")) for i in range(1, 100)]
    objects.eps[f"{NS}/web"]["subsets"][0]["addresses"] = many

    def body(address_: tuple[str, int], server: DnsServer) -> None:
        udp = query(address_, "_http._tcp.web.shop.svc.cluster.local.", "SRV")
        assert udp.flags & dns.flags.TC and not udp.answer
        tcp = query(address_, "_http._tcp.web.shop.svc.cluster.local.", "SRV", tcp=True)
        assert len(tcp.answer[0]) == 99
        # dns.query.udp_with_fallback does as a resolver does
        answer, used_tcp = dns.query.udp_with_fallback(
            dns.message.make_query("web.shop.svc.cluster.local.", "A"), address_[0], port=address_[1], timeout=2
        )
        assert used_tcp and len(answer.answer[0]) == 99

    run_with_server(objects, body)


def test_malformed_and_unsupported_queries(objects: Objects) -> None:
    def body(address_: tuple[str, int], server: DnsServer) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2)
            sock.sendto(b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\x00" * 6 + b"\xff\xff", address_)
            reply, _ = sock.recvfrom(512)
            assert reply[:2] == b"\x12\x34" and reply[3] & 0x0F == dns.rcode.FORMERR
        chaos = dns.message.make_query("version.bind.", "TXT", rdclass="CH")
        assert dns.query.udp(chaos, address_[0], port=address_[1], timeout=2).rcode() == dns.rcode.REFUSED
        notify = dns.message.make_query("cluster.local.", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        assert dns.query.udp(notify, address_[0], port=address_[1], timeout=2).rcode() == dns.rcode.NOTIMP

    run_with_server(objects, body)


def test_server_takes_the_next_port_when_the_first_is_taken(objects: Objects) -> None:
    async def main() -> None:
        first = DnsServer(ClusterRecords(objects), "127.0.0.1", [0])
        await first.start()
        second = DnsServer(ClusterRecords(objects), "127.0.0.1", [first.port, 0])
        await second.start()
        try:
            assert second.port not in (0, first.port)
        finally:
            await second.stop()
            await first.stop()

    asyncio.run(main())
