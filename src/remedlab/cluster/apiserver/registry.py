"""The cluster's API semantics: validation, defaults, apply, patch, delete, rollouts.

This is what kube-apiserver does for the kinds the embedded cluster serves;
controllers and the kubelet then reconcile the stored state.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from remedlab.api.errors import BadRequest, Invalid, NotFound
from remedlab.api.kinds import BY_KIND, BY_PLURAL, KindInfo, Obj
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.patching import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    three_way_apply,
)
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.apiserver.validation import validate_object
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.revisions import REVISION_ANNOTATION, owned_replicasets, revision_of
from remedlab.cluster.dataplane.ipam import AddressPool

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE = "kubernetes.io/change-cause"

ApplyAction = Literal["created", "configured", "unchanged"]
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp")


def kind_of(resource: str) -> KindInfo:
    info = BY_PLURAL.get(resource) or BY_KIND.get(resource)
    if info is None:
        raise NotFound(f'the server could not find the requested resource "{resource}"')
    return info


def _field(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    return "" if value is None else str(value)


def matches_field_selector(selector: str, obj: Obj) -> bool:
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _field(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = term.replace("==", "=").split("=", 1)
            if _field(obj, key.strip()) != value.strip():
                return False
    return True


def _strip_server_fields(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    meta.get("annotations", {}).pop(LAST_APPLIED, None)
    out.pop("status", None)
    return out


class ObjectAPI:
    def __init__(self, store: Store, events: EventRecorder, service_ips: AddressPool) -> None:
        self.store = store
        self.events = events
        self.service_ips = service_ips
        service_ips.reserve(
            s["spec"].get("clusterIP", "") for s in store.list_objects("Service") if s["spec"].get("clusterIP")
        )

    # ------------------------------------------------------------------ reads

    def list_objects(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        info = kind_of(resource)
        items = self.store.list_objects(info.kind, namespace if info.namespaced else None, label_selector)
        if field_selector:
            items = [i for i in items if matches_field_selector(field_selector, i)]
        return items

    def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        info = kind_of(resource)
        return self.store.must_get(info.kind, namespace, name)

    # ------------------------------------------------------------------ writes

    def _require_namespace(self, obj: Obj, also_created: set[str] | None = None) -> None:
        info = BY_KIND[obj["kind"]]
        if not info.namespaced:
            return
        ns = obj["metadata"]["namespace"]
        if also_created and ns in also_created:
            return
        existing = self.store.get("Namespace", None, ns)
        if existing is None:
            raise NotFound(f'namespaces "{ns}" not found')
        if existing.get("status", {}).get("phase") == "Terminating":
            raise BadRequest(
                f'{obj["kind"].lower()}s "{obj["metadata"]["name"]}" is forbidden: unable to create new content '
                f"in namespace {ns} because it is being terminated"
            )

    def _defaults_on_create(self, obj: Obj) -> Obj:
        if obj["kind"] == "Service":
            spec = obj["spec"]
            ip = spec.get("clusterIP")
            if ip in (None, "", "None"):
                spec["clusterIP"] = self.service_ips.allocate() if ip != "None" else "None"
            else:
                self.service_ips.reserve([ip])
            spec["clusterIPs"] = [spec["clusterIP"]]
        if obj["kind"] == "Deployment":
            self._record_change_cause(obj)
        if obj["kind"] == "Namespace":
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        return obj

    def _record_change_cause(self, obj: Obj) -> None:
        """Nothing to infer: the change-cause annotation, when given, flows to the ReplicaSet."""

    def create(self, doc: Any, namespace: str | None = None) -> Obj:
        obj = validate_object(doc, namespace)
        self._require_namespace(obj)
        return self.store.create(self._defaults_on_create(obj))

    def replace(self, doc: Any, namespace: str | None = None) -> Obj:
        obj = validate_object(doc, namespace)
        live = self.store.must_get(obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        return self._write_update(live, obj)

    def _write_update(self, live: Obj, new: Obj) -> Obj:
        """Store `new` in place of `live`, keeping what the server owns."""
        merged = copy.deepcopy(new)
        meta = merged["metadata"]
        for key in _SERVER_FIELDS:
            if key in live["metadata"]:
                meta[key] = live["metadata"][key]
        if "status" in live:
            merged["status"] = live["status"]
        if live["kind"] == "Service":
            merged["spec"]["clusterIP"] = live["spec"].get("clusterIP")
            merged["spec"]["clusterIPs"] = live["spec"].get("clusterIPs")
        if live["kind"] == "Deployment" and merged["spec"].get("template") != live["spec"].get("template"):
            self._record_change_cause(merged)
        return self.store.update(merged)

    def apply(self, docs: list[Any], namespace: str | None = None, dry_run: bool = False) -> list[dict[str, str]]:
        """kubectl apply: validate everything first, then create or three-way merge each object."""
        validated = []
        for i, doc in enumerate(docs):
            try:
                validated.append((doc, validate_object(doc, namespace)))
            except (Invalid, BadRequest) as exc:
                prefix = f"document {i + 1}: " if len(docs) > 1 else ""
                raise type(exc)(prefix + exc.message) from None
        new_namespaces = {o["metadata"]["name"] for _, o in validated if o["kind"] == "Namespace"}
        for _, obj in validated:
            self._require_namespace(obj, new_namespaces)
        results: list[dict[str, str]] = []
        for _, obj in validated:
            meta = obj["metadata"]
            last_applied = json.dumps(_strip_server_fields(obj), sort_keys=True, separators=(",", ":"))
            live = self.store.get(obj["kind"], meta.get("namespace"), meta["name"])
            action: ApplyAction
            if live is None:
                obj["metadata"].setdefault("annotations", {})[LAST_APPLIED] = last_applied
                if not dry_run:
                    self.store.create(self._defaults_on_create(obj))
                action = "created"
            else:
                previous_raw = (live["metadata"].get("annotations") or {}).get(LAST_APPLIED)
                previous = json.loads(previous_raw) if previous_raw else None
                merged = three_way_apply(previous, live, obj)
                merged["metadata"].setdefault("annotations", {})[LAST_APPLIED] = last_applied
                revalidated = validate_object(merged, meta.get("namespace"))
                for key in _SERVER_FIELDS:
                    if key in live["metadata"]:
                        revalidated["metadata"][key] = live["metadata"][key]
                if "status" in live:
                    revalidated["status"] = live["status"]
                if _strip_server_fields(revalidated) == _strip_server_fields(live) and (
                    revalidated["metadata"].get("annotations") == live["metadata"].get("annotations")
                ):
                    action = "unchanged"
                else:
                    if not dry_run:
                        self._write_update(live, revalidated)
                    action = "configured"
            results.append(
                {
                    "kind": obj["kind"],
                    "name": meta["name"],
                    "namespace": meta.get("namespace", ""),
                    "action": action,
                }
            )
        return results

    def patch(self, resource: str, namespace: str | None, name: str, patch_type: str, patch: Any) -> Obj:
        info = kind_of(resource)
        live = self.store.must_get(info.kind, namespace, name)
        try:
            if patch_type == "merge":
                patched = apply_merge_patch(live, patch)
            elif patch_type == "json":
                if not isinstance(patch, list):
                    raise BadRequest("a json patch must be a list of operations")
                patched = apply_json_patch(live, patch)
            elif patch_type == "strategic":
                if not isinstance(patch, dict):
                    raise BadRequest("a strategic merge patch must be an object")
                patched = apply_strategic_merge_patch(live, patch)
            else:
                raise BadRequest(f'unknown patch type "{patch_type}": use merge, json or strategic')
        except PatchError as exc:
            raise Invalid(str(exc)) from None
        if not isinstance(patched, dict):
            raise Invalid("the patch must leave an object")
        status = patched.pop("status", None)
        obj = validate_object(patched, namespace)
        if obj["kind"] != live["kind"] or obj["metadata"]["name"] != name:
            raise Invalid("a patch cannot change an object's kind or name")
        if status is not None:
            obj["status"] = status
        return self._write_update(live, obj)

    def update_status(self, resource: str, namespace: str | None, name: str, status: dict[str, Any]) -> Obj:
        """The status subresource: controllers report what they observed; the spec is untouched."""
        info = kind_of(resource)
        live = self.store.must_get(info.kind, namespace, name)
        live["status"] = status
        return self.store.update(live)

    def delete(self, resource: str, namespace: str | None, name: str, grace_seconds: int | None = None) -> Obj:
        info = kind_of(resource)
        live = self.store.must_get(info.kind, namespace, name)
        if info.kind == "Pod":
            return self.delete_pod(live, grace_seconds)
        if info.kind == "Namespace":
            if live["metadata"].get("deletionTimestamp"):
                return live
            live["metadata"]["deletionTimestamp"] = now_iso()
            live["status"] = {"phase": "Terminating"}
            return self.store.update(live)
        if live["metadata"].get("finalizers"):
            # its controller finishes the deletion (e.g. a fault recovers first), then removes the finalizer
            if not live["metadata"].get("deletionTimestamp"):
                live["metadata"]["deletionTimestamp"] = now_iso()
                live = self.store.update(live)
            return live
        if info.kind == "Service":
            self.service_ips.release(live["spec"].get("clusterIP"))
        return self.store.delete(info.kind, namespace, name)

    def delete_pod(self, pod: Obj, grace_seconds: int | None = None) -> Obj:
        meta = pod["metadata"]
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace_seconds is None else grace_seconds
        if not pod["spec"].get("nodeName") or grace_seconds == 0:
            return self.store.delete("Pod", meta["namespace"], meta["name"])
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds", grace)
            if grace >= current:
                return pod
        deadline = datetime.now(UTC) + timedelta(seconds=grace)
        meta["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["deletionGracePeriodSeconds"] = grace
        return self.store.update(pod)

    # ------------------------------------------------------------------ deployments

    def scale(self, namespace: str, name: str, replicas: int) -> Obj:
        if replicas < 0:
            raise BadRequest(f"replicas must be zero or more, got {replicas}")
        deployment = self.store.must_get("Deployment", namespace, name)
        deployment["spec"]["replicas"] = replicas
        return self.store.update(deployment)

    def restart(self, namespace: str, name: str) -> Obj:
        deployment = self.store.must_get("Deployment", namespace, name)
        template_meta = deployment["spec"]["template"].setdefault("metadata", {})
        template_meta.setdefault("annotations", {})[RESTARTED_AT] = datetime.now(UTC).isoformat()
        return self.store.update(deployment)

    def history(self, namespace: str, name: str) -> list[dict[str, Any]]:
        deployment = self.store.must_get("Deployment", namespace, name)
        revisions = []
        for rs in owned_replicasets(self.store, deployment):
            annotations = rs["metadata"].get("annotations") or {}
            revisions.append(
                {
                    "revision": revision_of(rs),
                    "changeCause": annotations.get(CHANGE_CAUSE),
                    "replicaSet": rs["metadata"]["name"],
                    "template": rs["spec"]["template"],
                }
            )
        return sorted(revisions, key=lambda r: int(r["revision"]))

    def undo(self, namespace: str, name: str, to_revision: int = 0) -> Obj:
        deployment = self.store.must_get("Deployment", namespace, name)
        history = self.history(namespace, name)
        current = int((deployment["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0") or 0)
        if to_revision:
            matches = [h for h in history if h["revision"] == to_revision]
            if not matches:
                raise BadRequest(f"unable to find specified revision {to_revision} in history")
            target = matches[0]
        else:
            older = [h for h in history if h["revision"] != current]
            if not older:
                raise BadRequest("no rollout history found for deployment " + f'"{name}"')
            target = older[-1]
        template = copy.deepcopy(target["template"])
        template.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        deployment["spec"]["template"] = template
        annotations = deployment["metadata"].setdefault("annotations", {})
        if target.get("changeCause"):
            annotations[CHANGE_CAUSE] = target["changeCause"]
        else:
            annotations.pop(CHANGE_CAUSE, None)
        updated = self.store.update(deployment)
        self.events.record(
            updated,
            "DeploymentRollback",
            f"Rolled back deployment {name} to revision {target['revision']}",
            component="deployment-controller",
        )
        return updated
