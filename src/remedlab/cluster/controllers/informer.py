"""Informers: each kind's objects cached in the process, kept current by the store's changes.

As client-go's shared informers: an informer lists its kind once, then follows
every change. It keeps the objects by key (`namespace/name`, or `name` for a
cluster-scoped kind) with an index by namespace, and tells its event handlers
of each addition, update and deletion. Controllers read the caches instead of
the store, and their handlers queue the keys to sync: their own objects' and
related ones' (a Pod's change queues its ReplicaSet).

The informers of one factory follow a single change feed (change_feed.py), so
their caches agree with each other and with the order of writes, and a write
made on the event loop is in the caches when it returns. They are read and
changed on the loop's thread only. The objects in a cache are shared: copy one
before changing it.

With a resync period, every cached object is handed to its handlers again as an
update (old and new the same) each period, as client-go's resync does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.controllers.change_feed import ChangeFeed, copied

log = logging.getLogger(__name__)


def key_of(obj: Obj) -> str:
    """An object's key: `namespace/name`, or `name` for a cluster-scoped object."""
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name) of a key; the namespace is empty for a cluster-scoped object."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


@dataclass(frozen=True, eq=False)
class EventHandler:
    """What an informer calls on its loop's thread as its objects change. Handlers should be quick
    (queue keys); they are told of every object already cached when they are added."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None

    @classmethod
    def each(cls, fn: Callable[[Obj], None]) -> EventHandler:
        """``fn`` of every object a change concerns: the added one, the deleted one, and both the old
        and the new of an update (a change of labels or owner concerns both)."""

        def update(old: Obj, new: Obj) -> None:
            if old is not new:
                fn(old)
            fn(new)

        return cls(fn, update, fn)


class Informer:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Obj] = {}
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        self._handlers: list[EventHandler] = []
        self._synced_rv: int | None = None

    # ------------------------------------------------------------------ reading

    @property
    def has_synced(self) -> bool:
        return self._synced_rv is not None

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_object(self, namespace: str | None, name: str) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def objects(self, namespace: str | None = None) -> list[Obj]:
        """The cached objects, of one namespace when given."""
        if namespace:
            return list(self._by_namespace.get(namespace, {}).values())
        return list(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    # ------------------------------------------------------------------ handlers

    def add_handler(self, handler: EventHandler) -> EventHandler:
        self._handlers.append(handler)
        if self.has_synced and handler.on_add is not None:
            for obj in list(self._items.values()):
                _call(handler.on_add, obj)
        return handler

    def remove_handler(self, handler: EventHandler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    # ------------------------------------------------------------------ fed by the factory

    def replace(self, objects: list[Obj], rv: int) -> None:
        """The initial list, as of resourceVersion ``rv``: later changes up to ``rv`` are in it already."""
        self._items.clear()
        self._by_namespace.clear()
        for obj in objects:
            self._store(key_of(obj), obj)
        self._synced_rv = rv
        for obj in objects:
            for handler in list(self._handlers):
                if handler.on_add is not None:
                    _call(handler.on_add, obj)

    def apply(self, change: Change) -> None:
        if self._synced_rv is None or change.rv <= self._synced_rv:
            return
        obj = change.obj
        key = key_of(obj)
        if change.type == "DELETED":
            self._remove(key)
            for handler in list(self._handlers):
                if handler.on_delete is not None:
                    _call(handler.on_delete, obj)
            return
        old = self._items.get(key)
        self._store(key, obj)
        for handler in list(self._handlers):
            if old is None:
                if handler.on_add is not None:
                    _call(handler.on_add, obj)
            elif handler.on_update is not None:
                _call(handler.on_update, old, obj)

    def resync(self) -> None:
        for obj in list(self._items.values()):
            for handler in list(self._handlers):
                if handler.on_update is not None:
                    _call(handler.on_update, obj, obj)

    def _store(self, key: str, obj: Obj) -> None:
        self._items[key] = obj
        self._by_namespace.setdefault(str(obj["metadata"].get("namespace") or ""), {})[key] = obj

    def _remove(self, key: str) -> None:
        obj = self._items.pop(key, None)
        if obj is None:
            return
        namespace = str(obj["metadata"].get("namespace") or "")
        members = self._by_namespace.get(namespace)
        if members is not None:
            members.pop(key, None)
            if not members:
                del self._by_namespace[namespace]


def _call(fn: Callable[..., None], *args: Obj) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("an informer's event handler failed")


ChangeHandler = Callable[[Change], None]


class InformerFactory:
    """The informers of one store, fed by one change feed; `start` lists and starts following."""

    def __init__(self, store: Store, resync_period: float | None = None) -> None:
        self.store = store
        self.resync_period = resync_period
        self._informers: dict[str, Informer] = {}
        self._change_handlers: list[ChangeHandler] = []
        self._feed = ChangeFeed(store, self._consume, self._select)
        self._resync_task: asyncio.Task[None] | None = None
        self._started = False

    def informer(self, kind: str) -> Informer:
        """The informer of ``kind``, made on first use (listed at once if the factory has started)."""
        informer = self._informers.get(kind)
        if informer is None:
            informer = Informer(kind)
            with self.store.lock:
                self._informers[kind] = informer
                if self._started:
                    self._list(informer)
        return informer

    def on_change(self, handler: ChangeHandler) -> None:
        """``handler`` of every change of every kind but Events, after the informers took it in.
        The objects of kinds without an informer are the store's own: only read them."""
        self._change_handlers.append(handler)

    def start(self) -> None:
        """List every informer's kind and follow the store from there; call it on the event loop."""
        with self.store.lock:
            self._started = True
            for informer in self._informers.values():
                self._list(informer)
            self._feed.start()
        if self.resync_period:
            self._resync_task = asyncio.create_task(self._resync(self.resync_period))

    def stop(self) -> None:
        self._feed.stop()
        if self._resync_task is not None:
            self._resync_task.cancel()
            self._resync_task = None

    def _list(self, informer: Informer) -> None:
        informer.replace(self.store.list_objects(informer.kind), self.store.resource_version())

    def _select(self, change: Change) -> Change | None:
        if change.kind in self._informers:
            return copied(change)
        if self._change_handlers and change.kind != "Event":
            return change
        return None

    def _consume(self, change: Change) -> None:
        informer = self._informers.get(change.kind)
        if informer is not None:
            informer.apply(change)
        for handler in list(self._change_handlers):
            try:
                handler(change)
            except Exception:
                log.exception("a change handler failed")

    async def _resync(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            for informer in list(self._informers.values()):
                informer.resync()
