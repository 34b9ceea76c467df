"""DaemonSets → one pod on every node the template's nodeSelector admits (the embedded cluster has one).

As Kubernetes' DaemonSet controller does it: each daemon pod is pinned to its
node by a required node affinity on `metadata.name` (the scheduler binds it),
tolerates the node conditions' taints, and carries `controller-revision-hash`
and `pod-template-generation`. A node without its pod gets one; a failed pod is
replaced; extra pods and pods on nodes that no longer qualify are deleted.

Templates are kept as ControllerRevisions (controller_history.py). A
**RollingUpdate** replaces old pods while at most `maxUnavailable` nodes lack
an available pod (with `maxSurge`, the new pod starts next to the old one,
which goes once the new one is available); **OnDelete** only gives a deleted
pod the new template.

Triggered by its DaemonSet's changes, by every change of a pod it controls and
by every change of a node.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from remedlab.api.conditions import is_available, is_ready, is_terminating, until_available
from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.api.workloads import DaemonSetSpec
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.controller_history import ControllerHistory, template_of
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.replicaset_controller import pod_suffix
from remedlab.cluster.controllers.revisions import controller_ref, owned_by, owner_reference

REVISION_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
DAEMON_TOLERATIONS: tuple[dict[str, str], ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
"""The tolerations Kubernetes adds to every daemon pod."""


def node_affinity(node: str) -> dict[str, Any]:
    """The affinity that pins a daemon pod to ``node``."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod runs on, or is pinned to before it is scheduled."""
    if pod["spec"].get("nodeName"):
        return str(pod["spec"]["nodeName"])
    required = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return None


def _resolve(value: int | str, total: int) -> int:
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        return math.ceil(float(text[:-1]) / 100 * total)
    return int(text)


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class DaemonSetController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("daemonset-controller", events)
        self.store = store
        self.api = api
        self.sets = informers.informer("DaemonSet")
        self.pods = informers.informer("Pod")
        self.nodes = informers.informer("Node")
        self.history = ControllerHistory(store, informers.informer("ControllerRevision"), REVISION_LABEL)
        self.sets.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.pods.add_handler(EventHandler.each(self._enqueue_owner))
        self.nodes.add_handler(EventHandler.each(self._enqueue_all))

    def _enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def _enqueue_all(self, _node: Obj) -> None:
        for ds in self.sets.objects():
            self.queue.add(key_of(ds))

    def _enqueue_owner(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "DaemonSet":
            self.queue.add(f"{pod['metadata']['namespace']}/{ref['name']}")

    def involved_object(self, key: str) -> Obj | None:
        return self.sets.get(key)

    def _pods_by_node(self, ds: Obj) -> dict[str, list[Obj]]:
        by_node: dict[str, list[Obj]] = {}
        for pod in self.pods.objects(ds["metadata"]["namespace"]):
            node = target_node(pod) if owned_by(pod, ds) else None
            if node is not None:
                by_node.setdefault(node, []).append(pod)
        for pods in by_node.values():
            pods.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "")
        return by_node

    def _eligible_nodes(self, spec: DaemonSetSpec) -> list[str]:
        selector = spec.template.spec.node_selector
        return sorted(
            str(node["metadata"]["name"])
            for node in self.nodes.objects()
            if not node["metadata"].get("deletionTimestamp")
            and all((node["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        )

    async def sync(self, key: str) -> None:
        ds = self.sets.get(key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return  # its pods and revisions go with it (garbage collector)
        spec = DaemonSetSpec.model_validate(ds["spec"])
        update = self.history.update_revision(ds)
        update_hash = self.history.hash_of(update)
        eligible = self._eligible_nodes(spec)
        self._reconcile(ds, spec, update, eligible)
        if spec.update_strategy.type == "RollingUpdate":
            self._roll(ds, spec, update, update_hash, eligible)
        self._status(key, spec, update_hash, eligible)
        fresh = self.sets.get(key)
        if fresh is not None:
            hashes = {
                str((p["metadata"].get("labels") or {}).get(REVISION_LABEL))
                for ps in self._pods_by_node(fresh).values()
                for p in ps
            }
            in_use = {update["metadata"]["name"]} | {f"{ds['metadata']['name']}-{h}" for h in hashes}
            self.history.truncate(fresh, in_use, spec.revision_history_limit)

    # ------------------------------------------------------------------

    def _reconcile(self, ds: Obj, spec: DaemonSetSpec, update: Obj, eligible: list[str]) -> None:
        surge = spec.update_strategy.type == "RollingUpdate" and _resolve(
            (spec.update_strategy.rolling_update.max_surge if spec.update_strategy.rolling_update else 0), len(eligible)
        )
        for node, pods in self._pods_by_node(ds).items():
            if node not in eligible:
                for pod in pods:
                    self._delete(ds, pod)
        by_node = self._pods_by_node(ds)
        for node in eligible:
            pods = by_node.get(node, [])
            for pod in pods:
                if (pod.get("status") or {}).get("phase") == "Failed" and not is_terminating(pod):
                    self.events.record(
                        ds,
                        "FailedDaemonPod",
                        f"Found failed daemon pod {key_of(pod)} on node {node}, will try to kill it",
                        "Warning",
                        component=self.name,
                    )
                    self._delete(ds, pod)
            live = [p for p in pods if not is_terminating(p) and not _finished(p)]
            if not live:
                self._create(ds, update, node)
            elif len(live) > (2 if surge else 1):
                for pod in live[(2 if surge else 1) :]:
                    self._delete(ds, pod)

    def _roll(self, ds: Obj, spec: DaemonSetSpec, update: Obj, update_hash: str, eligible: list[str]) -> None:
        rolling = spec.update_strategy.rolling_update
        max_surge = _resolve(rolling.max_surge, len(eligible)) if rolling else 0
        max_unavailable = _resolve(rolling.max_unavailable, len(eligible)) if rolling else 1
        if max_surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        min_ready = spec.min_ready_seconds
        by_node = self._pods_by_node(ds)

        def is_new(pod: Obj) -> bool:
            return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL) == update_hash

        unavailable = 0
        candidates: list[tuple[Obj, Obj | None]] = []
        for node in eligible:
            live = [p for p in by_node.get(node, []) if not is_terminating(p) and not _finished(p)]
            old = next((p for p in live if not is_new(p)), None)
            new = next((p for p in live if is_new(p)), None)
            if not any(is_available(p, min_ready) for p in live):
                unavailable += 1
            if old is not None:
                candidates.append((old, new))
        surged = 0
        for old, new in candidates:
            if max_surge > 0:
                if new is None:
                    if surged < max_surge:
                        self._create(ds, update, str(target_node(old)))
                        surged += 1
                elif is_available(new, min_ready):
                    self._delete(ds, old)
                else:
                    self._recheck(ds, new, min_ready)
                continue
            if not is_available(old, min_ready):
                self._delete(ds, old)
            elif unavailable < max_unavailable:
                self._delete(ds, old)
                unavailable += 1

    def _recheck(self, ds: Obj, pod: Obj, min_ready: int) -> None:
        if min_ready > 0 and (wait := until_available(pod, min_ready)) is not None:
            self.queue.add_after(key_of(ds), wait + 0.05)

    def _create(self, ds: Obj, revision: Obj, node: str) -> None:
        template = template_of(revision)
        meta = template.get("metadata") or {}
        pod_spec: dict[str, Any] = clone(template["spec"])
        affinity = dict(pod_spec.get("affinity") or {})
        affinity.update(node_affinity(node))
        pod_spec["affinity"] = affinity
        tolerations = list(pod_spec.get("tolerations") or [])
        pod_spec["tolerations"] = tolerations + [t for t in DAEMON_TOLERATIONS if t not in tolerations]
        name = f"{ds['metadata']['name']}-{pod_suffix()}"
        labels = {
            **(meta.get("labels") or {}),
            REVISION_LABEL: self.history.hash_of(revision),
            GENERATION_LABEL: str(ds["metadata"].get("generation", 1)),
        }
        self.store.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ds["metadata"]["namespace"],
                    "labels": labels,
                    "annotations": dict(meta.get("annotations") or {}),
                    "ownerReferences": [owner_reference(ds)],
                },
                "spec": pod_spec,
                "status": {"phase": "Pending"},
            }
        )
        self.events.record(ds, "SuccessfulCreate", f"Created pod: {name}", component=self.name)

    def _delete(self, ds: Obj, pod: Obj) -> None:
        if is_terminating(pod):
            return
        with contextlib.suppress(NotFound):
            self.api.delete_pod(clone(pod))
        self.events.record(ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=self.name)

    def _status(self, key: str, spec: DaemonSetSpec, update_hash: str, eligible: list[str]) -> None:
        ds = self.sets.get(key)
        if ds is None:
            return
        by_node = self._pods_by_node(ds)
        min_ready = spec.min_ready_seconds
        current = ready = available = updated = misscheduled = 0
        for node, pods in by_node.items():
            live = [p for p in pods if not is_terminating(p) and not _finished(p)]
            if node not in eligible:
                misscheduled += 1 if live else 0
                continue
            if not live:
                continue
            current += 1
            if any(is_ready(p) for p in live):
                ready += 1
            if any(is_available(p, min_ready) for p in live):
                available += 1
            else:
                self._recheck(ds, live[0], min_ready)
            if any((p["metadata"].get("labels") or {}).get(REVISION_LABEL) == update_hash for p in live):
                updated += 1
        status: dict[str, Any] = {
            "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": len(eligible),
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
            "numberUnavailable": max(0, len(eligible) - available),
        }
        if ds.get("status") != status:
            fresh = clone(ds)
            fresh["status"] = status
            self.store.update(fresh, check_rv=True)
