"""The open-loop workload generator, and `WorkloadRunner` to drive it in-process.

Open loop: requests leave on a schedule (constant rate, or Poisson arrivals) whether or
not earlier ones have answered, so a slow or failing service meets the same offered load
a crowd of independent users would bring, and its latency is not hidden by the client
waiting. Each request has a timeout; a run stops after `duration` seconds or
`max_requests` requests, whichever comes first.

remedlab only ever loads its own cluster: a `Target` must be an IP literal in 127.0.0.0/8,
`::1` or `localhost` (taken as 127.0.0.1). The check needs no name resolution and happens
when the Target is made, before any socket exists; redirects are never followed and
proxy settings from the environment are ignored.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from remedlab.observe.workload.mix import Mix, RenderedRequest
from remedlab.observe.workload.running import Workload
from remedlab.observe.workload.stats import Summary, WorkloadStats

__all__ = [
    "LoadProfile",
    "OpenLoopGenerator",
    "Target",
    "TargetRefused",
    "WorkloadRunner",
    "arrival_offsets",
    "classify_error",
    "loopback_address",
]

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONNECTION_LIMIT = 1000
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


class TargetRefused(ValueError):
    """The target is not a loopback address; nothing was resolved or sent."""


def loopback_address(host: str) -> str:
    """The canonical loopback IP for `host`, or TargetRefused. Never resolves a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text.lower() == "localhost":
        return "127.0.0.1"
    rule = "remedlab only sends load to 127.0.0.0/8, ::1 or localhost"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise TargetRefused(f"refusing to send load to {host!r}: {rule}, given as an IP literal") from None
    if (isinstance(address, ipaddress.IPv4Address) and address in _LOOPBACK_V4) or address == _LOOPBACK_V6:
        return str(address)
    raise TargetRefused(f"refusing to send load to {address}: {rule}")


@dataclass(frozen=True)
class Target:
    """Where the load goes: a loopback IP (checked here) and a TCP port."""

    host: str
    port: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", loopback_address(self.host))
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise ValueError(f"{self.port!r} is not a TCP port")

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> URL:
        url = URL(self.base_url + path)
        if url.host != self.host or url.port != self.port:
            raise TargetRefused(f"the request path {path!r} would leave {self.base_url}")
        return url

    def __str__(self) -> str:
        return self.base_url.removeprefix("http://")


@dataclass(frozen=True)
class LoadProfile:
    """How much load: the arrival rate (req/s), its process, the bounds and per-request limits."""

    rate: float
    duration: float | None = None
    max_requests: int | None = None
    poisson: bool = False
    seed: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    limit: int = DEFAULT_CONNECTION_LIMIT  # connections in the pool

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"the rate must be a positive number of requests per second, not {self.rate}")
        if self.duration is None and self.max_requests is None:
            raise ValueError("a load needs a bound: a duration, a maximum number of requests, or both")
        if self.duration is not None and not (math.isfinite(self.duration) and self.duration > 0):
            raise ValueError(f"the duration must be a positive number of seconds, not {self.duration}")
        if self.max_requests is not None and self.max_requests <= 0:
            raise ValueError(f"max_requests must be positive, not {self.max_requests}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"the timeout must be a positive number of seconds, not {self.timeout}")
        if self.limit <= 0:
            raise ValueError(f"the connection limit must be positive, not {self.limit}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "duration": self.duration,
            "max_requests": self.max_requests,
            "arrivals": "poisson" if self.poisson else "constant",
            "seed": self.seed,
            "timeout": self.timeout,
            "limit": self.limit,
        }


def _rng(purpose: str, seed: int | None) -> random.Random:
    # A string seed is hashed the same way on every run, so each purpose gets its own stream.
    return random.Random(f"remedlab-{purpose}:{seed}") if seed is not None else random.Random()


def arrival_offsets(rate: float, *, poisson: bool = False, seed: int | None = None) -> Iterator[float]:
    """Send times in seconds from the start: every 1/rate, or exponential gaps of mean 1/rate."""
    if poisson:
        rng = _rng("arrivals", seed)
        offset = 0.0
        while True:
            offset += rng.expovariate(rate)
            yield offset
    else:
        n = 0
        while True:
            yield n / rate
            n += 1


def classify_error(exc: BaseException) -> str:
    """The outcome of a request that raised `exc`."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect_error"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | ConnectionResetError):
        return "reset"
    if isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS:
        return "reset"
    return "other"


class OpenLoopGenerator:
    """Sends one run of load to a target and records it into `stats`."""

    def __init__(self, target: Target, mix: Mix, profile: LoadProfile) -> None:
        self.target = target
        self.mix = mix
        self.profile = profile
        self.stats = WorkloadStats()
        self.peak_in_flight = 0
        self._t0: float | None = None
        self._launch_end: float | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._launcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._request_rng = _rng("requests", profile.seed)

    @property
    def started(self) -> bool:
        return self._t0 is not None

    @property
    def launching(self) -> bool:
        return self.started and self._launch_end is None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def elapsed(self) -> float:
        """Seconds since the first send was due (0 before the run starts)."""
        if self._t0 is None:
            return 0.0
        return asyncio.get_running_loop().time() - self._t0

    def complete_seconds(self) -> int:
        """Seconds of the run whose requests have all been sent: the whole run once launching ended."""
        if self._launch_end is not None:
            return math.ceil(self._launch_end)
        return math.floor(self.elapsed())

    async def run(self) -> WorkloadStats:
        """Send the whole run, wait for the requests still out (each bounded by the timeout)."""
        if self.started:
            raise RuntimeError("a generator runs once")
        connector = aiohttp.TCPConnector(limit=self.profile.limit, use_dns_cache=False)
        async with aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            self._launcher = asyncio.create_task(self._launch(session))
            try:
                await asyncio.wait([self._launcher])
                if not self._launcher.cancelled() and (error := self._launcher.exception()) is not None:
                    raise error
                while self._in_flight:
                    await asyncio.wait(list(self._in_flight))
            finally:
                self._launcher.cancel()
                pending = [self._launcher, *self._in_flight]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                if self._launch_end is None:
                    self._launch_end = self.elapsed()
        return self.stats

    def stop(self, drain: bool = True) -> None:
        """Send nothing more; with drain=False also abandon the requests still out."""
        self._stopping = True
        if self._launcher is not None:
            self._launcher.cancel()
        elif self._t0 is None:
            self._launch_end = 0.0
        if not drain:
            for task in list(self._in_flight):
                task.cancel()

    async def _launch(self, session: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()
        profile = self.profile
        self._t0 = t0 = loop.time()
        self.stats.started_at = time.time()
        sent = 0
        try:
            for offset in arrival_offsets(profile.rate, poisson=profile.poisson, seed=profile.seed):
                if self._stopping:
                    break
                if profile.duration is not None and offset >= profile.duration:
                    self._launch_end = profile.duration
                    break
                if profile.max_requests is not None and sent >= profile.max_requests:
                    break
                delay = t0 + offset - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                request = self.mix.next_request(self._request_rng)
                url = self.target.url(request.path)
                now = loop.time() - t0
                self.stats.record_sent(offset, lag=max(0.0, now - offset), kind=request.name)
                task = asyncio.create_task(self._send(session, url, request, offset))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))
                sent += 1
        finally:
            if self._launch_end is None:
                self._launch_end = loop.time() - t0

    async def _send(self, session: aiohttp.ClientSession, url: URL, request: RenderedRequest, offset: float) -> None:
        loop = asyncio.get_running_loop()
        options: dict[str, Any] = {}
        if isinstance(request.body, str):
            options["data"] = request.body
        elif request.body is not None:
            options["json"] = request.body
        began = loop.time()
        try:
            async with session.request(
                request.method,
                url,
                headers=request.headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.profile.timeout),
                **options,
            ) as response:
                await response.read()
                status = response.status
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.stats.record_result(offset, loop.time() - began, classify_error(exc), request.name)
            return
        outcome = "ok" if status in request.expect_status else f"http_{status}"
        self.stats.record_result(offset, loop.time() - began, outcome, request.name)


class WorkloadRunner(Workload):
    """One run of load in the background of the running event loop.

    runner = WorkloadRunner(Target(cluster_ip, 5000), mix, LoadProfile(rate=20, duration=300))
    async with runner:
        await asyncio.sleep(30)
        recent = runner.window(10)  # the last 10 whole seconds
    """

    def __init__(self, target: Target, mix: Mix, profile: LoadProfile) -> None:
        self.target = target
        self.mix = mix
        self.profile = profile
        self.generator = OpenLoopGenerator(target, mix, profile)
        self._task: asyncio.Task[WorkloadStats] | None = None

    @property
    def stats(self) -> WorkloadStats:
        return self.generator.stats

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    async def start(self) -> None:
        """Begin sending in a background task of the running loop."""
        if self._task is not None:
            raise RuntimeError("this runner has already been started")
        self._task = asyncio.create_task(self.generator.run(), name=f"remedlab-load-{self.target}")

    async def wait(self) -> Summary:
        """Wait until the run ends by its bounds (and its last requests finish); the whole run's summary."""
        if self._task is None:
            raise RuntimeError("start the runner first")
        await asyncio.shield(self._task)
        return self.summary()

    async def stop(self, drain: bool = True) -> Summary:
        """End the run now; with drain, wait (at most the timeout) for the requests still out."""
        if self._task is None:
            self.generator.stop(drain=False)
            return self.summary()
        self.generator.stop(drain=drain)
        await self._task
        return self.summary()

    def complete_seconds(self) -> int:
        return self.generator.complete_seconds()

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready: the target, the profile, the elapsed time and every per-second bucket."""
        snapshot = self.stats.snapshot()
        snapshot.update(
            target=str(self.target),
            profile=self.profile.to_dict(),
            elapsed_s=self.generator.elapsed() if self.running else float(self.generator.complete_seconds()),
            running=self.running,
        )
        return snapshot

    async def __aenter__(self) -> WorkloadRunner:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop(drain=exc_type is None)
