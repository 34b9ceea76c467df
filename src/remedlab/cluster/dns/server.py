"""The cluster DNS server: DNS over UDP and TCP on one address, answering from the zone's records.

Each question is answered from `ClusterRecords` at once; nothing is ever forwarded or sent anywhere
but back to the asking client. A UDP answer longer than the client takes (512 bytes, or its EDNS
payload size) is sent truncated (TC) so that the client asks again over TCP. Queries that are not
standard queries get NOTIMP, malformed ones FORMERR, other classes than IN REFUSED.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from remedlab.cluster.dns.records import (
    AddressRecord,
    Answer,
    ClusterRecords,
    CnameRecord,
    PtrRecord,
    Rcode,
    Record,
    SoaRecord,
    SrvRecord,
)
from remedlab.cluster.dns.zone import EDNS_PAYLOAD_LIMIT, NEGATIVE_TTL, RECORD_TTL, TCP_IDLE_SECONDS, UDP_PAYLOAD_LIMIT

log = logging.getLogger(__name__)

TCP_MESSAGE_LIMIT = 65535
EPHEMERAL_TRIES = 20
TCP_BACKLOG = 128


@dataclass
class DnsStats:
    """Counters of the questions answered."""

    queries: int = 0
    nxdomain: int = 0
    truncated: int = 0
    malformed: int = 0


def _rdata(record: Record) -> tuple[dns.rdatatype.RdataType, str]:
    """A record's (type, presentation text of its data)."""
    match record:
        case AddressRecord(ip=ip):
            return dns.rdatatype.A, ip
        case CnameRecord(target=target):
            return dns.rdatatype.CNAME, f"{target}."
        case SrvRecord(priority=priority, weight=weight, port=port, target=target):
            return dns.rdatatype.SRV, f"{priority} {weight} {port} {target}."
        case PtrRecord(target=target):
            return dns.rdatatype.PTR, f"{target}."
        case SoaRecord():
            r = record
            return (
                dns.rdatatype.SOA,
                f"{r.mname}. {r.rname}. {r.serial} {r.refresh} {r.retry} {r.expire} {r.minimum}",
            )
    raise AssertionError(f"unknown record {record!r}")


def _add(
    response: dns.message.Message,
    section: list[dns.rrset.RRset],
    records: Sequence[Record],
    asked: dns.name.Name,
    ttl: int,
) -> None:
    for record in records:
        rdtype, text = _rdata(record)
        name = asked if dns.name.from_text(record.name) == asked else dns.name.from_text(record.name)
        rrset = response.find_rrset(section, name, dns.rdataclass.IN, rdtype, create=True)
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, text), ttl)


class DnsResponder:
    """Wire-format questions in, wire-format answers out."""

    def __init__(self, records: ClusterRecords) -> None:
        self.records = records
        self.stats = DnsStats()

    def respond(self, wire: bytes, limit: int | None) -> bytes | None:
        """The answer to one message (``limit``: the UDP size limit; None over TCP); None to drop it."""
        try:
            query = dns.message.from_wire(wire)
        except dns.message.ShortHeader:
            self.stats.malformed += 1
            return None
        except dns.exception.DNSException:
            self.stats.malformed += 1
            return _header_only(wire, dns.rcode.FORMERR)
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
        elif query.question[0].rdclass not in (dns.rdataclass.IN, dns.rdataclass.ANY):
            response.set_rcode(dns.rcode.REFUSED)
        else:
            question = query.question[0]
            self.stats.queries += 1
            answer = self.records.answer(question.name.to_text(), dns.rdatatype.to_text(question.rdtype))
            self._fill(response, answer, question.name)
        return self._render(query, response, limit)

    def _fill(self, response: dns.message.Message, answer: Answer, asked: dns.name.Name) -> None:
        if answer.rcode is Rcode.NXDOMAIN:
            self.stats.nxdomain += 1
            response.set_rcode(dns.rcode.NXDOMAIN)
        if answer.authoritative:
            response.flags |= dns.flags.AA
        _add(response, response.answer, answer.records, asked, RECORD_TTL)
        _add(response, response.authority, answer.authority, asked, NEGATIVE_TTL)
        _add(response, response.additional, answer.additional, asked, RECORD_TTL)

    def _render(self, query: dns.message.Message, response: dns.message.Message, limit: int | None) -> bytes:
        size = TCP_MESSAGE_LIMIT
        if limit is not None:
            size = max(UDP_PAYLOAD_LIMIT, min(query.payload, limit)) if query.edns >= 0 else UDP_PAYLOAD_LIMIT
        try:
            return response.to_wire(max_size=size)
        except dns.exception.TooBig:
            self.stats.truncated += 1
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=size)


def _header_only(wire: bytes, rcode: int) -> bytes:
    """A bare answer header (the query's id, QR set) for a message that could not be parsed."""
    (query_id,) = struct.unpack("!H", wire[:2])
    return struct.pack("!HHHHHH", query_id, 0x8000 | rcode, 0, 0, 0, 0)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DnsResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            reply = self.responder.respond(data, EDNS_PAYLOAD_LIMIT)
        except Exception:
            log.exception("answering a DNS query failed")
            reply = _header_only(data, dns.rcode.SERVFAIL) if len(data) >= 2 else None
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DnsServer:
    """The zone served over UDP and TCP at ``host``: on the first of ``ports`` that can be bound, 0
    standing for any free port (one port for both)."""

    def __init__(self, records: ClusterRecords, host: str, ports: Sequence[int]) -> None:
        self.responder = DnsResponder(records)
        self.host = host
        self.ports = tuple(ports)
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def stats(self) -> DnsStats:
        return self.responder.stats

    async def start(self) -> None:
        """Bind UDP and TCP; raises OSError when no port of ``ports`` can be bound."""
        failure: OSError | None = None
        for wanted in self.ports:
            for _ in range(EPHEMERAL_TRIES if wanted == 0 else 1):
                try:
                    await self._bind(wanted)
                    return
                except OSError as exc:
                    failure = exc
                    if exc.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
                        raise
        raise failure or OSError(errno.EADDRINUSE, f"no port to serve DNS on {self.host}")

    async def _bind(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((self.host, port))
            bound = int(udp.getsockname()[1])
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind((self.host, bound))
            tcp.listen(TCP_BACKLOG)
        except OSError:
            udp.close()
            tcp.close()
            raise
        udp.setblocking(False)
        tcp.setblocking(False)
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self.responder), sock=udp)
        self._udp = transport
        self._tcp = await asyncio.start_server(self._serve_tcp, sock=tcp)
        self.port = bound

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    header = await reader.readexactly(2)
                    (length,) = struct.unpack("!H", header)
                    wire = await reader.readexactly(length)
                reply = self.responder.respond(wire, None)
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
