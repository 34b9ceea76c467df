"""Following objects through a Kubernetes API's watch (see ``Backend.watch``): a list first, whose objects
come as ADDED events, then the watch from its resourceVersion. A watch the server ends is resumed
from the last version seen; one that expired (410) lists afresh and reports what changed meanwhile."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx

from remedlab.api.client import WatchEvent
from remedlab.api.errors import Expired, error_from_status
from remedlab.api.kinds import KindInfo, api_path
from remedlab.kube.api_client import KubeApi, raise_for_status

log = logging.getLogger(__name__)

Obj = dict[str, Any]
WATCH_SECONDS = 300
RETRY_SECONDS = 1.0


def typed(info: KindInfo, obj: Obj) -> Obj:
    """A list's item carries no kind: give it the one the API's objects have."""
    obj.setdefault("kind", info.kind)
    obj.setdefault("apiVersion", info.api_version)
    return obj


class ApiWatch:
    """A watch of some resources of one namespace (or all), merged into one stream of events."""

    def __init__(self, api: KubeApi, kinds: list[KindInfo], namespace: str | None) -> None:
        self.api = api
        self.kinds = kinds
        self.namespace = namespace
        self._events: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[WatchEvent]:
        if not self._tasks and not self._closed:
            self._tasks = [asyncio.create_task(self._follow(info), name=f"watch-{info.plural}") for info in self.kinds]
        while not self._closed:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for task in self._tasks:
                task.cancel()
            self._events.put_nowait(None)

    def _put(self, kind: Literal["ADDED", "MODIFIED", "DELETED"], obj: Obj) -> None:
        self._events.put_nowait(WatchEvent(kind, obj))

    async def _follow(self, info: KindInfo) -> None:
        path = api_path(info, self.namespace)
        known: dict[str, Obj] = {}
        version = ""
        try:
            async with self.api.async_client(timeout=WATCH_SECONDS + 30) as client:
                while not self._closed:
                    try:
                        if not version:
                            version = await self._relist(client, info, path, known)
                        version = await self._stream(client, info, path, version, known)
                    except Expired:
                        version = ""
                    except (httpx.HTTPError, ValueError) as exc:
                        log.warning("watch of %s broke, resuming: %s", info.plural, exc)
                        await asyncio.sleep(RETRY_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the watch ends: the reader sees the stream stop
            log.warning("watch of %s failed: %s: %s", info.plural, type(exc).__name__, exc)
            self.close()

    async def _relist(self, client: httpx.AsyncClient, info: KindInfo, path: str, known: dict[str, Obj]) -> str:
        response = await client.get(path)
        raise_for_status(response)
        listed = response.json()
        seen: dict[str, Obj] = {}
        for item in listed.get("items") or []:
            obj = typed(info, item)
            uid = str(obj["metadata"].get("uid"))
            seen[uid] = obj
            before = known.get(uid)
            if before is None:
                self._put("ADDED", obj)
            elif before["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._put("MODIFIED", obj)
        for uid, gone in known.items():
            if uid not in seen:
                self._put("DELETED", gone)
        known.clear()
        known.update(seen)
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    async def _stream(
        self, client: httpx.AsyncClient, info: KindInfo, path: str, version: str, known: dict[str, Obj]
    ) -> str:
        params = {
            "watch": "1",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        async with client.stream("GET", path, params=params) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_for_status(response)
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise error_from_status(obj, int(obj.get("code") or 500))
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind == "BOOKMARK":
                    continue
                obj = typed(info, obj)
                uid = str(obj["metadata"].get("uid"))
                if kind == "DELETED":
                    known.pop(uid, None)
                    self._put("DELETED", obj)
                elif kind in ("ADDED", "MODIFIED"):
                    known[uid] = obj
                    self._put("ADDED" if kind == "ADDED" else "MODIFIED", obj)
        return version
