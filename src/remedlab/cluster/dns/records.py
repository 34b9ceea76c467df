"""The records of the cluster's DNS zone, computed from its Services, Endpoints and Pods.

As CoreDNS's kubernetes plugin answers (names are lower-cased, without the final dot):

- ``svc.ns.svc.cluster.local`` A: the Service's cluster IP; for a headless Service (clusterIP None)
  the IPs of its ready endpoints (not-ready ones too with ``publishNotReadyAddresses``); for an
  ExternalName Service a CNAME to its external name (never followed here).
- ``host.svc.ns.svc.cluster.local`` A, for a headless Service: the pod whose ``spec.hostname`` is
  ``host`` and ``spec.subdomain`` is ``svc`` (a StatefulSet's ``web-0``), or the endpoint whose IP
  ``host`` spells with dashes (``127-65-0-4``).
- ``_port._tcp.svc.ns.svc.cluster.local`` SRV: the Service's port of that name and protocol, aimed at
  the Service's name, or for a headless Service one record per endpoint, aimed at its own name; the
  Service's bare name asked for SRV gives every named port.
- ``a-b-c-d.ns.pod.cluster.local`` A: a pod of that namespace with that IP.
- ``d.c.b.a.in-addr.arpa`` PTR: the Service whose cluster IP, or the headless endpoint whose IP, it is.
- A name that exists answers any other type with no record (NOERROR); any other name, in the zone or
  not, gets NXDOMAIN. Negative answers carry the zone's SOA.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from remedlab.api.kinds import Obj
from remedlab.cluster.dns.zone import (
    CLUSTER_DOMAIN,
    NEGATIVE_TTL,
    SERVICE_SUBDOMAIN,
    SOA_EXPIRE,
    SOA_MNAME,
    SOA_REFRESH,
    SOA_RETRY,
    SOA_RNAME,
    SRV_PRIORITY,
    SRV_TOTAL_WEIGHT,
)

REVERSE_ZONE = "in-addr.arpa"


class ClusterObjects(Protocol):
    """Where the records come from: the cluster's current objects."""

    def service(self, namespace: str, name: str) -> Obj | None: ...

    def services(self) -> Iterable[Obj]: ...

    def endpoints(self, namespace: str, name: str) -> Obj | None: ...

    def pod(self, namespace: str, name: str) -> Obj | None: ...

    def pods(self, namespace: str) -> Iterable[Obj]: ...

    def namespace_exists(self, namespace: str) -> bool: ...


class Rcode(enum.Enum):
    NOERROR = 0
    NXDOMAIN = 3


@dataclass(frozen=True)
class AddressRecord:
    name: str
    ip: str


@dataclass(frozen=True)
class CnameRecord:
    name: str
    target: str


@dataclass(frozen=True)
class SrvRecord:
    name: str
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class PtrRecord:
    name: str
    target: str


@dataclass(frozen=True)
class SoaRecord:
    name: str = CLUSTER_DOMAIN
    mname: str = SOA_MNAME
    rname: str = SOA_RNAME
    serial: int = 1
    refresh: int = SOA_REFRESH
    retry: int = SOA_RETRY
    expire: int = SOA_EXPIRE
    minimum: int = NEGATIVE_TTL


Record = AddressRecord | CnameRecord | SrvRecord | PtrRecord | SoaRecord


@dataclass(frozen=True)
class Answer:
    """What the zone says of one question."""

    rcode: Rcode
    records: tuple[Record, ...] = ()
    additional: tuple[AddressRecord, ...] = ()
    authority: tuple[SoaRecord, ...] = ()
    authoritative: bool = True


@dataclass(frozen=True)
class _Member:
    """A headless Service's endpoint: its IP, its own name's first label, its ports by name."""

    ip: str
    label: str
    ports: dict[str | None, int] = field(default_factory=dict)


def service_fqdn(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.{SERVICE_SUBDOMAIN}.{CLUSTER_DOMAIN}"


def dashed(ip: str) -> str:
    return ip.replace(".", "-")


def _undashed(label: str) -> str | None:
    text = label.replace("-", ".")
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def _is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def _is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


class ClusterRecords:
    """Answers of zone ``cluster.local`` (and PTRs of cluster addresses) from ``objects``, computed
    at each question, so they follow every change at once."""

    def __init__(self, objects: ClusterObjects, zone: str = CLUSTER_DOMAIN) -> None:
        self.objects = objects
        self.zone = zone

    def answer(self, qname: str, qtype: str) -> Answer:
        name = qname.lower().rstrip(".")
        qtype = qtype.upper()
        if name == self.zone or name.endswith("." + self.zone):
            labels = name[: -len(self.zone)].rstrip(".")
            parts = list(reversed(labels.split("."))) if labels else []
            return self._in_zone(name, parts, qtype)
        if name.endswith("." + REVERSE_ZONE):
            return self._reverse(name, qtype)
        return Answer(Rcode.NXDOMAIN, authoritative=False)

    # ------------------------------------------------------------------ zone

    def _negative(self, exists: bool) -> Answer:
        return Answer(Rcode.NOERROR if exists else Rcode.NXDOMAIN, authority=(SoaRecord(self.zone),))

    def _found(self, qtype: str, records: list[Record], additional: Iterable[AddressRecord] = ()) -> Answer:
        """The records of an existing name that the question's type asks for."""
        kinds: dict[str, tuple[type[Any], ...]] = {
            "A": (AddressRecord, CnameRecord),
            "SRV": (SrvRecord,),
            "PTR": (PtrRecord,),
            "CNAME": (CnameRecord,),
            "ANY": (AddressRecord, CnameRecord, SrvRecord, PtrRecord),
        }
        wanted = [r for r in records if isinstance(r, kinds.get(qtype, ()))]
        if not wanted:
            return self._negative(True)
        extra = tuple(additional) if any(isinstance(r, SrvRecord) for r in wanted) else ()
        return Answer(Rcode.NOERROR, tuple(wanted), extra)

    def _in_zone(self, name: str, parts: list[str], qtype: str) -> Answer:
        if not parts:
            if qtype in ("SOA", "ANY"):
                return Answer(Rcode.NOERROR, (SoaRecord(self.zone),))
            return self._negative(True)
        if parts[0] == SERVICE_SUBDOMAIN:
            return self._services(name, parts[1:], qtype)
        if parts[0] == "pod":
            return self._pod(name, parts[1:], qtype)
        return self._negative(False)

    def _services(self, name: str, parts: list[str], qtype: str) -> Answer:
        if not parts:
            return self._negative(True)
        namespace = parts[0]
        if len(parts) == 1:
            return self._negative(self.objects.namespace_exists(namespace))
        svc = self.objects.service(namespace, parts[1])
        if svc is None:
            return self._negative(False)
        rest = parts[2:]
        if not rest:
            return self._service_name(name, svc, qtype)
        if len(rest) == 1:
            if rest[0] in ("_tcp", "_udp", "_sctp"):
                return self._negative(any(True for _ in self._named_ports(svc, rest[0][1:])))
            return self._member_name(name, svc, rest[0], qtype)
        if len(rest) == 2 and rest[0].startswith("_") and rest[1].startswith("_"):
            return self._port_srv(name, svc, rest[1][1:], rest[0][1:], qtype)
        return self._negative(False)

    def _service_name(self, name: str, svc: Obj, qtype: str) -> Answer:
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName" and spec.get("externalName"):
            return self._found(qtype, [CnameRecord(name, str(spec["externalName"]).lower().rstrip("."))])
        records: list[Record] = []
        additional: list[AddressRecord] = []
        if _is_headless(svc):
            members = self._members(svc)
            records += [AddressRecord(name, m.ip) for m in members]
            for port_name, _proto in self._named_ports(svc, None):
                srv, extra = self._member_srvs(name, svc, members, port_name)
                records += srv
                additional += extra
        else:
            ip = spec.get("clusterIP")
            if ip:
                records.append(AddressRecord(name, str(ip)))
                ports = [int(p["port"]) for p in spec.get("ports") or [] if p.get("name")]
                weight = _weight(len(ports))
                records += [SrvRecord(name, SRV_PRIORITY, weight, port, name) for port in ports]
                additional.append(AddressRecord(name, str(ip)))
        return self._found(qtype, records, additional)

    def _named_ports(self, svc: Obj, protocol: str | None) -> Iterable[tuple[str, str]]:
        for port in (svc.get("spec") or {}).get("ports") or []:
            proto = str(port.get("protocol") or "TCP").lower()
            if port.get("name") and (protocol is None or proto == protocol):
                yield str(port["name"]).lower(), proto

    def _port_srv(self, name: str, svc: Obj, port_name: str, protocol: str, qtype: str) -> Answer:
        spec = svc.get("spec") or {}
        port = next(
            (
                p
                for p in spec.get("ports") or []
                if str(p.get("name") or "").lower() == port_name and str(p.get("protocol") or "TCP").lower() == protocol
            ),
            None,
        )
        if port is None:
            return self._negative(False)
        svc_name = service_fqdn(svc["metadata"]["name"], svc["metadata"]["namespace"])
        if _is_headless(svc):
            srv, extra = self._member_srvs(name, svc, self._members(svc), port_name)
            return self._found(qtype, list(srv), extra)
        ip = spec.get("clusterIP")
        records: list[Record] = [SrvRecord(name, SRV_PRIORITY, SRV_TOTAL_WEIGHT, int(port["port"]), svc_name)]
        return self._found(qtype, records, [AddressRecord(svc_name, str(ip))] if ip else [])

    def _member_srvs(
        self, name: str, svc: Obj, members: list[_Member], port_name: str
    ) -> tuple[list[SrvRecord], list[AddressRecord]]:
        svc_name = service_fqdn(svc["metadata"]["name"], svc["metadata"]["namespace"])
        serving = [m for m in members if port_name in m.ports]
        weight = _weight(len(serving))
        records = []
        additional = []
        for m in serving:
            target = f"{m.label}.{svc_name}"
            records.append(SrvRecord(name, SRV_PRIORITY, weight, m.ports[port_name], target))
            additional.append(AddressRecord(target, m.ip))
        return records, additional

    def _member_name(self, name: str, svc: Obj, label: str, qtype: str) -> Answer:
        if not _is_headless(svc):
            return self._negative(False)
        ips = [m.ip for m in self._members(svc) if m.label == label]
        if not ips:
            ips = self._subdomain_pods(svc, label)
        if not ips:
            return self._negative(False)
        return self._found(qtype, [AddressRecord(name, ip) for ip in ips])

    def _subdomain_pods(self, svc: Obj, hostname: str) -> list[str]:
        """The IPs of the pods named ``hostname`` under this headless Service (``spec.hostname`` and
        ``spec.subdomain``), ready ones unless the Service publishes not-ready addresses."""
        namespace, svc_name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        ips = []
        for pod in self.objects.pods(namespace):
            spec = pod.get("spec") or {}
            if str(spec.get("hostname") or "").lower() != hostname or spec.get("subdomain") != svc_name:
                continue
            ip = (pod.get("status") or {}).get("podIP")
            if ip and (publish or _is_ready(pod)) and not pod["metadata"].get("deletionTimestamp"):
                ips.append(str(ip))
        return ips

    def _members(self, svc: Obj) -> list[_Member]:
        namespace, svc_name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        endpoints = self.objects.endpoints(namespace, svc_name)
        publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        members: dict[str, _Member] = {}
        for subset in (endpoints or {}).get("subsets") or []:
            ports = {
                (str(p["name"]).lower() if p.get("name") else None): int(p["port"]) for p in subset.get("ports") or []
            }
            addresses = list(subset.get("addresses") or [])
            if publish:
                addresses += subset.get("notReadyAddresses") or []
            for address in addresses:
                ip = str(address["ip"])
                label = self._member_label(namespace, svc_name, address)
                known = members.get(ip)
                if known is not None:
                    known.ports.update(ports)
                else:
                    members[ip] = _Member(ip, label, dict(ports))
        return sorted(members.values(), key=lambda m: ipaddress.IPv4Address(m.ip))

    def _member_label(self, namespace: str, svc_name: str, address: dict[str, Any]) -> str:
        if address.get("hostname"):
            return str(address["hostname"]).lower()
        ref = address.get("targetRef") or {}
        if ref.get("kind") == "Pod" and ref.get("name"):
            pod = self.objects.pod(namespace, str(ref["name"]))
            spec = (pod or {}).get("spec") or {}
            if spec.get("hostname") and spec.get("subdomain") == svc_name:
                return str(spec["hostname"]).lower()
        return dashed(str(address["ip"]))

    # ------------------------------------------------------------------ pods

    def _pod(self, name: str, parts: list[str], qtype: str) -> Answer:
        if not parts:
            return self._negative(True)
        namespace = parts[0]
        if len(parts) == 1:
            return self._negative(self.objects.namespace_exists(namespace))
        ip = _undashed(parts[1]) if len(parts) == 2 else None
        if ip is None:
            return self._negative(False)
        for pod in self.objects.pods(namespace):
            if (pod.get("status") or {}).get("podIP") == ip:
                return self._found(qtype, [AddressRecord(name, ip)])
        return self._negative(False)

    # ------------------------------------------------------------------ reverse

    def _reverse(self, name: str, qtype: str) -> Answer:
        octets = name[: -len(REVERSE_ZONE) - 1].split(".")
        if len(octets) != 4:
            return Answer(Rcode.NXDOMAIN, authoritative=False)
        ip = ".".join(reversed(octets))
        targets: list[str] = []
        for svc in self.objects.services():
            meta = svc["metadata"]
            svc_name = service_fqdn(meta["name"], meta["namespace"])
            if (svc.get("spec") or {}).get("clusterIP") == ip:
                targets.append(svc_name)
            elif _is_headless(svc):
                targets += [f"{m.label}.{svc_name}" for m in self._members(svc) if m.ip == ip]
        if not targets:
            return Answer(Rcode.NXDOMAIN, authoritative=False)
        return self._found(qtype, [PtrRecord(name, target) for target in targets])


def _weight(count: int) -> int:
    return max(1, SRV_TOTAL_WEIGHT // count) if count else SRV_TOTAL_WEIGHT
