"""The ``components.schemas`` of the API's OpenAPI v3 documents, generated from remedlab's typed models.

Pydantic writes JSON Schema 2020-12; the tools that read Kubernetes' documents (``kubectl explain``,
kubectl's field-validation check, client generators) expect OpenAPI 3.0 in the shapes
kube-apiserver publishes. This module turns one into the other:

- schemas are named as Kubernetes names them (``io.k8s.api.core.v1.Pod``): ``kubectl explain``
  prints the last segment as a field's type. The types of custom kinds are named after their
  group and version (``org.chaos-mesh.v1alpha1.StressChaosSpec``);
- an optional field (``X | None``) is a plain ``X``; a reference with siblings (a description,
  list metadata) is wrapped in ``allOf``, since OpenAPI 3.0 ignores the siblings of ``$ref``;
- ``int | str`` is ``IntOrString`` and resource amounts are ``Quantity``, as in Kubernetes;
- free-form maps carry ``x-kubernetes-preserve-unknown-fields``; titles and
  ``additionalProperties: false`` are dropped (unknown fields are the server's call, by the
  request's ``fieldValidation``);
- each kind's schema carries ``x-kubernetes-group-version-kind``, and its ``apiVersion`` and
  ``kind`` fields the descriptions Kubernetes gives them.

Descriptions and list metadata (``x-kubernetes-patch-merge-key``...) come from the models themselves.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from remedlab.api import meta as m
from remedlab.api import objects as o
from remedlab.api import rbac as r
from remedlab.api import workloads as w

Obj = dict[str, Any]

REF_PREFIX = "#/components/schemas/"

META_V1 = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE_V1 = "io.k8s.api.core.v1"
APPS_V1 = "io.k8s.api.apps.v1"
AUTOSCALING_V1 = "io.k8s.api.autoscaling.v1"
BATCH_V1 = "io.k8s.api.batch.v1"
POLICY_V1 = "io.k8s.api.policy.v1"
AUTHORIZATION_V1 = "io.k8s.api.authorization.v1"
AUTHENTICATION_V1 = "io.k8s.api.authentication.v1"
RBAC_V1 = "io.k8s.api.rbac.v1"
METRICS_V1BETA1 = "io.k8s.metrics.pkg.apis.metrics.v1beta1"
APIEXTENSIONS_V1 = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
PATCH = f"{META_V1}.Patch"

API_VERSION_DESCRIPTION = (
    'The group and version the object is written in ("v1", "apps/v1", "chaos-mesh.org/v1alpha1"). '
    "Requests must name a version the server serves for the kind."
)
KIND_DESCRIPTION = (
    'The type of the object, in CamelCase ("Pod", "Deployment", "StressChaos"). Inferred from the '
    "request's path when left out; cannot be changed."
)
METADATA_DESCRIPTION = "Name, namespace, labels and annotations of the object, and the fields the server keeps."

# The Kubernetes package of each model, where it is not the default of its module
# (``api.objects``: core/v1, ``api.meta``: meta/v1).
_PACKAGES: dict[type[BaseModel], str] = {
    **dict.fromkeys((o.ObjectMeta, o.OwnerReference, o.LabelSelector, o.LabelSelectorRequirement), META_V1),
    **dict.fromkeys(
        (
            o.Deployment,
            o.DeploymentSpec,
            o.DeploymentStatus,
            o.DeploymentStrategy,
            o.DeploymentCondition,
            o.RollingUpdate,
            o.ReplicaSet,
            o.ReplicaSetSpec,
            o.ReplicaSetStatus,
            w.StatefulSet,
            w.StatefulSetSpec,
            w.StatefulSetStatus,
            w.StatefulSetUpdateStrategy,
            w.RollingUpdateStatefulSetStrategy,
            w.StatefulSetPersistentVolumeClaimRetentionPolicy,
            w.StatefulSetOrdinals,
            w.DaemonSet,
            w.DaemonSetSpec,
            w.DaemonSetStatus,
            w.DaemonSetUpdateStrategy,
            w.RollingUpdateDaemonSet,
            w.StatefulSetCondition,
            w.DaemonSetCondition,
            w.ControllerRevision,
        ),
        APPS_V1,
    ),
    **dict.fromkeys(
        (w.Job, w.JobSpec, w.JobStatus, w.JobCondition, w.UncountedTerminatedPods),
        BATCH_V1,
    ),
    **dict.fromkeys((m.Scale, m.ScaleSpec, m.ScaleStatus), AUTOSCALING_V1),
    m.Eviction: POLICY_V1,
    **dict.fromkeys(
        (
            m.SelfSubjectAccessReview,
            m.SelfSubjectAccessReviewSpec,
            m.ResourceAttributes,
            m.NonResourceAttributes,
            m.SubjectAccessReviewStatus,
        ),
        AUTHORIZATION_V1,
    ),
    **dict.fromkeys((m.PodMetrics, m.NodeMetrics, m.ContainerMetrics), METRICS_V1BETA1),
    **dict.fromkeys(
        (r.Role, r.ClusterRole, r.RoleBinding, r.ClusterRoleBinding, r.PolicyRule, r.Subject, r.RoleRef), RBAC_V1
    ),
    **dict.fromkeys(
        (r.TokenRequest, r.TokenRequestSpec, r.TokenRequestStatus, r.BoundObjectReference), AUTHENTICATION_V1
    ),
    **dict.fromkeys(
        (
            m.CustomResourceDefinition,
            m.CustomResourceDefinitionSpec,
            m.CustomResourceDefinitionStatus,
            m.CustomResourceDefinitionNames,
            m.CustomResourceDefinitionVersion,
            m.CustomResourceDefinitionCondition,
            m.CustomResourceColumnDefinition,
            m.CustomResourceValidation,
        ),
        APIEXTENSIONS_V1,
    ),
}
_MODULE_PACKAGES: dict[str, str] = {o.__name__: CORE_V1, m.__name__: META_V1, r.__name__: CORE_V1}

# Models whose Python name differs from the name of the Kubernetes type they carry.
_TYPE_NAMES: dict[type[BaseModel], str] = {
    o.FieldSelector: "ObjectFieldSelector",
    o.PVCVolumeSource: "PersistentVolumeClaimVolumeSource",
    o.RollingUpdate: "RollingUpdateDeployment",
}

# Fields holding resource amounts: a map of quantities, or one quantity.
_QUANTITY_MAPS: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {
        (o.ResourceRequirements, "limits"),
        (o.ResourceRequirements, "requests"),
        (o.NodeStatus, "capacity"),
        (o.NodeStatus, "allocatable"),
        (m.ContainerMetrics, "usage"),
        (m.NodeMetrics, "usage"),
    }
)
_QUANTITIES: frozenset[tuple[type[BaseModel], str]] = frozenset(
    {(o.EmptyDirVolumeSource, "size_limit"), (o.ResourceFieldSelector, "divisor")}
)

# Schemas of the named scalar types Kubernetes publishes, and of a PATCH request's body.
SCALAR_SCHEMAS: dict[str, Obj] = {
    INT_OR_STRING: {
        "description": "IntOrString holds an integer or a string: a port number or a port name, "
        'an absolute number or a percentage ("25%").',
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    },
    QUANTITY: {
        "description": 'Quantity is an amount of a resource: "500m" or "0.5" CPU, "128Mi" or "1G" memory. '
        "The suffixes are the binary (Ki, Mi, Gi, Ti, Pi, Ei), decimal (k, M, G, T, P, E) and milli (m) ones.",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
    PATCH: {
        "description": "Patch is the body of a PATCH request: a JSON patch, a JSON merge patch, a strategic "
        "merge patch or an apply configuration, by the request's Content-Type.",
        "type": "object",
    },
}


@dataclass(frozen=True)
class Gvk:
    """A group, version and kind, as the ``x-kubernetes-group-version-kind`` extension gives it."""

    group: str
    version: str
    kind: str

    @classmethod
    def of(cls, api_version: str, kind: str) -> Gvk:
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def extension(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind, "version": self.version}


def custom_package(api_version: str) -> str:
    """The package types of a custom group are named in, Kubernetes-style: ``chaos-mesh.org/v1alpha1``
    gives ``org.chaos-mesh.v1alpha1``."""
    group, _, version = api_version.rpartition("/")
    return ".".join([*reversed(group.split(".")), version]) if group else f"{CORE_V1}"


def schema_name(model: type[BaseModel], package: str) -> str:
    """The component name of a model; ``package`` names the types of models outside ``api``."""
    found = _PACKAGES.get(model) or _MODULE_PACKAGES.get(model.__module__) or package
    return f"{found}.{_TYPE_NAMES.get(model, model.__name__)}"


def ref(name: str) -> str:
    return REF_PREFIX + name


@dataclass(frozen=True)
class Components:
    schemas: dict[str, Obj]
    names: dict[type[BaseModel], str]
    """The component name of every model that has a schema."""


def generate(
    models: Sequence[type[BaseModel]], gvks: Mapping[type[BaseModel], Sequence[Gvk]], package: str
) -> Components:
    """The schemas of ``models`` and of every model they use, in OpenAPI 3.0 and Kubernetes' shapes.

    ``gvks`` names the kinds each model is the schema of; ``package`` names the types of models
    that are not part of ``api`` (custom resources)."""
    roots = list(dict.fromkeys(models))
    by_python_name: dict[str, type[BaseModel]] = {}
    for model in _reachable(roots):
        other = by_python_name.setdefault(model.__name__, model)
        if other is not model:
            raise ValueError(
                f"two models are named {model.__name__} ({other.__module__}, {model.__module__}): "
                "give one another name so their schemas stay apart"
            )
    names = {model: schema_name(model, package) for model in by_python_name.values()}
    _, top = models_json_schema(
        [(model, "validation") for model in roots], by_alias=True, ref_template=REF_PREFIX + "{model}"
    )
    definitions: dict[str, Obj] = top.get("$defs", {})
    unknown = sorted(set(definitions) - set(by_python_name))
    if unknown:
        raise RuntimeError(f"schemas without a known model: {', '.join(unknown)}")
    renames = {ref(python): ref(names[by_python_name[python]]) for python in definitions}
    schemas: dict[str, Obj] = {}
    for python, schema in definitions.items():
        model = by_python_name[python]
        converted = _Converter(renames).schema(schema)
        _mark_quantities(model, converted)
        kinds = gvks.get(model)
        if kinds:
            _mark_kind(converted, kinds)
        schemas[names[model]] = converted
    schemas.update(copy.deepcopy(SCALAR_SCHEMAS))
    return Components(dict(sorted(schemas.items())), names)


def free_form_kind(gvk: Gvk) -> Obj:
    """The schema of a kind without a model: any object, as a CustomResourceDefinition without a schema."""
    schema: Obj = {
        "description": f"{gvk.kind} is a custom resource of {gvk.api_version}.",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "allOf": [{"$ref": ref(f"{META_V1}.ObjectMeta")}],
                "description": METADATA_DESCRIPTION,
            },
        },
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    _mark_kind(schema, [gvk])
    return schema


def list_schema(item_name: str, gvk: Gvk, plural: str) -> Obj:
    """The schema of a kind's list (``PodList``...), as list answers carry it."""
    schema: Obj = {
        "description": f"{gvk.kind} is what listing {plural} answers: one page of them and its list metadata.",
        "properties": {
            "apiVersion": {"description": API_VERSION_DESCRIPTION, "type": "string"},
            "items": {
                "description": f"The {plural}.",
                "items": {"$ref": ref(item_name)},
                "type": "array",
            },
            "kind": {"description": KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "allOf": [{"$ref": ref(f"{META_V1}.ListMeta")}],
                "description": "The resourceVersion the list was read at and, when more pages remain, the "
                "continue token of the next one.",
            },
        },
        "required": ["items"],
        "type": "object",
    }
    _mark_kind(schema, [gvk])
    return schema


# --------------------------------------------------------------------------- conversion


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if typing.get_origin(annotation) is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _reachable(roots: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    """The models and every model their fields use."""
    seen: dict[type[BaseModel], None] = {}
    stack = list(roots)
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen[model] = None
        for field in model.model_fields.values():
            stack.extend(_models_in(field.annotation))
    return list(seen)


_NULL: Obj = {"type": "null"}
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _is_int_or_string(options: list[Obj]) -> bool:
    return (
        len(options) == 2
        and {o.get("type") for o in options} == {"integer", "string"}
        and all(len(o) == 1 for o in options)
    )


def _paragraphs(text: str) -> str:
    """A docstring's lines joined into paragraphs: readers of the document wrap the text themselves."""
    blocks = [" ".join(line.strip() for line in block.splitlines() if line.strip()) for block in text.split("\n\n")]
    return "\n\n".join(b for b in blocks if b)


def _slot(schema: Obj) -> Obj:
    """A schema in a property, items or map-value position: a reference with siblings goes into ``allOf``."""
    if "$ref" in schema and len(schema) > 1:
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return {"allOf": [{"$ref": schema["$ref"]}], **rest}
    return schema


@dataclass(frozen=True)
class _Converter:
    renames: Mapping[str, str]

    def schema(self, node: Obj) -> Obj:
        out: Obj = {}
        for key, value in node.items():
            if key == "title":
                continue
            if key == "$ref":
                out[key] = self.renames.get(value, value)
            elif key == "properties":
                out[key] = {name: _slot(self.schema(sub)) for name, sub in value.items()}
            elif key == "items" and isinstance(value, dict):
                out[key] = _slot(self.schema(value))
            elif key == "additionalProperties":
                if value is True:
                    out["x-kubernetes-preserve-unknown-fields"] = True
                elif isinstance(value, dict):
                    out[key] = _slot(self.schema(value))
            elif key in _SCHEMA_LISTS:
                out[key] = [self.schema(sub) for sub in value]
            elif key == "description" and isinstance(value, str):
                out[key] = _paragraphs(value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
            else:
                out[key] = value
        if "const" in out:
            value = out.pop("const")
            out.setdefault("enum", [value])
        if "anyOf" in out:
            out = self._collapse(out)
        if "default" in out and out["default"] is None:
            del out["default"]
        return out

    @staticmethod
    def _collapse(out: Obj) -> Obj:
        """``X | None`` is ``X``; ``int | str`` is IntOrString."""
        options = [x for x in out["anyOf"] if x != _NULL]
        rest = {k: v for k, v in out.items() if k != "anyOf"}
        if _is_int_or_string(options):
            return {"$ref": ref(INT_OR_STRING), **rest}
        if len(options) == 1:
            only = options[0]
            if "$ref" in only:
                return {**only, **rest}
            merged = {**only, **rest}
            if "default" in merged and merged["default"] is None:
                del merged["default"]
            return merged
        return {"anyOf": options, **rest} if options else rest


def _alias(model: type[BaseModel], field: str) -> str:
    return model.model_fields[field].alias or field


def _mark_quantities(model: type[BaseModel], schema: Obj) -> None:
    properties: Obj = schema.get("properties", {})
    for owner, field in _QUANTITY_MAPS:
        if owner is model and _alias(model, field) in properties:
            prop = properties[_alias(model, field)]
            prop["additionalProperties"] = {"$ref": ref(QUANTITY)}
            prop["type"] = "object"
    for owner, field in _QUANTITIES:
        if owner is model and _alias(model, field) in properties:
            prop = properties[_alias(model, field)]
            rest = {k: v for k, v in prop.items() if k not in ("type", "anyOf", "format")}
            properties[_alias(model, field)] = _slot({"$ref": ref(QUANTITY), **rest})


def _mark_kind(schema: Obj, gvks: Sequence[Gvk]) -> None:
    schema["x-kubernetes-group-version-kind"] = [g.extension() for g in gvks]
    properties: Obj = schema.setdefault("properties", {})
    if "apiVersion" in properties:
        properties["apiVersion"] = {"description": API_VERSION_DESCRIPTION, "type": "string"}
    if "kind" in properties:
        properties["kind"] = {"description": KIND_DESCRIPTION, "type": "string"}
    metadata = properties.get("metadata")
    if isinstance(metadata, dict) and "description" not in metadata:
        properties["metadata"] = _slot({**metadata, "description": METADATA_DESCRIPTION})


# --------------------------------------------------------------------------- structural schemas


_CRD_EXTENSIONS = frozenset(
    {
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-embedded-resource",
    }
)


def structural(name: str, schemas: Mapping[str, Obj]) -> Obj:
    """The schema ``name`` with every reference inlined, in the form a CustomResourceDefinition's
    ``openAPIV3Schema`` takes it: no ``$ref``, metadata as a bare object, only the extensions
    CustomResourceDefinitions accept."""
    top = _inline(schemas[name], schemas, ())
    properties = top.get("properties", {})
    if "metadata" in properties:
        properties["metadata"] = {"type": "object"}
    return top


def _inline(node: Obj, schemas: Mapping[str, Obj], trail: tuple[str, ...]) -> Obj:
    node = dict(node)
    if node.get("allOf") and len(node["allOf"]) == 1 and "$ref" in node["allOf"][0]:
        target = node.pop("allOf")[0]["$ref"]
        node = {**_resolve(target, schemas, trail), **node}
    elif "$ref" in node:
        target = node.pop("$ref")
        node = {**_resolve(target, schemas, trail), **node}
    out: Obj = {}
    for key, value in node.items():
        if key.startswith("x-") and key not in _CRD_EXTENSIONS:
            continue
        if key == "properties":
            out[key] = {k: _inline(v, schemas, trail) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _inline(value, schemas, trail)
        elif key in _SCHEMA_LISTS:
            out[key] = [_inline(v, schemas, trail) for v in value]
        else:
            out[key] = value
    if "properties" in out:
        out.setdefault("type", "object")
    return out


def _resolve(target: str, schemas: Mapping[str, Obj], trail: tuple[str, ...]) -> Obj:
    name = target.removeprefix(REF_PREFIX)
    if name == INT_OR_STRING:
        return {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    if name == QUANTITY:
        return {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    if name in trail:
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return _inline(schemas[name], schemas, (*trail, name))
