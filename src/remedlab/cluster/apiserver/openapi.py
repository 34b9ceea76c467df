"""The API's OpenAPI v3 documents (``GET /openapi/v3`` and ``/openapi/v3/<group-version>``), generated.

One document per group-version served, in the shape kube-apiserver publishes, generated from
``api.kinds`` (paths, operations) and the typed models (schemas, see ``openapi_schemas``):

- ``kubectl apply``/``create``/``replace`` look for the PATCH operation of the object's kind
  (its ``x-kubernetes-group-version-kind``) and, finding a ``fieldValidation`` parameter there,
  leave validation to the server (``?fieldValidation=Strict``). Every PATCH operation declares it.
- ``kubectl explain`` finds the kind of a resource from its paths' operations, then the schema
  carrying that kind, and walks its ``$ref``s.

The index lists each document with a content hash (``?hash=``, uppercase hex SHA-512 of the
document's bytes, as Kubernetes does) so clients may cache a document for as long as its URL
stays the same. Documents are built once per process and per set of kind models (custom kinds'
models are registered when the server starts).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, Field

from remedlab.api import meta as m
from remedlab.api.kinds import CHAOS_KINDS, KINDS, KindInfo, Subresource, group_versions
from remedlab.api.objects import K8sModel, ObjectMeta
from remedlab.cluster.apiserver.discovery import KUBERNETES_VERSION
from remedlab.cluster.apiserver.openapi_schemas import (
    META_V1,
    PATCH,
    Components,
    Gvk,
    custom_package,
    free_form_kind,
    generate,
    list_schema,
    ref,
    structural,
)
from remedlab.cluster.apiserver.validation import model_of

Obj = dict[str, Any]

# --------------------------------------------------------------------------- the index


class OpenAPIPath(K8sModel):
    server_relative_url: str = Field(alias="serverRelativeURL")


class OpenAPIIndex(K8sModel):
    """What ``GET /openapi/v3`` answers: the URL of each group-version's document."""

    paths: dict[str, OpenAPIPath]


@dataclass(frozen=True)
class PublishedDocument:
    body: bytes
    """The document as served: JSON, keys sorted."""
    hash: str
    """Uppercase hex SHA-512 of ``body``: the ``hash`` of its URL, and a strong ETag."""


def openapi_index() -> OpenAPIIndex:
    """``GET /openapi/v3``: ``{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}}}``."""
    return OpenAPIIndex(
        paths={
            path: OpenAPIPath(server_relative_url=f"/openapi/v3/{path}?hash={doc.hash}")
            for path, doc in _published().items()
        }
    )


def openapi_document(path: str) -> dict[str, Any] | None:
    """``GET /openapi/v3/<path>`` (``api/v1``, ``apis/apps/v1``...): the document, or None for a
    path nothing serves. The caller gets its own copy."""
    doc = published_document(path)
    return None if doc is None else dict(orjson.loads(doc.body))


def published_document(path: str) -> PublishedDocument | None:
    """The serialised document of ``path`` and its hash, for serving it as is (with an ETag)."""
    return _published().get(path.strip("/"))


def custom_resource_schema(info: KindInfo) -> Obj | None:
    """The ``openAPIV3Schema`` of a custom kind's CustomResourceDefinition: its schema with every
    reference inlined (None when the kind has no model yet)."""
    model = _model(info.kind)
    if model is None:
        return None
    gvk = Gvk.of(info.api_version, info.kind)
    components = generate([model], {model: [gvk]}, custom_package(info.api_version))
    return structural(components.names[model], components.schemas)


# --------------------------------------------------------------------------- building and caching

_COMPUTED_MODELS: dict[str, type[BaseModel]] = {
    "PodMetrics": m.PodMetrics,
    "NodeMetrics": m.NodeMetrics,
    "CustomResourceDefinition": m.CustomResourceDefinition,
    "SelfSubjectAccessReview": m.SelfSubjectAccessReview,
}

# Descriptions of the computed kinds, for as long as their models carry none of their own.
_KIND_DESCRIPTIONS: dict[str, str] = {
    "PodMetrics": "PodMetrics is the latest CPU and memory usage of a pod's containers, as the node samples it "
    "(kubectl top pod).",
    "NodeMetrics": "NodeMetrics is the latest CPU and memory usage of a node (kubectl top node).",
    "CustomResourceDefinition": "CustomResourceDefinition describes a custom kind the server serves: the chaos "
    "kinds, with their names and schema. Computed by the server, read-only.",
    "SelfSubjectAccessReview": "SelfSubjectAccessReview asks whether the requester may perform an action "
    "(kubectl auth can-i); the answer is in status.",
}

ModelTable = tuple[tuple[str, type[BaseModel] | None], ...]


def _model(kind: str) -> type[BaseModel] | None:
    return model_of(kind) or _COMPUTED_MODELS.get(kind)


def _published() -> dict[str, PublishedDocument]:
    return _publish(tuple((info.kind, _model(info.kind)) for info in KINDS))


@functools.lru_cache(maxsize=4)
def _publish(models: ModelTable) -> dict[str, PublishedDocument]:
    table = dict(models)
    out: dict[str, PublishedDocument] = {}
    for gv in group_versions():
        doc = _document(gv, [(info, table.get(info.kind)) for info in KINDS if info.api_version == gv])
        body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        out[_document_path(gv)] = PublishedDocument(body, hashlib.sha512(body).hexdigest().upper())
    return out


def _document_path(gv: str) -> str:
    return f"apis/{gv}" if "/" in gv else f"api/{gv}"


def _document(gv: str, kinds: Sequence[tuple[KindInfo, type[BaseModel] | None]]) -> Obj:
    models: list[type[BaseModel]] = []
    gvks: dict[type[BaseModel], list[Gvk]] = {}

    def add(model: type[BaseModel], gvk: Gvk) -> None:
        models.append(model)
        listed = gvks.setdefault(model, [])
        if gvk not in listed:
            listed.append(gvk)

    for info, model in kinds:
        if model is not None:
            add(model, Gvk.of(info.api_version, info.kind))
        for sub in info.subresources:
            if sub.name == "scale":
                add(m.Scale, Gvk.of(sub.api_version, sub.kind))
            elif sub.name == "eviction":
                add(m.Eviction, Gvk.of(sub.api_version, sub.kind))
    add(m.Status, Gvk("", "v1", "Status"))
    for payload in (m.DeleteOptions, m.WatchEvent):
        add(payload, Gvk("", "v1", payload.__name__))
        if gv != "v1":
            add(payload, Gvk.of(gv, payload.__name__))
    models += [m.ListMeta, ObjectMeta]
    components = generate(models, gvks, custom_package(gv))
    schemas = dict(components.schemas)
    kind_names: dict[str, str] = {}
    for info, model in kinds:
        gvk = Gvk.of(info.api_version, info.kind)
        if model is None:
            name = f"{custom_package(gv)}.{info.kind}"
            schemas[name] = free_form_kind(gvk)
        else:
            name = components.names[model]
            if info.kind in _KIND_DESCRIPTIONS:
                schemas[name].setdefault("description", _KIND_DESCRIPTIONS[info.kind])
        kind_names[info.kind] = name
        if "list" in info.verbs:
            schemas[f"{name}List"] = list_schema(name, Gvk.of(info.api_version, f"{info.kind}List"), info.plural)
    paths: Obj = {}
    for info, _ in kinds:
        paths.update(_paths(info, kind_names[info.kind], components))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer token authentication: a remedlab token (scope admin or agent).",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


# --------------------------------------------------------------------------- parameters


def _query(name: str, kind: str, description: str) -> Obj:
    return {"description": description, "in": "query", "name": name, "schema": {"type": kind}}


def _path_param(name: str, description: str) -> Obj:
    return {"description": description, "in": "path", "name": name, "required": True, "schema": {"type": "string"}}


_PARAMS: dict[str, Obj] = {
    p["name"]: p
    for p in (
        _query(
            "allowWatchBookmarks",
            "boolean",
            'Ask for watch events of type "BOOKMARK", which carry only the resourceVersion reached. '
            "Clients must not assume bookmarks come at any particular interval.",
        ),
        _query(
            "continue",
            "string",
            "The token of the next page, from the metadata.continue of the previous page of a list with a limit. "
            "A token the server no longer knows gives 410 Expired: list again from the start.",
        ),
        _query("fieldSelector", "string", "Restrict the objects by their fields (metadata.name=x, status.phase!=y)."),
        _query("labelSelector", "string", "Restrict the objects by their labels (app=web,tier in (a,b),!canary)."),
        _query(
            "limit",
            "integer",
            "The largest number of objects to answer; when more remain, metadata.continue names the next page.",
        ),
        _query(
            "resourceVersion",
            "string",
            "For a watch, the resourceVersion to stream changes from; older than what the server keeps gives "
            "410 Expired. For a list, a constraint on how fresh the answer is.",
        ),
        _query(
            "sendInitialEvents",
            "boolean",
            "With watch=true, begin the stream with an ADDED event per existing object and a BOOKMARK "
            "marking the end of them.",
        ),
        _query(
            "timeoutSeconds",
            "integer",
            "End the list or watch call after this many seconds, whatever happens meanwhile.",
        ),
        _query(
            "watch",
            "boolean",
            "Stream the changes to the described objects (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR events) "
            "instead of listing them; give resourceVersion to start from.",
        ),
        _query(
            "dryRun",
            "string",
            "When present, the request is checked and answered but nothing is persisted. The one value is All.",
        ),
        _query(
            "fieldManager",
            "string",
            "The name of the actor making the change (at most 128 printable characters); required for apply "
            "patches (application/apply-patch+yaml).",
        ),
        _query(
            "fieldValidation",
            "string",
            "How the server treats unknown or duplicate fields in the object sent (POST, PUT, PATCH): Ignore drops "
            "them silently; Warn (the default) drops them with a Warning header for each; Strict refuses the "
            "request with a BadRequest naming every such field.",
        ),
        _query(
            "force",
            "boolean",
            "Force an apply patch: take over the fields other managers own. Must be unset for other patch types.",
        ),
        _query(
            "gracePeriodSeconds",
            "integer",
            "Seconds before the object is deleted, a non-negative integer; zero deletes at once. Unset: the "
            "default of the kind (a pod's terminationGracePeriodSeconds).",
        ),
        _query(
            "orphanDependents",
            "boolean",
            "Deprecated: use propagationPolicy. Whether the dependents are orphaned rather than deleted.",
        ),
        _query(
            "propagationPolicy",
            "string",
            "What happens to the dependents (the pods of a ReplicaSet...): Orphan keeps them; Background (the "
            "default) deletes them after the owner; Foreground deletes them before the owner.",
        ),
        _query("container", "string", "The container of the pod; may be left out when the pod has only one."),
        _query("follow", "boolean", "Stream the log as it grows."),
        _query("previous", "boolean", "The log of the previous instance of the container, after a restart."),
        _query("sinceSeconds", "integer", "Only the log lines of the last this many seconds."),
        _query("tailLines", "integer", "Answer only the last this many lines of the log."),
        _query("timestamps", "boolean", "Prefix each line with its RFC 3339 timestamp."),
        _query("command", "string", "The command to run, one parameter per argument."),
        _query("stdin", "boolean", "Redirect the standard input of the command."),
        _query("stdout", "boolean", "Redirect the standard output of the command (default true)."),
        _query("stderr", "boolean", "Redirect the standard error of the command (default true)."),
        _query("tty", "boolean", "Allocate a terminal for the command."),
        _query(
            "ports",
            "integer",
            "The pod's ports to forward (repeated, or comma-separated); required over v4.channel.k8s.io.",
        ),
    )
}

LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
PATCH_PARAMS = (*WRITE_PARAMS, "force")
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
DELETE_COLLECTION_PARAMS = (*DELETE_PARAMS, "fieldSelector", "labelSelector")
LOG_PARAMS = ("container", "follow", "previous", "sinceSeconds", "tailLines", "timestamps")
EXEC_PARAMS = ("command", "container", "stderr", "stdin", "stdout", "tty")
PORTFORWARD_PARAMS = ("ports",)
CONNECT_STREAMS: dict[str, tuple[tuple[str, ...], str]] = {
    "exec": (EXEC_PARAMS, "v5.channel.k8s.io, v4.channel.k8s.io"),
    "portforward": (PORTFORWARD_PARAMS, "SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io"),
}
"""The streaming subresources: their query parameters and the WebSocket subprotocols they speak."""

PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
CUSTOM_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")
"""Custom resources take no strategic merge patch: their lists carry no merge keys Kubernetes knows."""

# --------------------------------------------------------------------------- operations


def _content(schema: Obj, media_types: Sequence[str] = ("application/json",)) -> Obj:
    return {media: {"schema": schema} for media in media_types}


def _responses(schema_ref: str, codes: Sequence[str], media_types: Sequence[str] = ("application/json",)) -> Obj:
    words = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: Obj = {
        code: {"content": _content({"$ref": schema_ref}, media_types), "description": words[code]} for code in codes
    }
    out["401"] = {"description": "Unauthorized"}
    return out


def _group_title(group: str) -> str:
    """``apps`` gives Apps, ``chaos-mesh.org`` ChaosMeshOrg, ``metrics.k8s.io`` Metrics, the core group Core."""
    if not group:
        return "Core"
    words = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(w[:1].upper() + w[1:] for w in words)


@dataclass(frozen=True)
class _Resource:
    """One kind's resource in a document, with what its operations share."""

    info: KindInfo
    schema: str
    components: Components

    @property
    def prefix(self) -> str:
        return _group_title(self.info.group) + self.info.version[:1].upper() + self.info.version[1:]

    @property
    def tag(self) -> str:
        title = _group_title(self.info.group)
        return f"{title[:1].lower()}{title[1:]}_{self.info.version}"

    @property
    def gvk(self) -> Gvk:
        return Gvk.of(self.info.api_version, self.info.kind)

    def operation(
        self,
        action: str,
        verb: str,
        description: str,
        *,
        scope: str,
        params: Sequence[str],
        responses: Obj,
        body: Obj | None = None,
        gvk: Gvk | None = None,
        suffix: str = "",
    ) -> Obj:
        op: Obj = {
            "description": description,
            "operationId": f"{verb}{self.prefix}{scope}{self.info.kind}{suffix}",
            "responses": responses,
            "tags": [self.tag],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": (gvk or self.gvk).extension(),
        }
        if params:
            op["parameters"] = [dict(_PARAMS[p]) for p in params]
        if body is not None:
            op["requestBody"] = body
        return op

    def body(self, schema_ref: str) -> Obj:
        return {"content": _content({"$ref": schema_ref}, ("*/*",)), "required": True}

    def patch_body(self) -> Obj:
        types = CUSTOM_PATCH_TYPES if self.info.kind in CHAOS_KINDS else PATCH_TYPES
        return {"content": _content({"$ref": ref(PATCH)}, types), "required": True}


def _paths(info: KindInfo, schema: str, components: Components) -> Obj:
    res = _Resource(info, schema, components)
    root = f"/apis/{info.api_version}" if info.group else f"/api/{info.api_version}"
    scoped = f"{root}/namespaces/{{namespace}}" if info.namespaced else root
    scope = "Namespaced" if info.namespaced else ""
    collection, item = f"{scoped}/{info.plural}", f"{scoped}/{info.plural}/{{name}}"
    kind_ref, list_ref = ref(schema), ref(f"{schema}List")
    what = f"objects of kind {info.kind}"
    common = [_path_param("namespace", "The namespace of the objects.")] if info.namespaced else []
    named = [_path_param("name", f"The name of the {info.kind}."), *common]
    paths: Obj = {}

    ops: Obj = {}
    if "list" in info.verbs:
        ops["get"] = res.operation(
            "list",
            "list",
            f"list or watch {what}",
            scope=scope,
            params=LIST_PARAMS,
            responses=_responses(list_ref, ("200",), ("application/json", "application/json;stream=watch")),
        )
        if info.namespaced:
            paths[f"{root}/{info.plural}"] = {
                "get": res.operation(
                    "list",
                    "list",
                    f"list or watch {what} in every namespace",
                    scope="",
                    suffix="ForAllNamespaces",
                    params=LIST_PARAMS,
                    responses=_responses(list_ref, ("200",), ("application/json", "application/json;stream=watch")),
                )
            }
    if "create" in info.verbs:
        ops["post"] = res.operation(
            "post",
            "create",
            f"create a {info.kind}",
            scope=scope,
            params=WRITE_PARAMS,
            body=res.body(kind_ref),
            responses=_responses(kind_ref, ("200", "201", "202")),
        )
    if "deletecollection" in info.verbs:
        ops["delete"] = res.operation(
            "deletecollection",
            "delete",
            f"delete a collection of {what}",
            scope=f"Collection{scope}",
            params=DELETE_COLLECTION_PARAMS,
            body={"content": _content({"$ref": ref(f"{META_V1}.DeleteOptions")}, ("*/*",))},
            responses=_responses(list_ref, ("200",)),
        )
    if ops:
        paths[collection] = {**ops, **({"parameters": common} if common else {})}

    ops = {}
    if "get" in info.verbs:
        ops["get"] = res.operation(
            "get",
            "read",
            f"read the specified {info.kind}",
            scope=scope,
            params=(),
            responses=_responses(kind_ref, ("200",)),
        )
    if "update" in info.verbs:
        ops["put"] = res.operation(
            "put",
            "replace",
            f"replace the specified {info.kind}",
            scope=scope,
            params=WRITE_PARAMS,
            body=res.body(kind_ref),
            responses=_responses(kind_ref, ("200", "201")),
        )
    if "patch" in info.verbs:
        ops["patch"] = res.operation(
            "patch",
            "patch",
            f"partially update the specified {info.kind}",
            scope=scope,
            params=PATCH_PARAMS,
            body=res.patch_body(),
            responses=_responses(kind_ref, ("200", "201")),
        )
    if "delete" in info.verbs:
        ops["delete"] = res.operation(
            "delete",
            "delete",
            f"delete a {info.kind}",
            scope=scope,
            params=DELETE_PARAMS,
            body={"content": _content({"$ref": ref(f"{META_V1}.DeleteOptions")}, ("*/*",))},
            responses=_responses(kind_ref, ("200", "202")),
        )
    if ops:
        paths[item] = {**ops, "parameters": named}

    for sub in info.subresources:
        ops = _subresource_operations(res, sub, scope)
        if ops:
            paths[f"{item}/{sub.name}"] = {**ops, "parameters": named}
    return paths


def _subresource_operations(res: _Resource, sub: Subresource, scope: str) -> Obj:
    info = res.info
    suffix = sub.name[:1].upper() + sub.name[1:]
    ops: Obj = {}
    if sub.name in ("status", "scale"):
        if sub.name == "status":
            schema_ref, gvk, what = ref(res.schema), res.gvk, f"status of the specified {info.kind}"
        else:
            scale = res.components.names[m.Scale]
            schema_ref, gvk, what = ref(scale), Gvk.of(sub.api_version, sub.kind), f"scale of the specified {info.kind}"
        if "get" in sub.verbs:
            ops["get"] = res.operation(
                "get",
                "read",
                f"read {what}",
                scope=scope,
                suffix=suffix,
                gvk=gvk,
                params=(),
                responses=_responses(schema_ref, ("200",)),
            )
        if "update" in sub.verbs:
            ops["put"] = res.operation(
                "put",
                "replace",
                f"replace {what}",
                scope=scope,
                suffix=suffix,
                gvk=gvk,
                params=WRITE_PARAMS,
                body=res.body(schema_ref),
                responses=_responses(schema_ref, ("200", "201")),
            )
        if "patch" in sub.verbs:
            ops["patch"] = res.operation(
                "patch",
                "patch",
                f"partially update {what}",
                scope=scope,
                suffix=suffix,
                gvk=gvk,
                params=PATCH_PARAMS,
                body=res.patch_body(),
                responses=_responses(schema_ref, ("200", "201")),
            )
    elif sub.name == "log":
        ops["get"] = res.operation(
            "get",
            "read",
            f"read the log of the specified {info.kind}",
            scope=scope,
            suffix=suffix,
            params=LOG_PARAMS,
            responses={
                "200": {"content": _content({"type": "string"}, ("text/plain",)), "description": "OK"},
                "401": {"description": "Unauthorized"},
            },
        )
    elif sub.name in CONNECT_STREAMS:
        gvk = Gvk.of(sub.api_version or info.api_version, sub.kind)
        params, streams = CONNECT_STREAMS[sub.name]
        for method in ("get", "post"):
            if ("get" if method == "get" else "create") in sub.verbs:
                ops[method] = res.operation(
                    "connect",
                    "connect",
                    f"connect {method.upper()} requests to {sub.name} of {info.kind}: a WebSocket stream ({streams})",
                    scope=method.capitalize() + scope,
                    suffix=suffix,
                    gvk=gvk,
                    params=params,
                    responses={
                        "200": {"content": _content({"type": "string"}, ("*/*",)), "description": "OK"},
                        "401": {"description": "Unauthorized"},
                    },
                )
    elif sub.name == "eviction":
        eviction = res.components.names[m.Eviction]
        ops["post"] = res.operation(
            "post",
            "create",
            f"create eviction of {info.kind}",
            scope=scope,
            suffix=suffix,
            gvk=Gvk.of(sub.api_version, sub.kind),
            params=WRITE_PARAMS,
            body=res.body(ref(eviction)),
            responses=_responses(ref(f"{META_V1}.Status"), ("200", "201", "202")),
        )
    return ops
