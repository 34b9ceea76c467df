"""What sets the kubelet's pod workers going: the changes of the pods bound to this node.

A queue of pod keys fed by the Pod informer: a pod bound here (or bound here
before its change) is handed to `Kubelet.sync_pod`, which starts its worker,
applies an image change, terminates it gracefully when the pod is deleted, or
stops a worker whose pod is gone.

A pod's changes are batched for BATCH_SECONDS before its sync: the burst a new
pod makes (created, bound, its first status) is one sync, and the API server's
own work on those changes (responses, watch events) goes out before the
kubelet's blocking work of setting up a sandbox and starting processes.
"""

from __future__ import annotations

from remedlab.api.kinds import Obj
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of, split_key
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.node.kubelet import Kubelet

BATCH_SECONDS = 0.01


class PodSync(QueueController[str]):
    def __init__(self, informers: InformerFactory, kubelet: Kubelet, events: EventRecorder) -> None:
        super().__init__("kubelet", events)
        self.kubelet = kubelet
        self.pods = informers.informer("Pod")
        self.pods.add_handler(EventHandler.each(self._enqueue))

    def _bound_here(self, pod: Obj) -> bool:
        return bool(pod["spec"].get("nodeName") == self.kubelet.node_name)

    def _enqueue(self, pod: Obj) -> None:
        if self._bound_here(pod):
            self.queue.add_after(key_of(pod), BATCH_SECONDS)

    def involved_object(self, key: str) -> Obj | None:
        return self.pods.get(key)

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        pod = self.pods.get(key)
        # the kubelet keeps its own copy: the informer's objects are shared
        self.kubelet.sync_pod(namespace, name, clone(pod) if pod is not None and self._bound_here(pod) else None)
