"""A controller as in Kubernetes' sample-controller: workers that sync one key at a time off a work queue.

Event handlers queue keys; a worker takes a key, calls `sync(key)` and hands it
back. A sync that succeeds resets the key's back-off. One that fails is retried
after the key's back-off delay (doubling up to a minute), and its error neither
stops the other keys nor vanishes: it is logged, and it becomes a Warning Event
(reason FailedSync, one line) on the object, when the controller can name it. A
Conflict (the object changed since it was read) is only retried: the next sync
reads the newer object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Generic, Literal, Protocol, TypeVar

from remedlab.api.errors import Conflict
from remedlab.api.kinds import Obj
from remedlab.cluster.controllers.workqueue import WorkQueue

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

FAILED_SYNC = "FailedSync"
MESSAGE_LIMIT = 512


class EventSink(Protocol):
    """Where a controller's Events go (event_recorder.EventRecorder, or a client's recorder)."""

    def record(
        self,
        obj: Obj,
        reason: str,
        message: str,
        type_: Literal["Normal", "Warning"] = "Normal",
        component: str = "kubelet",
        field_path: str | None = None,
    ) -> None: ...


def one_line(exc: BaseException) -> str:
    """An error as one line: its type and message."""
    text = " ".join(str(exc).split()) or "no detail"
    message = f"{type(exc).__name__}: {text}"
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


class QueueController(ABC, Generic[K]):
    def __init__(self, name: str, events: EventSink, workers: int = 1) -> None:
        self.name = name
        """The controller's component name, as its Events carry it (e.g. replicaset-controller)."""
        self.events = events
        self.queue: WorkQueue[K] = WorkQueue(name)
        self.workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    @abstractmethod
    async def sync(self, key: K) -> None:
        """Bring the object of ``key`` to what it should be; raise to have it retried with back-off."""

    def involved_object(self, key: K) -> Obj | None:
        """The object a failed sync of ``key`` is reported on (None: only logged)."""
        return None

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        """Start the workers (on the event loop)."""
        self._tasks = [asyncio.create_task(self._work(), name=f"{self.name}-{i}") for i in range(max(1, self.workers))]

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: K) -> bool:
        """Sync ``key`` once, handling its outcome; True if it succeeded."""
        try:
            await self.sync(key)
        except asyncio.CancelledError:
            raise
        except Conflict as exc:
            log.debug("%s: %s changed while syncing, retrying: %s", self.name, key, exc)
            self.queue.add_rate_limited(key)
            return False
        except Exception as exc:
            self.report(key, exc)
            self.queue.add_rate_limited(key)
            return False
        self.queue.forget(key)
        return True

    def report(self, key: K, exc: Exception) -> None:
        message = one_line(exc)
        retries = self.queue.retries(key)
        log.warning("%s: syncing %s failed (retry %d): %s", self.name, key, retries + 1, message)
        if retries == 0:
            log.debug("%s: the first failure of %s", self.name, key, exc_info=exc)
        try:
            obj = self.involved_object(key)
            if obj is not None:
                self.events.record(obj, FAILED_SYNC, message, "Warning", component=self.name)
        except Exception as record_error:
            log.warning("%s: could not record the failure of %s: %s", self.name, key, one_line(record_error))
