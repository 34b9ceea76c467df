"""A watch as kube-apiserver streams it: newline-separated ``{"type", "object"}`` events.

- From a resourceVersion: every later change (410 ``Expired`` as an ERROR event when it is older
  than the cache keeps). Without one, or ``"0"``: synthetic ADDED events for what exists, then changes.
- ``sendInitialEvents=true``: the ADDED events, then a BOOKMARK annotated
  ``k8s.io/initial-events-end`` (the streaming-list protocol of newer clients).
- Label and field selectors apply to both the old and the new state of an object, so an object that
  stops matching is DELETED from the watcher's view and one that starts matching is ADDED.
- ``allowWatchBookmarks``: a BOOKMARK with the current resourceVersion when the stream is idle.
- ``timeoutSeconds`` ends the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from remedlab.api.errors import BadRequest, ClusterError
from remedlab.api.kinds import KindInfo, Obj
from remedlab.api.meta import WatchEventType
from remedlab.cluster.apiserver.responses import json_bytes
from remedlab.cluster.apiserver.store import Change, Store
from remedlab.cluster.apiserver.watch_cache import WatchCache

BOOKMARK_SECONDS = 10.0
DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

Matcher = Callable[[Obj], bool]
Render = Callable[[Obj], Obj]


@dataclass(frozen=True)
class WatchParams:
    resource_version: str | None = None
    allow_bookmarks: bool = False
    timeout_seconds: float | None = None
    send_initial_events: bool | None = None


def parse_rv(text: str | None) -> int | None:
    """A resourceVersion as a number; None for unset and "0" (any version: start from the state now)."""
    if text in (None, "", "0"):
        return None
    try:
        return int(str(text))
    except ValueError:
        raise BadRequest(f'invalid resourceVersion "{text}": use a resourceVersion the server returned') from None


def _event(type_: WatchEventType, obj: Obj) -> bytes:
    return json_bytes({"type": type_, "object": obj}) + b"\n"


def _bookmark(info: KindInfo, rv: int, initial_end: bool = False) -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta}


async def watch_events(
    store: Store,
    cache: WatchCache,
    info: KindInfo,
    namespace: str | None,
    params: WatchParams,
    matches: Matcher,
    render: Render,
) -> AsyncIterator[bytes]:
    since = parse_rv(params.resource_version)
    initial = since is None and params.send_initial_events is not False
    try:
        with store.lock:
            current = store.resource_version()
            existing = store.page(info.kind, namespace).objects() if initial else []
            watcher = cache.watch(frozenset({info.kind}), namespace, since)
    except ClusterError as exc:
        yield _event("ERROR", exc.status())
        return
    deadline = time.monotonic() + (params.timeout_seconds if params.timeout_seconds else DEFAULT_TIMEOUT)
    try:
        for obj in existing:
            if matches(obj):
                yield _event("ADDED", render(obj))
        if params.send_initial_events and params.allow_bookmarks:
            yield _event("BOOKMARK", _bookmark(info, current, initial_end=True))
        last_rv = since or current
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            change = await watcher.next(min(remaining, BOOKMARK_SECONDS))
            if change is None:
                if params.allow_bookmarks and time.monotonic() < deadline:
                    last_rv = max(last_rv, store.resource_version())
                    yield _event("BOOKMARK", _bookmark(info, last_rv))
                continue
            last_rv = change.rv
            out = _filtered(change, matches)
            if out is not None:
                yield _event(out[0], render(out[1]))
            await asyncio.sleep(0)
    finally:
        watcher.close()


def _filtered(change: Change, matches: Matcher) -> tuple[WatchEventType, Obj] | None:
    """The event a selector-filtered watcher sees for ``change``, if any."""
    now = matches(change.obj) if change.type != "DELETED" else False
    before = change.old is not None and matches(change.old)
    if change.type == "ADDED":
        return ("ADDED", change.obj) if now else None
    if change.type == "DELETED":
        return ("DELETED", change.obj) if before or matches(change.obj) else None
    if now and before:
        return ("MODIFIED", change.obj)
    if now:
        return ("ADDED", change.obj)
    if before:
        return ("DELETED", change.obj)
    return None


async def static_watch(objects: list[Obj], params: WatchParams, render: Render) -> AsyncIterator[bytes]:
    """A watch of a computed kind: what exists now, then nothing until the timeout."""
    for obj in objects:
        yield _event("ADDED", render(obj))
    await asyncio.sleep(params.timeout_seconds if params.timeout_seconds else DEFAULT_TIMEOUT)
