"""A controller's work queue of keys, as client-go's rate-limited work queue behaves.

- A key waiting in the queue is there once, however often it is added.
- A key is never handed to two workers at once: added while a worker holds it,
  it waits until that worker calls `done`, then is handed out again.
- `add_after` adds a key once a delay has passed (the earliest of several
  pending delays wins); `add_rate_limited` does so after a per-key delay that
  doubles with each failure (5 ms up to 60 s) until `forget` resets it.
- `shutdown` stops it: adds are ignored, `get` hands out what was waiting,
  then returns None.

It lives on one asyncio event loop (the one its first caller runs on); `add` and
`add_after` may be called from any thread and are carried over to that loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

BASE_DELAY = 0.005
MAX_DELAY = 60.0


class ExponentialBackoff(Generic[K]):
    """Per-key retry delays: ``base`` after the first failure, doubling up to ``cap``."""

    def __init__(self, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        """The delay before retrying ``key`` now that it failed once more."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if failures >= 64:  # 2**64 * base is beyond any cap
            return self.cap
        return float(min(self.cap, self.base * 2**failures))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)


class WorkQueue(Generic[K]):
    def __init__(self, name: str, backoff: ExponentialBackoff[K] | None = None) -> None:
        self.name = name
        self.backoff: ExponentialBackoff[K] = backoff or ExponentialBackoff()
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._delayed: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    # ------------------------------------------------------------------ the loop it lives on

    def _bind(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.get_ident()
        return self._loop

    def _elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """The queue's loop when called from another thread (None on the loop's own thread, or before
        the queue has a loop: then the caller is the set-up code that will run it)."""
        if self._loop is None or threading.get_ident() == self._thread:
            return None
        return self._loop

    def _call_on_loop(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: object) -> None:
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the queue is gone with it
            pass

    # ------------------------------------------------------------------ adding

    def add(self, key: K) -> None:
        loop = self._elsewhere()
        if loop is not None:
            self._call_on_loop(loop, self._add, key)
        else:
            self._add(key)

    def _add(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # handed out again once its worker is done
        self._queue.append(key)
        self._wake_one()

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed (at once for a delay of 0 or less)."""
        loop = self._elsewhere()
        if loop is not None:
            self._call_on_loop(loop, self._add_after, key, delay)
        else:
            self._add_after(key, delay)

    def _add_after(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self._add(key)
            return
        loop = self._bind()
        ready = loop.time() + delay
        pending = self._delayed.get(key)
        if pending is not None:
            if pending[0] <= ready:
                return
            pending[1].cancel()
        self._delayed[key] = (ready, loop.call_at(ready, self._fire, key))

    def _fire(self, key: K) -> None:
        self._delayed.pop(key, None)
        self._add(key)

    def add_rate_limited(self, key: K) -> None:
        """Add ``key`` again after its back-off delay, which doubles with each call until `forget`."""
        self.add_after(key, self.backoff.when(key))

    def forget(self, key: K) -> None:
        """``key`` was processed successfully: its next failure starts the back-off afresh."""
        self.backoff.forget(key)

    def retries(self, key: K) -> int:
        return self.backoff.failures(key)

    # ------------------------------------------------------------------ taking

    async def get(self) -> K | None:
        """The next key, which the caller must hand back with `done`; None once shut down and empty."""
        loop = self._bind()
        while not self._queue:
            if self._shutting_down:
                return None
            waiter: asyncio.Future[None] = loop.create_future()
            self._getters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        """The worker is finished with ``key``; if it was added meanwhile, it is queued again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # ------------------------------------------------------------------ state

    def shutdown(self) -> None:
        self._shutting_down = True
        for _ready, timer in self._delayed.values():
            timer.cancel()
        self._delayed.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Keys waiting to be handed out (not those being processed, nor those delayed)."""
        return len(self._queue)

    def delayed(self) -> int:
        """Keys waiting for their `add_after` delay."""
        return len(self._delayed)
