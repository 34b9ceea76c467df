"""Where the zone's records come from: the informers' caches on the running cluster (kept current by
the store's changes, read without a query), or the store itself."""

from __future__ import annotations

from collections.abc import Iterable

from remedlab.api.kinds import Obj
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.informer import InformerFactory


class InformerObjects:
    """The cluster's objects as the informers of ``informers`` hold them."""

    def __init__(self, informers: InformerFactory) -> None:
        self._services = informers.informer("Service")
        self._endpoints = informers.informer("Endpoints")
        self._pods = informers.informer("Pod")
        self._namespaces = informers.informer("Namespace")

    def service(self, namespace: str, name: str) -> Obj | None:
        return self._services.get_object(namespace, name)

    def services(self) -> Iterable[Obj]:
        return self._services.objects()

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self._endpoints.get_object(namespace, name)

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self._pods.get_object(namespace, name)

    def pods(self, namespace: str) -> Iterable[Obj]:
        return self._pods.objects(namespace)

    def namespace_exists(self, namespace: str) -> bool:
        return self._namespaces.get_object(None, namespace) is not None


class StoreObjects:
    """The cluster's objects read from its store at each question."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.store.get("Service", namespace, name)

    def services(self) -> Iterable[Obj]:
        return self.store.list_objects("Service")

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self.store.get("Endpoints", namespace, name)

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self.store.get("Pod", namespace, name)

    def pods(self, namespace: str) -> Iterable[Obj]:
        return self.store.list_objects("Pod", namespace)

    def namespace_exists(self, namespace: str) -> bool:
        return self.store.get("Namespace", None, namespace) is not None
