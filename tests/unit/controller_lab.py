"""Controllers on a real store and informers, without a kubelet: a node, a namespace, the controllers a
test names, started and stopped around it; the test plays the kubelet where it needs one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import InformerFactory
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.dataplane.ipam import AddressPool

NODE = "node-1"


class ControllerLab:
    """A store with a Node (``node_labels``) and the Namespace ``namespace``; subclasses add controllers."""

    def __init__(self, home: Path, namespace: str, node_labels: dict[str, str]) -> None:
        self.namespace = namespace
        self.store = Store(home / "cluster.db")
        self.events = EventRecorder(self.store, NODE)
        self.api = ObjectAPI(self.store, self.events, AddressPool("10.96.0.0/16"))
        self.informers = InformerFactory(self.store)
        self.store.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": node_labels}})
        self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        self.controllers: list[QueueController[Any]] = []

    def reasons(self, kind: str, name: str) -> list[str]:
        """The reasons of the Events recorded about one object."""
        return [
            e["reason"]
            for e in self.store.list_objects("Event", self.namespace)
            if e["involvedObject"]["kind"] == kind and e["involvedObject"]["name"] == name
        ]


Lab = TypeVar("Lab", bound=ControllerLab)


@asynccontextmanager
async def running(lab: Lab) -> AsyncIterator[Lab]:
    """``lab`` with its informers and controllers running; everything stopped after."""
    lab.informers.start()
    for controller in lab.controllers:
        controller.start()
    try:
        yield lab
    finally:
        for controller in lab.controllers:
            await controller.stop()
        lab.informers.stop()
        lab.store.close()


async def until(check: Callable[[], bool], timeout: float = 10, what: str = "") -> float:
    """Wait until ``check()`` holds; the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
    return time.monotonic() - started
