"""StatefulSets → pods with stable names (`NAME-0`, `NAME-1`...), each with its own claims.

As Kubernetes' StatefulSet controller does it:

- **OrderedReady** (the default) creates the pods in ordinal order, each once
  the one before is Running and Ready (and available for minReadySeconds), and
  removes the pods scaled away from the highest ordinal down, one at a time and
  only while the others are healthy. **Parallel** creates and removes them all
  at once.
- A pod gets `hostname` = its name and `subdomain` = `serviceName` (its DNS
  name through the headless service), the labels
  `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
  `controller-revision-hash`, and one claim per volumeClaimTemplate,
  `<template>-<statefulset>-<ordinal>`, mounted as the volume of the
  template's name. Claims outlive their pods; they are deleted with the
  StatefulSet or on scale down only as `persistentVolumeClaimRetentionPolicy`
  says (Retain by default).
- Templates are kept as ControllerRevisions (controller_history.py). A
  **RollingUpdate** replaces pods from the highest ordinal down to `partition`,
  one at a time, each once the others are healthy; **OnDelete** only gives a
  deleted pod the new template. A pod that failed or ended is replaced.

Triggered by its StatefulSet's changes and by every change of a pod it controls.
"""

from __future__ import annotations

import contextlib
from typing import Any

from remedlab.api.conditions import is_available, is_ready, is_terminating, until_available
from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.api.workloads import StatefulSetSpec
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.controller_history import ControllerHistory, template_of
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.revisions import controller_ref, owned_by, owner_reference

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"


def ordinal_of(set_name: str, pod: Obj) -> int | None:
    """The ordinal of a StatefulSet's pod from its name (`web-2` → 2); None for another name."""
    prefix, _, suffix = str(pod["metadata"]["name"]).rpartition("-")
    if prefix != set_name or not suffix.isdigit():
        return None
    return int(suffix)


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    return f"{template}-{set_name}-{ordinal}"


def revision_of_pod(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def is_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_running_and_available(pod: Obj, min_ready: int) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_available(pod, min_ready)


class StatefulSetController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, api: ObjectAPI, events: EventRecorder) -> None:
        super().__init__("statefulset-controller", events)
        self.store = store
        self.api = api
        self.sets = informers.informer("StatefulSet")
        self.pods = informers.informer("Pod")
        self.claims = informers.informer("PersistentVolumeClaim")
        self.history = ControllerHistory(store, informers.informer("ControllerRevision"), HASH_LABEL)
        self.sets.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.pods.add_handler(EventHandler.each(self._enqueue_owner))

    def _enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def _enqueue_owner(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "StatefulSet":
            self.queue.add(f"{pod['metadata']['namespace']}/{ref['name']}")

    def involved_object(self, key: str) -> Obj | None:
        return self.sets.get(key)

    def _owned_pods(self, sts: Obj) -> dict[int, Obj]:
        name = sts["metadata"]["name"]
        pods: dict[int, Obj] = {}
        for pod in self.pods.objects(sts["metadata"]["namespace"]):
            ordinal = ordinal_of(name, pod)
            if ordinal is not None and owned_by(pod, sts):
                pods[ordinal] = pod
        return pods

    async def sync(self, key: str) -> None:
        sts = self.sets.get(key)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return  # its pods and revisions go with it (garbage collector)
        spec = StatefulSetSpec.model_validate(sts["spec"])
        update = self.history.update_revision(sts)
        revisions = {r["metadata"]["name"]: r for r in self.history.owned(sts)}
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = revisions.get(str(current_name)) if current_name else None
        if current is None:
            current = update
        self._reconcile(sts, spec, current, update)
        self._retire_claims(sts, spec)
        self._status(key, spec, current, update)
        fresh = self.sets.get(key)
        if fresh is not None:
            status = fresh.get("status") or {}
            in_use = {str(status.get("currentRevision")), str(status.get("updateRevision"))}
            in_use |= {revision_of_pod(p) for p in self._owned_pods(fresh).values()}
            self.history.truncate(fresh, in_use, spec.revision_history_limit)

    # ------------------------------------------------------------------ pods

    def _reconcile(self, sts: Obj, spec: StatefulSetSpec, current: Obj, update: Obj) -> None:
        """One step toward the wanted pods; returns early where the ordering makes it wait."""
        start = spec.ordinals.start if spec.ordinals else 0
        wanted = range(start, start + spec.replicas)
        ordered = spec.pod_management_policy == "OrderedReady"
        pods = self._owned_pods(sts)
        min_ready = spec.min_ready_seconds
        for ordinal in wanted:
            pod = pods.get(ordinal)
            if pod is None:
                rolling = spec.update_strategy.type == "RollingUpdate"
                partition = spec.update_strategy.rolling_update.partition if spec.update_strategy.rolling_update else 0
                revision = current if rolling and ordinal < start + partition else update
                self._create_pod(sts, spec, revision, ordinal)
                if ordered:
                    return
                continue
            if is_finished(pod) and not is_terminating(pod):
                failed = pod["status"].get("phase") == "Failed"
                self.events.record(
                    sts,
                    "RecreatingFailedPod" if failed else "RecreatingTerminatedPod",
                    f"StatefulSet {key_of(sts)} is recreating {'failed' if failed else 'terminated'} "
                    f"Pod {pod['metadata']['name']}",
                    "Warning",
                    component=self.name,
                )
                self._delete_pod(sts, pod)
                if ordered:
                    return
                continue
            self._ensure_claims(sts, spec, ordinal, pod["metadata"]["name"])
            if ordered and not is_running_and_available(pod, min_ready):
                self._recheck_availability(sts, pod, min_ready)
                return
        healthy = all(
            (p := pods.get(o)) is not None and not is_terminating(p) and is_running_and_available(p, min_ready)
            for o in wanted
        )
        for ordinal in sorted((o for o in pods if o not in wanted), reverse=True):
            pod = pods[ordinal]
            if is_terminating(pod):
                if ordered:
                    return
                continue
            if ordered and not healthy:
                return
            self._delete_pod(sts, pod)
            if ordered:
                return
        if spec.update_strategy.type != "RollingUpdate":
            return
        partition = spec.update_strategy.rolling_update.partition if spec.update_strategy.rolling_update else 0
        update_name = update["metadata"]["name"]
        for ordinal in sorted((o for o in wanted if o >= start + partition), reverse=True):
            pod = pods.get(ordinal)
            if pod is None or is_terminating(pod):
                return
            if revision_of_pod(pod) != update_name:
                if healthy:
                    self._delete_pod(sts, pod)
                return
            if not is_running_and_available(pod, min_ready):
                return

    def _recheck_availability(self, sts: Obj, pod: Obj, min_ready: int) -> None:
        if min_ready > 0 and (wait := until_available(pod, min_ready)) is not None:
            self.queue.add_after(key_of(sts), wait + 0.05)

    def _create_pod(self, sts: Obj, spec: StatefulSetSpec, revision: Obj, ordinal: int) -> None:
        name = f"{sts['metadata']['name']}-{ordinal}"
        self._ensure_claims(sts, spec, ordinal, name)
        template = template_of(revision)
        meta = template.get("metadata") or {}
        pod_spec: dict[str, Any] = clone(template["spec"])
        pod_spec["hostname"] = name
        if spec.service_name:
            pod_spec["subdomain"] = spec.service_name
        set_name = sts["metadata"]["name"]
        claims = {t.metadata.name: claim_name(t.metadata.name, set_name, ordinal) for t in spec.volume_claim_templates}
        volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
        volumes += [{"name": t, "persistentVolumeClaim": {"claimName": c}} for t, c in claims.items()]
        if volumes:
            pod_spec["volumes"] = volumes
        labels = {
            **(meta.get("labels") or {}),
            REVISION_LABEL: revision["metadata"]["name"],
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(ordinal),
        }
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": sts["metadata"]["namespace"],
                "labels": labels,
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(sts)],
            },
            "spec": pod_spec,
            "status": {"phase": "Pending"},
        }
        self.store.create(pod)
        self.events.record(
            sts,
            "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {sts['metadata']['name']} successful",
            component=self.name,
        )

    def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        with contextlib.suppress(NotFound):
            self.api.delete_pod(clone(pod))
        self.events.record(
            sts,
            "SuccessfulDelete",
            f"delete Pod {pod['metadata']['name']} in StatefulSet {sts['metadata']['name']} successful",
            component=self.name,
        )

    # ------------------------------------------------------------------ claims

    def _ensure_claims(self, sts: Obj, spec: StatefulSetSpec, ordinal: int, pod_name: str) -> None:
        namespace, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        selector_labels = spec.selector.match_labels
        retention = spec.persistent_volume_claim_retention_policy
        for template in spec.volume_claim_templates:
            name = claim_name(template.metadata.name, set_name, ordinal)
            if self.claims.get_object(namespace, name) is not None:
                continue
            claim = template.to_dict()
            claim.pop("status", None)
            claim["metadata"] = {
                "name": name,
                "namespace": namespace,
                "labels": {**template.metadata.labels, **selector_labels},
                "annotations": dict(template.metadata.annotations),
            }
            if retention.when_deleted == "Delete":
                claim["metadata"]["ownerReferences"] = [owner_reference(sts)]
            self.store.create(claim)
            self.events.record(
                sts,
                "SuccessfulCreate",
                f"create Claim {name} Pod {pod_name} in StatefulSet {set_name} success",
                component=self.name,
            )

    def _retire_claims(self, sts: Obj, spec: StatefulSetSpec) -> None:
        """With `whenScaled: Delete`, the claims of the ordinals scaled away, once their pod is gone."""
        if spec.persistent_volume_claim_retention_policy.when_scaled != "Delete":
            return
        namespace, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        start = spec.ordinals.start if spec.ordinals else 0
        pods = self._owned_pods(sts)
        for template in spec.volume_claim_templates:
            prefix = f"{template.metadata.name}-{set_name}-"
            for claim in self.claims.objects(namespace):
                suffix = str(claim["metadata"]["name"]).removeprefix(prefix)
                if suffix == claim["metadata"]["name"] or not suffix.isdigit():
                    continue
                ordinal = int(suffix)
                if start <= ordinal < start + spec.replicas or ordinal in pods:
                    continue
                if not claim["metadata"].get("deletionTimestamp"):
                    with contextlib.suppress(NotFound):
                        self.api.delete("persistentvolumeclaims", namespace, claim["metadata"]["name"])

    # ------------------------------------------------------------------ status

    def _status(self, key: str, spec: StatefulSetSpec, current: Obj, update: Obj) -> None:
        sts = self.sets.get(key)
        if sts is None:
            return
        pods = list(self._owned_pods(sts).values())
        current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
        live = [p for p in pods if not is_terminating(p)]
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": sum(1 for p in pods if is_ready(p) and p["status"].get("phase") == "Running"),
            "currentReplicas": sum(1 for p in live if revision_of_pod(p) == current_name),
            "updatedReplicas": sum(1 for p in live if revision_of_pod(p) == update_name),
            "availableReplicas": sum(1 for p in pods if is_running_and_available(p, spec.min_ready_seconds)),
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": 0,
        }
        if (
            spec.update_strategy.type == "RollingUpdate"
            and status["updatedReplicas"] == status["replicas"]
            and status["readyReplicas"] == status["replicas"]
        ):
            status["currentRevision"] = update_name
            status["currentReplicas"] = status["updatedReplicas"]
        if sts.get("status") != status:
            updated = clone(sts)
            updated["status"] = status
            self.store.update(updated, check_rv=True)
