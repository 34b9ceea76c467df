"""Validation of objects sent to the cluster, with one-line errors naming the field."""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from remedlab.api import objects as o
from remedlab.api import rbac as r
from remedlab.api import workloads as w
from remedlab.api.errors import BadRequest, Invalid
from remedlab.api.kinds import BY_KIND, STORED_KINDS, pod_spec_of
from remedlab.api.labels import matches_label_selector

MODELS: dict[str, type[BaseModel]] = {
    "Pod": o.Pod,
    "Deployment": o.Deployment,
    "ReplicaSet": o.ReplicaSet,
    "StatefulSet": w.StatefulSet,
    "DaemonSet": w.DaemonSet,
    "ControllerRevision": w.ControllerRevision,
    "Job": w.Job,
    "Service": o.Service,
    "Endpoints": o.Endpoints,
    "ConfigMap": o.ConfigMap,
    "Secret": o.Secret,
    "Namespace": o.Namespace,
    "Node": o.Node,
    "Event": o.Event,
    "PersistentVolumeClaim": o.PersistentVolumeClaim,
    "ServiceAccount": r.ServiceAccount,
    "Role": r.Role,
    "RoleBinding": r.RoleBinding,
    "ClusterRole": r.ClusterRole,
    "ClusterRoleBinding": r.ClusterRoleBinding,
}

# Models of kinds whose schema lives outside the cluster (custom resources such as the
# chaos kinds: a CRD's schema, in Kubernetes terms), registered by their owners when the server starts.
_CUSTOM: dict[str, type[BaseModel]] = {}


def register_kind_model(kind: str, model: type[BaseModel]) -> None:
    _CUSTOM[kind] = model


def model_of(kind: str) -> type[BaseModel] | None:
    """The typed model objects of ``kind`` are validated against (None for kinds without one)."""
    return _CUSTOM.get(kind) or MODELS.get(kind)


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(error: dict[str, Any]) -> str:
    loc = _clean_loc(error["loc"])
    field = _loc(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f'{field}: unknown field "{loc[-1]}"' if loc else "unknown field"
    if kind == "missing":
        return f"{field}: Required value"
    if kind == "literal_error":
        return f"{field}: Unsupported value: {error.get('input')!r}: {error['msg']}"
    return f"{field}: Invalid value: {error.get('input')!r}: {error['msg']}"


def prune_empty(value: Any) -> Any:
    """Drop empty lists and maps, as the API server omits unset optional fields (a managed field set
    is kept whole: its leaves are empty maps)."""
    if isinstance(value, dict):
        pruned = {k: v if k in _OPAQUE else prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ({}, []) or k in _KEEP_EMPTY}
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


_KEEP_EMPTY = {"metadata", "spec", "status", "containers"}
_OPAQUE = {"fieldsV1"}


def object_title(doc: dict[str, Any]) -> str:
    kind = doc.get("kind") or "object"
    name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
    return f'{kind} "{name}"' if name else str(kind)


FieldValidation = Literal["Strict", "Warn", "Ignore"]


def validate_object(doc: Any, default_namespace: str | None = None) -> dict[str, Any]:
    """Validate one manifest document; return it normalised (defaults filled in).

    Unknown fields are errors. Raises Invalid/BadRequest with a one-line message naming the field.
    """
    obj, _warnings = validate_with(doc, default_namespace, "Strict")
    return obj


def validate_with(
    doc: Any, default_namespace: str | None, field_validation: FieldValidation
) -> tuple[dict[str, Any], list[str]]:
    """Validate as kube-apiserver does for ``fieldValidation``: Strict refuses unknown fields,
    Warn drops them with a warning each, Ignore drops them silently. Returns the object and the warnings."""
    if not isinstance(doc, dict):
        raise BadRequest(f"expected an object (a YAML/JSON mapping), got {type(doc).__name__}")
    kind = doc.get("kind")
    if not kind or not doc.get("apiVersion"):
        raise BadRequest(
            f"{'kind' if not kind else 'apiVersion'} is missing in the manifest: "
            "every document needs apiVersion and kind"
        )
    info = BY_KIND.get(str(kind))
    if info is None or not info.stored:
        raise BadRequest(
            f'no matches for kind "{kind}" in version "{doc.get("apiVersion", "")}": '
            f"remedlab serves {', '.join(sorted(k.kind for k in STORED_KINDS))}"
        )
    if doc.get("apiVersion") != info.api_version:
        raise BadRequest(
            f'{object_title(doc)}: apiVersion "{doc.get("apiVersion")}" is not served for kind {kind}; '
            f'use "{info.api_version}"'
        )
    model = model_of(info.kind)
    if model is None:
        raise BadRequest(f"{object_title(doc)}: kind {info.kind} is not served by this server")
    warnings: list[str] = []
    candidate: Any = doc
    while True:
        try:
            parsed = model.model_validate(candidate)
            break
        except ValidationError as exc:
            errors = [dict(e) for e in exc.errors()]
            unknown = [e for e in errors if e["type"] == "extra_forbidden"]
            if field_validation == "Strict" and unknown:
                fields = ", ".join(f'unknown field "{_loc(_clean_loc(e["loc"]))}"' for e in unknown)
                raise BadRequest(
                    f'{kind} in version "{info.version}" cannot be handled as a {kind}: strict decoding error: {fields}'
                ) from None
            if unknown and len(unknown) == len(errors):
                candidate = copy.deepcopy(candidate)
                for error in unknown:
                    _drop(candidate, _clean_loc(error["loc"]))
                    warnings.append(f'unknown field "{_loc(_clean_loc(error["loc"]))}"')
                continue
            first = next(e for e in errors if e["type"] != "extra_forbidden")
            raise Invalid(
                f"{object_title(doc)} is invalid: {_describe(first)}",
                details={
                    "name": (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None,
                    "group": info.group,
                    "kind": info.kind,
                    "causes": [
                        {"reason": "FieldValueInvalid", "message": _describe(e), "field": _loc(_clean_loc(e["loc"]))}
                        for e in errors
                        if e["type"] != "extra_forbidden"
                    ],
                },
            ) from None
    if field_validation == "Ignore":
        warnings = []
    out = prune_empty(parsed.model_dump(by_alias=True, exclude_none=True, mode="json"))
    meta = out["metadata"]
    name = meta.get("name") or ""
    if not name:
        raise Invalid(f"{kind} is invalid: metadata.name: Required value: name or generateName is required")
    pattern = _DNS_LABEL if info.kind in ("Namespace", "Service") else _DNS_SUBDOMAIN
    if len(name) > 253 or not pattern.match(name):
        raise Invalid(
            f'{object_title(doc)} is invalid: metadata.name: Invalid value: "{name}": a lowercase RFC 1123 '
            "name must consist of lower case alphanumeric characters, '-' or '.'"
        )
    if info.namespaced:
        meta["namespace"] = meta.get("namespace") or default_namespace or "default"
    else:
        meta.pop("namespace", None)
    _check_kind_rules(out)
    return dict(out), warnings


def _clean_loc(loc: Any) -> tuple[int | str, ...]:
    """A pydantic error location without the union-member and validator segments it adds."""
    parts = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    return tuple(p for p in parts if p not in ("int", "str", "float", "bool", "list[str]", "dict[str,str]"))


def _drop(doc: Any, loc: tuple[int | str, ...]) -> None:
    """Remove the field at ``loc`` from ``doc``."""
    target = doc
    for part in loc[:-1]:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(target, dict):
        target.pop(loc[-1], None)


SELECTED_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
"""Kinds whose pods a label selector picks, which their template's labels must match."""


def _check_kind_rules(obj: dict[str, Any]) -> None:
    title = object_title(obj)
    if obj["kind"] in SELECTED_KINDS and (obj["kind"] != "Job" or "selector" in obj["spec"]):
        spec = obj["spec"]
        selector = spec["selector"]
        labels = spec["template"].get("metadata", {}).get("labels") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            raise Invalid(f"{title} is invalid: spec.selector: Invalid value: empty selector is invalid")
        if not matches_label_selector(selector, labels):
            raise Invalid(
                f"{title} is invalid: spec.template.metadata.labels: Invalid value: {labels!r}: "
                "`selector` does not match template `labels`"
            )
    if obj["kind"] == "StatefulSet":
        for i, template in enumerate(obj["spec"].get("volumeClaimTemplates") or []):
            claim = template["metadata"].get("name") or ""
            if not _DNS_LABEL.match(claim):
                raise Invalid(
                    f'{title} is invalid: spec.volumeClaimTemplates[{i}].metadata.name: Invalid value: "{claim}": '
                    "a claim template needs a name, a lowercase RFC 1123 label"
                )
    if obj["kind"] == "Job":
        policy = obj["spec"]["template"]["spec"].get("restartPolicy")
        if policy not in ("Never", "OnFailure"):
            raise Invalid(
                f'{title} is invalid: spec.template.spec.restartPolicy: Unsupported value: "{policy}": '
                'supported values: "OnFailure", "Never"'
            )
    if obj["kind"] in (*SELECTED_KINDS, "Pod"):
        spec = pod_spec_of(obj) or {}
        prefix = "spec.template.spec" if obj["kind"] != "Pod" else "spec"
        names: set[str] = set()
        for group in ("initContainers", "containers"):
            for i, container in enumerate(spec.get(group) or []):
                if container["name"] in names:
                    raise Invalid(
                        f'{title} is invalid: {prefix}.{group}[{i}].name: Duplicate value: "{container["name"]}"'
                    )
                names.add(container["name"])
        volume_names = {v["name"] for v in spec.get("volumes") or []}
        if obj["kind"] == "StatefulSet":
            volume_names |= {t["metadata"].get("name") for t in obj["spec"].get("volumeClaimTemplates") or []}
        for group in ("initContainers", "containers"):
            for i, container in enumerate(spec.get(group) or []):
                for j, mount in enumerate(container.get("volumeMounts") or []):
                    if mount["name"] not in volume_names:
                        raise Invalid(
                            f"{title} is invalid: {prefix}.{group}[{i}].volumeMounts[{j}].name: "
                            f'Not found: "{mount["name"]}"'
                        )
    if obj["kind"] == "Service":
        for i, port in enumerate(obj["spec"].get("ports") or []):
            if port.get("targetPort") is None:
                port["targetPort"] = port["port"]
            if len(obj["spec"]["ports"]) > 1 and not port.get("name"):
                raise Invalid(f"{title} is invalid: spec.ports[{i}].name: Required value")
