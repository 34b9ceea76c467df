"""Deployments → ReplicaSets: one ReplicaSet per pod template, rolling between them.

A template change makes (or revives, on undo) the ReplicaSet of that template
and rolls pods over with maxSurge / maxUnavailable (default 1 / 0: a new pod
must be Ready before an old one goes). Revisions are numbered on the
ReplicaSets, so `rollout history` and `rollout undo` work as in Kubernetes.

Triggered by its Deployment's changes and by every change of a ReplicaSet it
controls (their status carries the rollout forward). A rollout in progress
brings its Deployment back when its progress deadline passes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso, parse_time
from remedlab.cluster.apiserver.registry import CHANGE_CAUSE
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.revisions import (
    HASH_LABEL,
    REVISION_ANNOTATION,
    controller_ref,
    owned_by,
    owner_reference,
    revision_of,
    template_hash,
    template_without_hash,
)

DEADLINE_MARGIN = 0.5
"""Seconds past a progress deadline at which the Deployment is looked at again (its times are whole seconds)."""


def _resolve(value: int | str, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        fraction = float(text[:-1]) / 100 * total
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(text)


class DeploymentController(QueueController[str]):
    def __init__(self, informers: InformerFactory, store: Store, events: EventRecorder) -> None:
        super().__init__("deployment-controller", events)
        self.store = store
        self.deployments = informers.informer("Deployment")
        self.replicasets = informers.informer("ReplicaSet")
        self.deployments.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.replicasets.add_handler(EventHandler.each(self._enqueue_owner))

    def _enqueue(self, deployment: Obj) -> None:
        self.queue.add(key_of(deployment))

    def _enqueue_owner(self, rs: Obj) -> None:
        ref = controller_ref(rs)
        if ref is not None and ref.get("kind") == "Deployment":
            self.queue.add(f"{rs['metadata']['namespace']}/{ref['name']}")

    def involved_object(self, key: str) -> Obj | None:
        return self.deployments.get(key)

    def _owned(self, deployment: Obj) -> list[Obj]:
        return [rs for rs in self.replicasets.objects(deployment["metadata"]["namespace"]) if owned_by(rs, deployment)]

    async def sync(self, key: str) -> None:
        deployment = self.deployments.get(key)
        if deployment is not None:
            self._sync(deployment)

    # ------------------------------------------------------------------

    def _scale(self, rs: Obj, replicas: int, deployment: Obj) -> Obj:
        if int(rs["spec"].get("replicas", 0)) == replicas:
            return rs
        old = int(rs["spec"].get("replicas", 0))
        rs = clone(rs)
        rs["spec"]["replicas"] = replicas
        rs["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
            deployment["spec"].get("replicas", 1)
        )
        updated = self.store.update(rs, check_rv=True)
        verb = "up" if replicas > old else "down"
        self.events.record(
            deployment,
            "ScalingReplicaSet",
            f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {replicas}",
            component=self.name,
        )
        return updated

    def _new_replicaset(self, deployment: Obj, replicasets: list[Obj]) -> Obj:
        template = template_without_hash(deployment["spec"]["template"])
        for existing_rs in replicasets:
            if template_without_hash(existing_rs["spec"]["template"]) == template:
                return existing_rs
        hash_ = template_hash(template)
        name = f"{deployment['metadata']['name']}-{hash_}"
        revision = max([revision_of(r) for r in replicasets] + [0]) + 1
        rs_template = clone(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_
        selector = clone(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_
        annotations = {
            REVISION_ANNOTATION: str(revision),
            "deployment.kubernetes.io/desired-replicas": str(deployment["spec"].get("replicas", 1)),
        }
        cause = (deployment["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": deployment["metadata"]["namespace"],
                "labels": {**(template.get("metadata", {}).get("labels") or {}), HASH_LABEL: hash_},
                "annotations": annotations,
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {
                "replicas": 0,
                "selector": selector,
                "template": rs_template,
                "minReadySeconds": deployment["spec"].get("minReadySeconds", 0),
            },
        }
        existing = self.replicasets.get_object(rs["metadata"]["namespace"], name)
        if existing is not None:  # same hash left over from an earlier deployment of that name
            self.store.delete("ReplicaSet", rs["metadata"]["namespace"], name)
        return self.store.create(rs)

    def _sync(self, deployment: Obj) -> None:
        if deployment["metadata"].get("deletionTimestamp"):
            return
        spec = deployment["spec"]
        replicasets = self._owned(deployment)
        new_rs = self._new_replicaset(deployment, replicasets)
        olds = [rs for rs in replicasets if rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        max_revision = max([revision_of(r) for r in olds] + [0])
        if revision_of(new_rs) <= max_revision and olds:
            # rollback to this template: it becomes the newest revision
            new_rs = clone(new_rs)
            new_rs["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(max_revision + 1)
            cause = (deployment["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
            if cause:
                new_rs["metadata"]["annotations"][CHANGE_CAUSE] = cause
            else:
                new_rs["metadata"]["annotations"].pop(CHANGE_CAUSE, None)
            new_rs = self.store.update(new_rs, check_rv=True)

        want = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        if not spec.get("paused"):
            if strategy.get("type") == "Recreate":
                self._recreate(deployment, new_rs, olds, want)
            else:
                rolling = strategy.get("rollingUpdate") or {}
                surge = _resolve(rolling.get("maxSurge", 1), want, round_up=True)
                unavailable = _resolve(rolling.get("maxUnavailable", 0), want, round_up=False)
                if surge == 0 and unavailable == 0:
                    unavailable = 1
                self._rolling(deployment, new_rs, olds, want, surge, unavailable)
        self._cleanup(deployment)
        self._status(deployment, new_rs)

    def _recreate(self, deployment: Obj, new_rs: Obj, olds: list[Obj], want: int) -> None:
        running_old = 0
        for rs in olds:
            if int(rs["spec"].get("replicas", 0)) > 0:
                self._scale(rs, 0, deployment)
            running_old += int(rs.get("status", {}).get("replicas", 0))
        if running_old == 0:
            self._scale(new_rs, want, deployment)

    def _rolling(
        self, deployment: Obj, new_rs: Obj, olds: list[Obj], want: int, surge: int, max_unavailable: int
    ) -> None:
        new_spec = int(new_rs["spec"].get("replicas", 0))
        old_spec = sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
        # scale the new ReplicaSet up within the surge allowance
        if new_spec > want:
            new_rs = self._scale(new_rs, want, deployment)
        elif new_spec < want:
            allowed = want + surge - (new_spec + old_spec)
            if allowed > 0:
                new_rs = self._scale(new_rs, min(want, new_spec + allowed), deployment)
        if not olds:
            return
        # scale old ReplicaSets down: unhealthy pods first, then as availability allows
        new_available = int(new_rs.get("status", {}).get("availableReplicas", 0))
        old_available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in olds)
        min_available = want - max_unavailable
        can_remove = new_available + old_available - min_available
        for rs in sorted(olds, key=revision_of):
            current = int(rs["spec"].get("replicas", 0))
            if current == 0:
                continue
            unhealthy = max(0, current - int(rs.get("status", {}).get("availableReplicas", 0)))
            healthy_removal = max(0, min(current - unhealthy, can_remove))
            target = current - unhealthy - healthy_removal
            # never drop below what is needed while the new pods are not yet up
            if target != current:
                can_remove -= healthy_removal
                self._scale(rs, max(0, target), deployment)

    def _cleanup(self, deployment: Obj) -> None:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        replicasets = self._owned(deployment)
        current = template_without_hash(deployment["spec"]["template"])
        idle = [
            rs
            for rs in replicasets
            if int(rs["spec"].get("replicas", 0)) == 0
            and int(rs.get("status", {}).get("replicas", 0)) == 0
            and template_without_hash(rs["spec"]["template"]) != current
        ]
        idle.sort(key=revision_of)
        for rs in idle[: max(0, len(idle) - limit)]:
            self.store.delete("ReplicaSet", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _status(self, deployment: Obj, new_rs: Obj) -> None:
        fresh = self.deployments.get(key_of(deployment))
        if fresh is None:
            return
        replicasets = self._owned(fresh)
        want = int(fresh["spec"].get("replicas", 1))
        total = sum(int(rs.get("status", {}).get("replicas", 0)) for rs in replicasets)
        ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in replicasets)
        available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in replicasets)
        new_now = next((rs for rs in replicasets if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        updated = int(new_now.get("status", {}).get("replicas", 0))
        old_conditions = {c["type"]: c for c in (fresh.get("status") or {}).get("conditions") or []}
        now = now_iso()

        def cond(type_: str, status: str, reason: str, message: str) -> dict[str, str]:
            previous = old_conditions.get(type_)
            transition = (
                previous["lastTransitionTime"]
                if previous and previous.get("status") == status and previous.get("lastTransitionTime")
                else now
            )
            update_time = previous.get("lastUpdateTime", now) if previous and previous.get("reason") == reason else now
            return {
                "type": type_,
                "status": status,
                "reason": reason,
                "message": message,
                "lastUpdateTime": update_time,
                "lastTransitionTime": transition,
            }

        name = new_now["metadata"]["name"]
        min_available = want - _resolve(
            ((fresh["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 0),
            want,
            round_up=False,
        )
        conditions = [
            cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            if available >= min_available
            else cond(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        ]
        complete = updated == want and total == want and available >= want
        progressing = old_conditions.get("Progressing")
        if complete:
            conditions.append(
                cond(
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{name}" has successfully progressed.',
                )
            )
        elif (
            progressing is not None
            and progressing.get("reason") == "NewReplicaSetAvailable"
            and progressing.get("message") == f'ReplicaSet "{name}" has successfully progressed.'
        ):
            # as Kubernetes: a rollout that finished stays finished when its pods fall sick later
            conditions.append(progressing)
        else:
            started = parse_time(progressing.get("lastUpdateTime")) if progressing else None
            deadline = int(fresh["spec"].get("progressDeadlineSeconds", 600))
            stalled = (
                progressing is not None
                and progressing.get("reason") != "NewReplicaSetAvailable"
                and started is not None
                and (datetime.now(UTC) - started).total_seconds() > deadline
            )
            if stalled or (progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded"):
                conditions.append(
                    cond(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        f'ReplicaSet "{name}" has timed out progressing.',
                    )
                )
            else:
                conditions.append(
                    cond("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
                )
        status = {
            "observedGeneration": fresh["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, want - available),
            "conditions": conditions,
        }
        revision = str(revision_of(new_now))
        if (
            fresh.get("status") != status
            or (fresh["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION) != revision
        ):
            fresh = clone(fresh)
            fresh["status"] = status
            fresh["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = revision
            self.store.update(fresh, check_rv=True)
        self._watch_deadline(fresh, conditions[-1])

    def _watch_deadline(self, deployment: Obj, progressing: dict[str, str]) -> None:
        """A rollout in progress is looked at again when its progress deadline passes."""
        if progressing.get("reason") != "ReplicaSetUpdated":
            return
        started = parse_time(progressing.get("lastUpdateTime"))
        if started is None:
            return
        deadline = int(deployment["spec"].get("progressDeadlineSeconds", 600))
        remaining = deadline - (datetime.now(UTC) - started).total_seconds()
        self.queue.add_after(key_of(deployment), max(0.0, remaining) + DEADLINE_MARGIN)
