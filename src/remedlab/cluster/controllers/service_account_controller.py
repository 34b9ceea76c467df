"""Gives every namespace its ``default`` ServiceAccount, as kube-controller-manager's
serviceaccount controller does: made when the namespace appears, made again if deleted, never in
a namespace being deleted."""

from __future__ import annotations

import contextlib

from remedlab.api.errors import AlreadyExists
from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController

DEFAULT_ACCOUNT = "default"


class ServiceAccountController(QueueController[str]):
    def __init__(self, informers: InformerFactory, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("serviceaccount-controller", events)
        self.api = api
        self.namespaces = informers.informer("Namespace")
        self.accounts = informers.informer("ServiceAccount")
        self.namespaces.add_handler(EventHandler(lambda ns: self.queue.add(key_of(ns))))
        self.accounts.add_handler(EventHandler(on_delete=self._account_deleted))

    def _account_deleted(self, account: Obj) -> None:
        if account["metadata"]["name"] == DEFAULT_ACCOUNT:
            self.queue.add(account["metadata"]["namespace"])

    def involved_object(self, key: str) -> Obj | None:
        return self.namespaces.get(key)

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(key)
        if namespace is None or namespace["metadata"].get("deletionTimestamp"):
            return
        if self.accounts.get(f"{key}/{DEFAULT_ACCOUNT}") is not None:
            return
        metadata = {"name": DEFAULT_ACCOUNT, "namespace": key}
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}
        with contextlib.suppress(AlreadyExists):
            self.api.create(account)
