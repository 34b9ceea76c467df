"""The cluster's API semantics: validation, defaults, apply, patch, delete, rollouts.

This is what kube-apiserver does for the kinds the embedded cluster serves;
controllers and the kubelet then reconcile the stored state.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from remedlab.api.errors import AlreadyExists, BadRequest, Conflict, Invalid, NotFound, UnsupportedMediaType
from remedlab.api.kinds import BY_KIND, BY_PLURAL, CHAOS_KINDS, KindInfo, Obj
from remedlab.api.meta import DeleteOptions
from remedlab.api.times import now_iso
from remedlab.cluster.apiserver.field_selectors import matches_field_selector
from remedlab.cluster.apiserver.job_defaults import with_job_selector
from remedlab.cluster.apiserver.patching import (
    ApplyConflict,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    server_side_apply,
    three_way_apply,
)
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.apiserver.validation import FieldValidation, validate_object, validate_with
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.dataplane.ipam import AddressPool

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"

ApplyAction = Literal["created", "configured", "unchanged"]
PatchType = Literal["json", "merge", "strategic", "apply"]

_OWNED_KINDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("ReplicaSet",),
    "ReplicaSet": ("Pod",),
    "StatefulSet": ("Pod", "ControllerRevision", "PersistentVolumeClaim"),
    "DaemonSet": ("Pod", "ControllerRevision"),
    "Job": ("Pod",),
}
"""The kinds whose objects an owner of a kind controls (followed by propagation policies)."""
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp")


def kind_of(resource: str) -> KindInfo:
    info = BY_PLURAL.get(resource) or BY_KIND.get(resource)
    if info is None:
        raise NotFound(f'the server could not find the requested resource "{resource}"')
    return info


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
        if obj["kind"] == "Job":
            with_job_selector(obj)
        if obj["kind"] == "Namespace":
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        return obj

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
        if live["kind"] == "Job" and "selector" not in merged["spec"]:
            merged["spec"]["selector"] = live["spec"].get("selector")
            merged["metadata"]["uid"] = live["metadata"]["uid"]
            with_job_selector(merged)
        if live["kind"] == "Service":
            merged["spec"]["clusterIP"] = live["spec"].get("clusterIP")
            merged["spec"]["clusterIPs"] = live["spec"].get("clusterIPs")
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

    def patch(self, resource: str, namespace: str | None, name: str, patch_type: PatchType, patch: Any) -> Obj:
        """A patch from inside the server (strict about unknown fields): the same path as an HTTP PATCH."""
        obj, _warnings = self.patch_object(
            kind_of(resource), namespace, name, patch_type, patch, field_validation="Strict"
        )
        return obj

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

    # ------------------------------------------------------------------ the REST verbs, as the HTTP API serves them

    def create_from(
        self,
        info: KindInfo,
        doc: Any,
        namespace: str | None,
        *,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
    ) -> tuple[Obj, list[str]]:
        """POST to a collection: the object as created (not stored on a dry run) and the warnings."""
        doc = self._body_for(info, doc, namespace)
        meta = doc.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generated_name(info, str(meta["generateName"]), namespace)
        obj, warnings = validate_with(doc, namespace, field_validation)
        self._require_namespace(obj)
        if dry_run:
            if self.store.get(info.kind, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
                raise AlreadyExists.of(info.plural_qualified, obj["metadata"]["name"])
            return obj, warnings
        return self.store.create(self._defaults_on_create(obj)), warnings

    def replace_from(
        self,
        info: KindInfo,
        namespace: str | None,
        name: str,
        doc: Any,
        *,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
    ) -> tuple[Obj, list[str]]:
        """PUT of an object: optimistic concurrency on the resourceVersion the body carries."""
        doc = self._body_for(info, doc, namespace, name)
        obj, warnings = validate_with(doc, namespace, field_validation)
        live = self.store.must_get(info.kind, namespace, name)
        expected = (doc.get("metadata") or {}).get("resourceVersion")
        if expected and str(expected) != str(live["metadata"].get("resourceVersion")):
            raise Conflict.modified(info.plural_qualified, name)
        if dry_run:
            return obj, warnings
        return self._write_update(live, obj), warnings

    def replace_status_from(
        self, info: KindInfo, namespace: str | None, name: str, doc: Any, *, dry_run: bool = False
    ) -> Obj:
        """PUT of the status subresource: only the status changes."""
        doc = self._body_for(info, doc, namespace, name)
        live = self.store.must_get(info.kind, namespace, name)
        expected = (doc.get("metadata") or {}).get("resourceVersion")
        if expected and str(expected) != str(live["metadata"].get("resourceVersion")):
            raise Conflict.modified(info.plural_qualified, name)
        if dry_run:
            return {**live, "status": doc.get("status") or {}}
        return self.update_status(info.plural, namespace, name, doc.get("status") or {})

    def patch_object(
        self,
        info: KindInfo,
        namespace: str | None,
        name: str,
        patch_type: PatchType,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: FieldValidation = "Warn",
        field_manager: str | None = None,
        force: bool = False,
    ) -> tuple[Obj, list[str]]:
        """PATCH of an object or of its status. Server-side apply creates what does not exist yet (and
        its manager owns the fields it set); ``force`` takes over fields other appliers own."""
        live = self.store.get(info.kind, namespace, name)
        if live is None:
            if patch_type == "apply" and subresource is None:
                created = self._patched({}, patch_type, body, field_manager)
                return self.create_from(info, created, namespace, dry_run=dry_run, field_validation=field_validation)
            raise NotFound.of(info.plural_qualified, name)
        if patch_type == "strategic" and info.kind in CHAOS_KINDS:
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            )
        patched = self._patched(live, patch_type, body, field_manager, force)
        if not isinstance(patched, dict):
            raise Invalid("the patch must leave an object")
        meta = patched.get("metadata")
        sent_rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if sent_rv and str(sent_rv) != live["metadata"]["resourceVersion"]:
            raise Conflict.modified(info.plural_qualified, name)
        if subresource == "status":
            status = patched.get("status") or {}
            if dry_run:
                return {**live, "status": status}, []
            return self.update_status(info.plural, namespace, name, status), []
        patched.pop("status", None)
        obj, warnings = validate_with(patched, namespace, field_validation)
        if obj["kind"] != live["kind"] or obj["metadata"]["name"] != name:
            raise Invalid("a patch cannot change an object's kind or name")
        if dry_run:
            return {**obj, **({"status": live["status"]} if "status" in live else {})}, warnings
        return self._write_update(live, obj), warnings

    def patched_document(self, doc: Obj, patch_type: PatchType, body: Any) -> Any:
        """``doc`` with a JSON, merge or strategic patch applied (a subresource's document, e.g. Scale)."""
        if patch_type == "apply":
            raise UnsupportedMediaType("apply patches are not served for this subresource")
        return self._patched(doc, patch_type, body, None)

    def _patched(
        self, live: Obj, patch_type: PatchType, body: Any, field_manager: str | None, force: bool = False
    ) -> Any:
        try:
            if patch_type == "merge":
                return apply_merge_patch(live, body)
            if patch_type == "json":
                if not isinstance(body, list):
                    raise BadRequest("a json patch must be a list of operations")
                return apply_json_patch(live, body)
            if patch_type == "strategic":
                if not isinstance(body, dict):
                    raise BadRequest("a strategic merge patch must be an object")
                return apply_strategic_merge_patch(live, body)
            if not isinstance(body, dict):
                raise BadRequest("an apply patch must be an object")
            if not field_manager:
                raise BadRequest("PATCH requests with an apply patch must set the fieldManager query parameter")
            return server_side_apply(live, body, field_manager, now_iso(), force)
        except PatchError as exc:
            raise Invalid(str(exc)) from None
        except ApplyConflict as exc:
            causes = [
                {"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": path}
                for who, path in exc.conflicts
            ]
            raise Conflict(str(exc), {"causes": causes}) from None

    def delete_object(self, info: KindInfo, namespace: str | None, name: str, options: DeleteOptions) -> Obj:
        """DELETE with DeleteOptions: preconditions, grace period, propagation policy, dry run."""
        live = self.store.must_get(info.kind, namespace, name)
        preconditions = options.preconditions
        if preconditions is not None:
            if preconditions.uid and preconditions.uid != live["metadata"].get("uid"):
                raise Conflict(
                    f'Operation cannot be fulfilled on {info.plural_qualified} "{name}": Precondition failed: '
                    f"UID in precondition: {preconditions.uid}, UID in object meta: {live['metadata'].get('uid')}"
                )
            if preconditions.resource_version and preconditions.resource_version != live["metadata"].get(
                "resourceVersion"
            ):
                raise Conflict.modified(info.plural_qualified, name)
        if options.dry_run:
            return live
        policy = options.propagation_policy or ("Orphan" if options.orphan_dependents else "Background")
        if policy == "Orphan":
            self._orphan_dependents(live)
        elif policy == "Foreground":
            for dependent in self._dependents(live):
                dependent_info = BY_KIND.get(dependent["kind"])
                if dependent_info is not None:
                    with contextlib.suppress(NotFound):
                        self.delete_object(
                            dependent_info,
                            dependent["metadata"].get("namespace"),
                            dependent["metadata"]["name"],
                            DeleteOptions(propagation_policy="Foreground"),
                        )
        return self.delete(info.plural, namespace, name, options.grace_period_seconds)

    def _dependents(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"].get("uid")
        namespace = owner["metadata"].get("namespace")
        out: list[Obj] = []
        for kind in _OWNED_KINDS.get(owner["kind"], ()):
            for obj in self.store.list_objects(kind, namespace):
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                    out.append(obj)
        return out

    def _orphan_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"].get("uid")
        for dependent in self._dependents(owner):
            dependent["metadata"]["ownerReferences"] = [
                ref for ref in dependent["metadata"].get("ownerReferences") or [] if ref.get("uid") != uid
            ]
            self.store.update(dependent)

    def _body_for(self, info: KindInfo, doc: Any, namespace: str | None, name: str | None = None) -> Obj:
        """The request body as an object of ``info``'s kind, checked against the URL it was sent to."""
        if not isinstance(doc, dict):
            raise BadRequest(f"the body must be a {info.kind} object, got {type(doc).__name__}")
        doc = copy.deepcopy(doc)
        doc.setdefault("kind", info.kind)
        doc.setdefault("apiVersion", info.api_version)
        if doc["kind"] != info.kind or doc["apiVersion"] != info.api_version:
            raise BadRequest(
                f"the API version in the data ({doc['apiVersion']}) does not match the expected API version "
                f"({info.api_version}), or the kind ({doc['kind']}) is not {info.kind}"
            )
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            meta = doc["metadata"] = {}
        if info.namespaced and namespace:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        if name is not None and meta.get("name") and meta["name"] != name:
            raise BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        if name is not None:
            meta["name"] = name
        return dict(doc)

    def _generated_name(self, info: KindInfo, prefix: str, namespace: str | None) -> str:
        for _ in range(10):
            name = prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
            if self.store.get(info.kind, namespace, name) is None:
                return name
        raise AlreadyExists(f"could not generate a free name from {prefix!r}: try again")
