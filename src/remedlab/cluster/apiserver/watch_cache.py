"""The watch cache: recent changes in resourceVersion order, fanned out to watchers.

A watch names a kind (optionally a namespace) and the resourceVersion it has
seen; it gets every later change, first from the cache's history, then live.
One older than the history is answered `410 Expired`, as kube-apiserver does
when etcd compacted it, and the client lists afresh. The history starts when
the server starts: a restarted server keeps every object but no history.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from remedlab.api.errors import Expired
from remedlab.cluster.apiserver.store import Change, Store

HISTORY = 20_000
"""Changes kept for watches that resume from an older resourceVersion."""


class Watcher:
    """One watch's queue of changes; filled from any thread, read on its event loop."""

    def __init__(self, cache: WatchCache, kinds: frozenset[str], namespace: str | None) -> None:
        self.cache = cache
        self.kinds = kinds
        self.namespace = namespace
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Change] = asyncio.Queue()
        self._loop_thread = threading.get_ident()

    def wants(self, change: Change) -> bool:
        return change.kind in self.kinds and (not self.namespace or change.namespace == self.namespace)

    def offer(self, change: Change) -> None:
        if not self.wants(change):
            return
        if threading.get_ident() == self._loop_thread:
            self.queue.put_nowait(change)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, change)

    async def next(self, timeout: float) -> Change | None:
        """The next change, or None when ``timeout`` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.cache.stop(self)


class WatchCache:
    def __init__(self, store: Store, history: int = HISTORY) -> None:
        self.store = store
        self.events: deque[Change] = deque(maxlen=history)
        self.oldest_rv = store.resource_version()
        """Watches may resume from this resourceVersion or any later one."""
        self._watchers: set[Watcher] = set()
        store.subscribe(self._on_change)

    def _on_change(self, change: Change) -> None:
        if self.events.maxlen is not None and len(self.events) == self.events.maxlen:
            self.oldest_rv = self.events[0].rv
        self.events.append(change)
        for watcher in list(self._watchers):
            watcher.offer(change)

    def watch(self, kinds: frozenset[str], namespace: str | None, since_rv: int | None) -> Watcher:
        """A watcher of ``kinds`` that gets every change after ``since_rv`` (None: only what comes next).

        Raises Expired when ``since_rv`` is older than the history kept.
        """
        watcher = Watcher(self, kinds, namespace)
        with self.store.lock:
            if since_rv is not None:
                if since_rv < self.oldest_rv:
                    raise Expired(f"too old resource version: {since_rv} ({self.oldest_rv})")
                for change in self.events:
                    if change.rv > since_rv:
                        watcher.offer(change)
            self._watchers.add(watcher)
        return watcher

    def stop(self, watcher: Watcher) -> None:
        with self.store.lock:
            self._watchers.discard(watcher)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
