"""Open-loop load against an app's entry service from a background thread, for fault tests."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from typing import Any

from remedlab.apps.catalog import get_app
from remedlab.observe.workload.generator import LoadProfile, Target, WorkloadRunner
from remedlab.observe.workload.mix import Mix, load_app_mix
from remedlab.observe.workload.stats import Summary


class BackgroundLoad:
    def __init__(
        self, host: str, port: int, app: str, rate: float = 20.0, duration: float = 900.0, mix: Mix | None = None
    ) -> None:
        mix = mix or load_app_mix(get_app(app))
        self.runner = WorkloadRunner(Target(host, port), mix, LoadProfile(rate=rate, duration=duration, timeout=6.0))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> BackgroundLoad:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.runner.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.runner.stop(drain=False), self.loop).result(20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def window(self, seconds: float) -> Summary:
        async def read() -> Summary:
            return self.runner.window(seconds)

        return asyncio.run_coroutine_threadsafe(read(), self.loop).result(10)

    def window_by_kind(self, seconds: float) -> dict[str, Summary]:
        async def read() -> dict[str, Summary]:
            return self.runner.window_by_kind(seconds)

        return asyncio.run_coroutine_threadsafe(read(), self.loop).result(10)

    def measure(self, seconds: float) -> Summary:
        """Wait `seconds` (plus time for the last requests to finish), then summarise those seconds."""
        time.sleep(seconds + 1.2)
        return self.window(seconds)


def check_mix_answered(host: str, port: int, app: str, rate: float = 10.0, seconds: float = 12.0) -> Summary:
    """The app's mix at a modest rate is answered well, with only timeouts (a host busy with other work)
    allowed among the few failures; then every kind of request, sent in equal shares (a kind weighing 0.5 %
    may not come up at all in a short window of the real mix), is answered. Rate goals are measured on a
    quiet host by benchmarks/steady_load.py."""
    mix = load_app_mix(get_app(app))
    window = _answered_at_rate(host, port, app, mix, rate, seconds)
    assert window.requests >= 0.95 * rate * seconds, window
    even = Mix(tuple(replace(request, weight=1.0) for request in mix.requests), mix.service, mix.port)
    even_seconds = max(4.0, 10.0 * len(even.requests) / rate)
    _answered_at_rate(host, port, app, even, rate, even_seconds, every_kind=True)
    return window


def _answered_at_rate(
    host: str, port: int, app: str, mix: Mix, rate: float, seconds: float, every_kind: bool = False
) -> Summary:
    with BackgroundLoad(host, port, app, rate=rate, mix=mix) as load:
        time.sleep(2)  # the caches warm up, as in any steady state
        window = load.measure(seconds)
        kinds = load.window_by_kind(seconds)
    print(f"{app} at {rate:g} req/s{' in equal shares' if every_kind else ''}: {window}")
    for kind, row in sorted(kinds.items()):
        print(f"  {kind}: {row.requests} requests, {row.success_rate:.4f} ok, p50 {row.p50_ms} ms, p99 {row.p99_ms} ms")
    assert set(window.errors) <= {"timeout"} and window.success_rate >= 0.99, (window, kinds)
    if every_kind:
        answered = {kind for kind, row in kinds.items() if row.successes}
        assert answered == {request.label for request in mix.requests}, (sorted(answered), kinds)
    return window
