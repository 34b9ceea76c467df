"""Container probes: httpGet, tcpSocket and exec, as the kubelet runs them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from remedlab.api.probe_timing import ProbeTiming

OpenConnection = Callable[[str, int, float], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
ExecRunner = Callable[[list[str], float], Awaitable[tuple[int, str]]]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


def probe_port(probe: dict[str, Any], container: dict[str, Any]) -> int | None:
    action = probe.get("httpGet") or probe.get("tcpSocket") or {}
    port = action.get("port")
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for cport in container.get("ports") or []:
        if cport.get("name") == port:
            return int(cport["containerPort"])
    return None


async def run_probe(
    probe: dict[str, Any],
    container: dict[str, Any],
    pod_ip: str,
    connect: OpenConnection,
    run_exec: ExecRunner,
) -> ProbeResult:
    timeout = ProbeTiming.of(probe).timeout_seconds
    if "exec" in probe:
        try:
            code, output = await asyncio.wait_for(run_exec(list(probe["exec"]["command"]), timeout), timeout + 1)
        except TimeoutError:
            return ProbeResult(False, f"command timed out after {timeout:g}s")
        if code == 0:
            return ProbeResult(True, "")
        return ProbeResult(False, f"command {probe['exec']['command']!r} exited with {code}: {output.strip()[:200]}")
    port = probe_port(probe, container)
    if port is None:
        return ProbeResult(False, "probe port not found in the container's ports")
    if "tcpSocket" in probe:
        try:
            _reader, writer = await asyncio.wait_for(connect(pod_ip, port, timeout), timeout)
        except (OSError, TimeoutError) as exc:
            return ProbeResult(False, f"dial tcp {pod_ip}:{port}: {_reason(exc)}")
        writer.close()
        return ProbeResult(True, "")
    action = probe.get("httpGet") or {}
    path = action.get("path") or "/"
    url = f"http://{pod_ip}:{port}{path}"
    try:
        return await asyncio.wait_for(_http_get(connect, pod_ip, port, path, action, timeout), timeout)
    except TimeoutError:
        return ProbeResult(
            False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        )
    except OSError as exc:
        return ProbeResult(False, f'Get "{url}": dial tcp {pod_ip}:{port}: {_reason(exc)}')


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(exc, TimeoutError):
        return "i/o timeout"
    return str(exc) or type(exc).__name__


async def _http_get(
    connect: OpenConnection, ip: str, port: int, path: str, action: dict[str, Any], timeout: float
) -> ProbeResult:
    reader, writer = await connect(ip, port, timeout)
    try:
        headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in action.get("httpHeaders") or [])
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nUser-Agent: kube-probe/1.30\r\n"
            f"Accept: */*\r\nConnection: close\r\n{headers}\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            return ProbeResult(False, f'Get "http://{ip}:{port}{path}": EOF')
        parts = status_line.decode(errors="replace").split(" ", 2)
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 400:
            return ProbeResult(True, "")
        return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")
    finally:
        writer.close()
