"""Open-loop load against an app's entry service from a background thread, for fault tests."""

from __future__ import annotations

import asyncio
import threading
import time
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
