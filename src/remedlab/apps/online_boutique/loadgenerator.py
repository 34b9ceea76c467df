"""loadgenerator: simulated shoppers browsing, filling carts and checking out against the frontend.

Each user keeps its own cookies, starts on the home page, then picks a task
by weight (data/loadgenerator.json) and waits 1 to 10 seconds between tasks.
Failures are logged as they happen and a summary line is written every 30 s.
SIGTERM or SIGINT stops the users and writes a last summary.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from remedlab.apps.kit.discovery import ServiceNotFoundError, resolve_address
from remedlab.apps.kit.structured_log import get_logger
from remedlab.apps.online_boutique.data_files import load_json

SERVICE = "loadgenerator"
CONFIG_FILE = "loadgenerator.json"
DEFAULT_USERS = 10
DEFAULT_FRONTEND = "frontend:80"
SUMMARY_INTERVAL = 30.0
REQUEST_TIMEOUT = 60.0
"""Seconds a user waits for a page: Locust's FastHttpUser's network timeout, longer than the frontend's
own wait for an order, so that a slow shop shows as slow pages before it shows as failures."""
STOP_GRACE = 3.0
WAIT_FOR_FRONTEND_POLL = 1.0

log = get_logger(SERVICE)


@dataclass(frozen=True)
class LoadConfig:
    weights: Mapping[str, float]
    min_wait: float
    max_wait: float
    currencies: tuple[str, ...]
    products: tuple[str, ...]
    max_quantity: int
    checkout: Mapping[str, str]
    card_years_ahead: int

    @classmethod
    def from_json(cls, data: Any) -> LoadConfig:
        weights = {str(k): float(v) for k, v in data["tasks"].items()}
        unknown = set(weights) - set(TASKS)
        if unknown:
            raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {sorted(TASKS)}")
        return cls(
            weights=weights,
            min_wait=float(data["wait_seconds"]["min"]),
            max_wait=float(data["wait_seconds"]["max"]),
            currencies=tuple(str(c) for c in data["currencies"]),
            products=tuple(str(p) for p in data["products"]),
            max_quantity=int(data["max_quantity"]),
            checkout={str(k): str(v) for k, v in data["checkout"].items()},
            card_years_ahead=int(data["card_expiration_years_ahead"]),
        )

    def checkout_form(self, today: datetime.date) -> dict[str, str]:
        """The order form: the configured fields and a card that expires some years from ``today``."""
        year = today.year + self.card_years_ahead
        return {**self.checkout, "credit_card_expiration_year": str(year)}

    def pick_task(self, rng: random.Random) -> str:
        names = list(self.weights)
        return rng.choices(names, weights=[self.weights[n] for n in names])[0]


@dataclass
class Tally:
    """Requests and failures since the start, and latencies since the last summary."""

    requests: int = 0
    failures: int = 0
    by_task: Counter[str] = field(default_factory=Counter)
    window_latencies: list[float] = field(default_factory=list)
    window_failures: int = 0
    window_started: float = field(default_factory=time.monotonic)

    def record(self, task: str, seconds: float, ok: bool) -> None:
        self.requests += 1
        self.by_task[task] += 1
        self.window_latencies.append(seconds)
        if not ok:
            self.failures += 1
            self.window_failures += 1

    def summary(self) -> dict[str, object]:
        """The numbers of the window that ends now (and the totals); starts a new window."""
        now = time.monotonic()
        latencies = sorted(self.window_latencies)
        elapsed = max(now - self.window_started, 1e-9)
        line: dict[str, object] = {
            "requests": len(latencies),
            "failures": self.window_failures,
            "rps": round(len(latencies) / elapsed, 2),
            "p50_ms": _percentile_ms(latencies, 0.50),
            "p95_ms": _percentile_ms(latencies, 0.95),
            "total_requests": self.requests,
            "total_failures": self.failures,
            "by_task": dict(self.by_task),
        }
        self.window_latencies = []
        self.window_failures = 0
        self.window_started = now
        return line


def _percentile_ms(sorted_values: list[float], quantile: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, int(quantile * len(sorted_values)))
    return round(sorted_values[index] * 1000, 1)


class User:
    """One shopper: a cookie jar, a random generator and the tasks it runs."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, config: LoadConfig, tally: Tally) -> None:
        self.base_url = base_url
        self.session = session
        self.config = config
        self.tally = tally
        self.rng = random.Random()

    async def request(self, task: str, method: str, path: str, form: Mapping[str, str] | None = None) -> bool:
        started = time.monotonic()
        ok = False
        try:
            async with self.session.request(
                method, self.base_url + path, data=form, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            ) as response:
                await response.read()
                ok = response.status < 400
                if not ok:
                    redirected = f" (redirected to {response.url.path})" if response.history else ""
                    log.warning(
                        f"{task}: {method} {path} answered {response.status}{redirected}",
                        task=task,
                        method=method,
                        path=path,
                        final_path=response.url.path,
                        status=response.status,
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning(f"{task}: {method} {path} failed: {reason}", task=task, method=method, path=path)
        self.tally.record(task, time.monotonic() - started, ok)
        return ok

    async def index(self) -> None:
        await self.request("index", "GET", "/")

    async def set_currency(self) -> None:
        await self.request(
            "setCurrency", "POST", "/setCurrency", {"currency_code": self.rng.choice(self.config.currencies)}
        )

    async def browse_product(self) -> None:
        await self.request("browseProduct", "GET", f"/product/{self.rng.choice(self.config.products)}")

    async def add_to_cart(self) -> None:
        product = self.rng.choice(self.config.products)
        await self.request("addToCart", "GET", f"/product/{product}")
        quantity = str(self.rng.randint(1, self.config.max_quantity))
        await self.request("addToCart", "POST", "/cart", {"product_id": product, "quantity": quantity})

    async def view_cart(self) -> None:
        await self.request("viewCart", "GET", "/cart")

    async def checkout(self) -> None:
        await self.add_to_cart()
        form = self.config.checkout_form(datetime.date.today())
        await self.request("checkout", "POST", "/cart/checkout", form)

    async def run(self, stop: asyncio.Event) -> None:
        task = "index"
        while not stop.is_set():
            try:
                await TASKS[task](self)
            except Exception:
                log.exception(f"{task}: unexpected error", task=task)
            task = self.config.pick_task(self.rng)
            wait = self.rng.uniform(self.config.min_wait, self.config.max_wait)
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass


TASKS: dict[str, Callable[[User], Awaitable[None]]] = {
    "index": User.index,
    "setCurrency": User.set_currency,
    "browseProduct": User.browse_product,
    "addToCart": User.add_to_cart,
    "viewCart": User.view_cart,
    "checkout": User.checkout,
}


def user_count(environ: Mapping[str, str]) -> int:
    text = environ.get("USERS", "").strip()
    count = int(text) if text else DEFAULT_USERS
    if count < 0:
        raise ValueError(f"USERS={text} must not be negative")
    return count


async def wait_for_frontend(session: aiohttp.ClientSession, base_url: str, stop: asyncio.Event) -> None:
    """Until the frontend answers its health check (or the generator is told to stop)."""
    told = False
    while not stop.is_set():
        try:
            async with session.get(base_url + "/_healthz", timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    log.info("frontend is up, starting users", url=base_url)
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        if not told:
            log.info("waiting for the frontend", url=base_url)
            told = True
        try:
            await asyncio.wait_for(stop.wait(), WAIT_FOR_FRONTEND_POLL)
        except TimeoutError:
            pass


async def report(tally: Tally, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), SUMMARY_INTERVAL)
        except TimeoutError:
            line = tally.summary()
            log.info(f"{line['requests']} requests, {line['failures']} failures in the last 30s", **line)


async def generate(environ: Mapping[str, str]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        host, port = resolve_address(environ.get("FRONTEND_ADDR", "").strip() or DEFAULT_FRONTEND, environ)
        users = user_count(environ)
        config = LoadConfig.from_json(load_json(CONFIG_FILE))
    except (ServiceNotFoundError, ValueError) as exc:
        log.error(f"cannot start: {exc}", exc=exc)
        return 1
    base_url = f"http://{host}:{port}"
    pod_ip = environ.get("REMEDLAB_POD_IP", "").strip()
    connector = aiohttp.TCPConnector(local_addr=(pod_ip, 0) if pod_ip else None, limit=users + 2)
    tally = Tally()
    sessions = [
        aiohttp.ClientSession(connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(users)
    ]
    try:
        async with aiohttp.ClientSession(connector=connector, connector_owner=False) as probe:
            await wait_for_frontend(probe, base_url, stop)
        log.info("load generator running", users=users, frontend=base_url)
        tasks = [asyncio.create_task(User(base_url, s, config, tally).run(stop)) for s in sessions]
        reporter = asyncio.create_task(report(tally, stop))
        await stop.wait()
        log.info("stopping: finishing the requests in flight", grace_seconds=STOP_GRACE)
        pending: set[asyncio.Task[None]] = set()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, reporter, return_exceptions=True)
    finally:
        for session in sessions:
            await session.close()
        await connector.close()
    line = tally.summary()
    log.info(f"stopped after {tally.requests} requests, {tally.failures} failures", **line)
    return 0


def main() -> None:
    code = asyncio.run(generate(dict(os.environ)))
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
