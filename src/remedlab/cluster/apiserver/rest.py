"""The REST handlers of the Kubernetes API: one request in, one answer out.

A request's path says what it is about (``request_info``); the handler
authorises it against the token's scope, then gets, lists, watches, creates,
replaces, patches or deletes through the registry, and answers JSON objects,
lists, Tables or a watch stream as the client asked. Failures are Status
bodies with Kubernetes' reasons and codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import yaml
from pydantic import ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response, StreamingResponse

from remedlab.api.access import AccessPolicy, RequestAttributes
from remedlab.api.errors import BadRequest, Conflict, Forbidden, MethodNotAllowed, NotFound, UnsupportedMediaType
from remedlab.api.kinds import KindInfo, Obj
from remedlab.api.labels import SelectorError, matches_selector_string
from remedlab.api.meta import (
    DeleteOptions,
    Eviction,
    ListMeta,
    Scale,
    ScaleSpec,
    ScaleStatus,
    SelfSubjectAccessReview,
    Status,
)
from remedlab.api.objects import ObjectMeta
from remedlab.api.rbac import TokenRequest, TokenRequestStatus
from remedlab.api.times import format_time, now_iso
from remedlab.cluster.apiserver.computed import (
    UsageSource,
    custom_resource_definitions,
    node_metrics,
    pod_metrics,
    review_access,
)
from remedlab.cluster.apiserver.field_selectors import matches_field_selector
from remedlab.cluster.apiserver.protobuf import decode_body
from remedlab.cluster.apiserver.registry import ObjectAPI, PatchType
from remedlab.cluster.apiserver.request_info import RequestInfo, parse_request
from remedlab.cluster.apiserver.responses import (
    JSON,
    Rendering,
    decode_continue,
    encode_continue,
    json_response,
    list_bytes,
    list_kind,
    partial_metadata,
    rendering,
)
from remedlab.cluster.apiserver.service_account_tokens import ISSUER, TokenIssuer
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.apiserver.tables import table_of
from remedlab.cluster.apiserver.validation import FieldValidation
from remedlab.cluster.apiserver.watch_cache import WatchCache
from remedlab.cluster.apiserver.watch_stream import WatchParams, static_watch, watch_events

PROTOBUF = "application/vnd.kubernetes.protobuf"

PATCH_TYPES: dict[str, PatchType] = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}

ScopeOf = Callable[[HTTPConnection], str]


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes")


def _field_validation(value: str | None) -> FieldValidation:
    if value in (None, ""):
        return "Warn"
    if value in ("Strict", "Warn", "Ignore"):
        return cast(FieldValidation, value)
    raise BadRequest(f'fieldValidation "{value}" is not one of Strict, Warn, Ignore')


def _dry_run(values: list[str]) -> bool:
    for value in values:
        if value != "All":
            raise BadRequest(f'dryRun "{value}" is not supported: use dryRun=All')
    return bool(values)


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise BadRequest(f'{name} must be a whole number, got "{value}"') from None


@dataclass
class Selectors:
    label: str | None
    field: str | None

    def matches(self, obj: Obj) -> bool:
        if self.label and not matches_selector_string(self.label, obj["metadata"].get("labels") or {}):
            return False
        return not self.field or matches_field_selector(self.field, obj)

    @property
    def any(self) -> bool:
        return bool(self.label or self.field)


class RestHandler:
    def __init__(
        self,
        store: Store,
        registry: ObjectAPI,
        cache: WatchCache,
        usage: UsageSource,
        policy: AccessPolicy,
        scope_of: ScopeOf,
        node_name: str,
        tokens: TokenIssuer | None = None,
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.registry = registry
        self.cache = cache
        self.usage = usage
        self.policy = policy
        self.scope_of = scope_of
        self.node_name = node_name

    # ------------------------------------------------------------------ entry

    def request_info(self, conn: HTTPConnection, method: str) -> RequestInfo:
        """Parse and authorise a request; Forbidden names what the scope may not do, as Kubernetes words it."""
        watch = _flag(conn.query_params.get("watch"))
        info = parse_request(method, conn.url.path, watch)
        scope = self.scope_of(conn)
        verb = ("get" if method.upper() == "GET" else "create") if info.verb == "connect" else info.verb
        attributes = RequestAttributes(
            verb, info.group, info.resource, info.subresource or "", info.namespace or "", info.name or ""
        )
        denial = self.policy.denial(scope, attributes)
        if denial is not None:
            what = info.info.plural_qualified + (f' "{info.name}"' if info.name else "")
            where = f' in the namespace "{info.namespace}"' if info.namespace else ""
            sub = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
            raise Forbidden(
                f'{what} is forbidden: User "{self.policy.subject(scope)}" cannot {verb} resource "{sub}" '
                f'in API group "{info.group}"{where}' + (f": {denial}" if denial else ""),
                details={"name": info.name, "group": info.group, "kind": info.resource},
            )
        return info

    async def handle(self, request: Request) -> Response:
        ri = self.request_info(request, request.method)
        query = request.query_params
        render = rendering(request.headers.get("accept", ""), query.get("includeObject"))
        if ri.verb == "connect":
            raise BadRequest("Upgrade request required: pods/exec is served over WebSocket (v5.channel.k8s.io)")
        if not ri.info.stored:
            return await self._computed(request, ri, render)
        if ri.verb == "list":
            return self._list(request, ri, render)
        if ri.verb == "watch":
            return self._watch(request, ri, render)
        if ri.verb == "get":
            return self._get(ri, render)
        if ri.verb == "deletecollection":
            return await self._delete_collection(request, ri)
        body = await request.body()
        if ri.verb == "create":
            return self._create(request, ri, body)
        if ri.verb == "update":
            return self._update(request, ri, body)
        if ri.verb == "patch":
            return self._patch(request, ri, body)
        return self._delete(request, ri, body)

    # ------------------------------------------------------------------ reads

    def _render_one(self, info: KindInfo, obj: Obj, render: Rendering) -> Any:
        if render.form == "table":
            return table_of(info, [obj], render.include_object)
        if render.form == "metadata":
            return partial_metadata(obj)
        return obj

    def _get(self, ri: RequestInfo, render: Rendering) -> Response:
        assert ri.name is not None
        obj = self.store.must_get(ri.info.kind, ri.namespace, ri.name)
        if ri.subresource == "scale":
            return json_response(_scale_of(obj))
        return json_response(self._render_one(ri.info, obj, render))

    def _selectors(self, request: HTTPConnection) -> Selectors:
        label = request.query_params.get("labelSelector") or None
        field = request.query_params.get("fieldSelector") or None
        if label:
            try:
                matches_selector_string(label, {})
            except SelectorError as exc:
                raise BadRequest(f'unable to parse requirement: {exc}: check the labelSelector "{label}"') from None
        return Selectors(label, field)

    def _list(self, request: Request, ri: RequestInfo, render: Rendering) -> Response:
        query = request.query_params
        selectors = self._selectors(request)
        limit = _int(query.get("limit"), "limit") or 0
        token = query.get("continue") or None
        after = decode_continue(token)[1] if token else None
        info = ri.info
        namespace = ri.namespace if info.namespaced else None
        raw: list[str] = []
        objects: list[Obj] = []
        next_key: tuple[str, str] | None = after
        rv = 0
        while True:
            page = self.store.page(info.kind, namespace, limit, next_key)
            rv = rv or page.rv
            if selectors.any or render.form != "object":
                for obj in page.objects():
                    if selectors.matches(obj):
                        objects.append(obj)
            else:
                raw += page.raw
            next_key = page.next_key
            if next_key is None or not limit or len(objects) + len(raw) >= limit:
                break
        continue_token = encode_continue(rv, next_key) if next_key is not None else None
        if render.form == "table":
            meta = ListMeta(resource_version=str(rv), continue_=continue_token)
            return json_response(table_of(info, objects, render.include_object, list_meta=meta))
        if render.form == "metadata":
            envelope = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": ListMeta(resource_version=str(rv), continue_=continue_token).to_dict(),
                "items": [partial_metadata(o) for o in objects],
            }
            return json_response(envelope)
        if not raw and objects:
            raw = [json.dumps(o) for o in objects]
        return Response(list_bytes(info, raw, rv, continue_token), media_type=JSON)

    def _watch(self, request: Request, ri: RequestInfo, render: Rendering) -> Response:
        selectors = self._selectors(request)
        if ri.name:
            named = f"metadata.name={ri.name}"
            selectors = Selectors(selectors.label, f"{selectors.field},{named}" if selectors.field else named)
        params = _watch_params(request)
        namespace = ri.namespace if ri.info.namespaced else None
        info = ri.info

        def shape(obj: Obj) -> Obj:
            shaped = self._render_one(info, obj, render)
            return shaped.to_dict() if hasattr(shaped, "to_dict") else dict(shaped)

        stream = watch_events(self.store, self.cache, info, namespace, params, selectors.matches, shape)
        return StreamingResponse(stream, media_type=JSON)

    # ------------------------------------------------------------------ writes

    def _decode(self, request: Request, body: bytes, kind: str, patch: bool = False) -> Any:
        content_type = request.headers.get("content-type", JSON).split(";", 1)[0].strip().lower()
        if not body.strip():
            raise BadRequest("the request body is empty: send a JSON object")
        if content_type == PROTOBUF and not patch:
            return decode_body(body, kind)
        if "protobuf" in content_type or "cbor" in content_type:
            raise UnsupportedMediaType(
                f'the body of the request was in an unknown format "{content_type}": send application/json'
            )
        try:
            if content_type in ("application/yaml", "application/apply-patch+yaml") or (content_type.endswith("yaml")):
                return yaml.safe_load(body)
            return json.loads(body)
        except (ValueError, yaml.YAMLError) as exc:
            kind = "patch" if patch else "object"
            raise BadRequest(f"the {kind} in the request body is not valid {content_type}: {exc}") from None

    def _create(self, request: Request, ri: RequestInfo, body: bytes) -> Response:
        query = request.query_params
        payload = {"eviction": "Eviction", "token": "TokenRequest"}.get(ri.subresource or "", ri.info.kind)
        doc = self._decode(request, body, payload)
        dry_run = _dry_run(query.getlist("dryRun"))
        if ri.subresource == "eviction":
            return self._evict(ri, doc, dry_run)
        if ri.subresource == "token":
            return self._token(ri, doc)
        obj, warnings = self.registry.create_from(
            ri.info,
            doc,
            ri.namespace,
            dry_run=dry_run,
            field_validation=_field_validation(query.get("fieldValidation")),
        )
        return json_response(obj, 201, warnings=warnings)

    def _update(self, request: Request, ri: RequestInfo, body: bytes) -> Response:
        assert ri.name is not None
        query = request.query_params
        doc = self._decode(request, body, "Scale" if ri.subresource == "scale" else ri.info.kind)
        dry_run = _dry_run(query.getlist("dryRun"))
        if ri.subresource == "status":
            return json_response(
                self.registry.replace_status_from(ri.info, ri.namespace, ri.name, doc, dry_run=dry_run)
            )
        if ri.subresource == "scale":
            return self._set_scale(ri, _scale_from(doc), dry_run)
        obj, warnings = self.registry.replace_from(
            ri.info,
            ri.namespace,
            ri.name,
            doc,
            dry_run=dry_run,
            field_validation=_field_validation(query.get("fieldValidation")),
        )
        return json_response(obj, warnings=warnings)

    def _patch(self, request: Request, ri: RequestInfo, body: bytes) -> Response:
        assert ri.name is not None
        query = request.query_params
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None:
            raise UnsupportedMediaType(
                f'the body of the request was in an unknown format "{content_type}": accepted media types '
                "include: " + ", ".join(PATCH_TYPES)
            )
        patch = self._decode(request, body, ri.info.kind, patch=True)
        dry_run = _dry_run(query.getlist("dryRun"))
        if ri.subresource == "scale":
            live = self.store.must_get(ri.info.kind, ri.namespace, ri.name)
            current = _scale_of(live)
            patched = self.registry.patched_document(current.to_dict(), patch_type, patch)
            return self._set_scale(ri, _scale_from(patched), dry_run)
        obj, warnings = self.registry.patch_object(
            ri.info,
            ri.namespace,
            ri.name,
            patch_type,
            patch,
            subresource=ri.subresource,
            dry_run=dry_run,
            field_validation=_field_validation(query.get("fieldValidation")),
            field_manager=query.get("fieldManager"),
            force=query.get("force", "").lower() == "true",
        )
        return json_response(obj, warnings=warnings)

    def _delete_options(self, request: Request, body: bytes) -> DeleteOptions:
        query = request.query_params
        data: Obj = {}
        if body.strip():
            try:
                loaded = json.loads(body)
            except ValueError as exc:
                raise BadRequest(f"the DeleteOptions in the request body are not valid JSON: {exc}") from None
            if isinstance(loaded, dict):
                data = loaded
        if query.get("gracePeriodSeconds") not in (None, ""):
            data["gracePeriodSeconds"] = _int(query.get("gracePeriodSeconds"), "gracePeriodSeconds")
        if query.get("propagationPolicy"):
            data["propagationPolicy"] = query.get("propagationPolicy")
        if query.get("orphanDependents"):
            data["orphanDependents"] = _flag(query.get("orphanDependents"))
        if query.getlist("dryRun"):
            data["dryRun"] = query.getlist("dryRun")
        try:
            options = DeleteOptions.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadRequest(f"DeleteOptions: {where}: {first['msg']}") from None
        _dry_run(options.dry_run or [])
        return options

    def _delete(self, request: Request, ri: RequestInfo, body: bytes) -> Response:
        assert ri.name is not None
        options = self._delete_options(request, body)
        obj = self.registry.delete_object(ri.info, ri.namespace, ri.name, options)
        return json_response(obj)

    async def _delete_collection(self, request: Request, ri: RequestInfo) -> Response:
        options = self._delete_options(request, await request.body())
        selectors = self._selectors(request)
        namespace = ri.namespace if ri.info.namespaced else None
        deleted: list[Obj] = []
        for obj in self.store.page(ri.info.kind, namespace).objects():
            if not selectors.matches(obj):
                continue
            try:
                deleted.append(
                    self.registry.delete_object(
                        ri.info, obj["metadata"].get("namespace"), obj["metadata"]["name"], options
                    )
                )
            except NotFound:
                continue
        envelope = {
            "kind": list_kind(ri.info),
            "apiVersion": ri.info.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version())},
            "items": deleted,
        }
        return json_response(envelope)

    # ------------------------------------------------------------------ subresources

    def _set_scale(self, ri: RequestInfo, scale: Scale, dry_run: bool) -> Response:
        assert ri.name is not None
        live = self.store.must_get(ri.info.kind, ri.namespace, ri.name)
        sent_rv = scale.metadata.resource_version
        if sent_rv and sent_rv != live["metadata"]["resourceVersion"]:
            raise Conflict.modified(ri.info.plural_qualified, ri.name)
        if not dry_run:
            live["spec"]["replicas"] = scale.spec.replicas
            live = self.store.update(live)
        else:
            live = {**live, "spec": {**live["spec"], "replicas": scale.spec.replicas}}
        return json_response(_scale_of(live))

    def _evict(self, ri: RequestInfo, doc: Any, dry_run: bool) -> Response:
        assert ri.name is not None
        try:
            eviction = Eviction.model_validate(doc)
        except ValidationError as exc:
            raise BadRequest(f"Eviction: {exc.errors()[0]['msg']}") from None
        options = eviction.delete_options or DeleteOptions()
        if dry_run:
            options = options.model_copy(update={"dry_run": ["All"]})
        self.registry.delete_object(ri.info, ri.namespace, ri.name, options)
        return json_response(Status(status="Success", code=201), 201)

    def _token(self, ri: RequestInfo, doc: Any) -> Response:
        """A TokenRequest: a token of the ServiceAccount, in the request's status."""
        assert ri.name is not None
        try:
            asked = TokenRequest.model_validate(doc)
        except ValidationError as exc:
            raise BadRequest(f"TokenRequest: {exc.errors()[0]['msg']}") from None
        account = self.store.must_get("ServiceAccount", ri.namespace, ri.name)
        if self.tokens is None:
            raise MethodNotAllowed("this server issues no ServiceAccount tokens")
        token, expires = self.tokens.issue(
            ri.namespace or "", ri.name, account["metadata"]["uid"], asked.spec.audiences, asked.spec.expiration_seconds
        )
        seconds = expires - int(time.time())
        answer = asked.model_copy(
            update={
                "metadata": ObjectMeta(name=ri.name, namespace=ri.namespace, creation_timestamp=now_iso()),
                "spec": asked.spec.model_copy(
                    update={"expiration_seconds": seconds, "audiences": asked.spec.audiences or [ISSUER]}
                ),
                "status": TokenRequestStatus(
                    token=token, expiration_timestamp=format_time(datetime.fromtimestamp(expires, UTC))
                ),
            }
        )
        return json_response(answer.to_dict(), 201)

    # ------------------------------------------------------------------ computed kinds

    async def _computed(self, request: Request, ri: RequestInfo, render: Rendering) -> Response:
        kind = ri.info.kind
        if kind == "SelfSubjectAccessReview":
            try:
                body = self._decode(request, await request.body(), kind)
                review = SelfSubjectAccessReview.model_validate(body)
            except ValidationError as exc:
                raise BadRequest(f"SelfSubjectAccessReview: {exc.errors()[0]['msg']}") from None
            return json_response(review_access(self.policy, self.scope_of(request), review), 201)
        selectors = self._selectors(request)
        if kind == "CustomResourceDefinition":
            items = [o for o in custom_resource_definitions() if selectors.matches(o)]
        elif kind == "PodMetrics":
            pods = {
                (p["metadata"]["namespace"], p["metadata"]["name"]): p
                for p in self.store.list_objects("Pod", ri.namespace)
            }
            items = pod_metrics(self.usage, pods, ri.namespace, selectors.label)
        else:
            nodes = self.store.list_objects("Node")
            items = [node_metrics(self.usage, n) for n in nodes if selectors.matches(n)]
        if ri.name is not None:
            found = next((o for o in items if o["metadata"]["name"] == ri.name), None)
            if found is None:
                raise NotFound.of(ri.info.plural_qualified, ri.name)
            return json_response(self._render_one(ri.info, found, render))
        if ri.verb == "watch":
            info = ri.info

            def shape(obj: Obj) -> Obj:
                shaped = self._render_one(info, obj, render)
                return shaped.to_dict() if hasattr(shaped, "to_dict") else dict(shaped)

            return StreamingResponse(static_watch(items, _watch_params(request), shape), media_type=JSON)
        rv = str(self.store.resource_version())
        if render.form == "table":
            return json_response(
                table_of(ri.info, items, render.include_object, list_meta=ListMeta(resource_version=rv))
            )
        envelope = {
            "kind": list_kind(ri.info),
            "apiVersion": ri.info.api_version,
            "metadata": {"resourceVersion": rv},
            "items": items,
        }
        return json_response(envelope)


def _watch_params(request: HTTPConnection) -> WatchParams:
    query = request.query_params
    timeout = _int(query.get("timeoutSeconds"), "timeoutSeconds")
    initial = query.get("sendInitialEvents")
    return WatchParams(
        resource_version=query.get("resourceVersion"),
        allow_bookmarks=_flag(query.get("allowWatchBookmarks")),
        timeout_seconds=float(timeout) if timeout else None,
        send_initial_events=None if initial in (None, "") else _flag(initial),
    )


def _scale_of(obj: Obj) -> Scale:
    """The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet."""
    meta = obj["metadata"]
    selector = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
    return Scale(
        metadata=ObjectMeta(
            name=meta["name"],
            namespace=meta.get("namespace"),
            uid=meta.get("uid"),
            resource_version=meta.get("resourceVersion"),
            creation_timestamp=meta.get("creationTimestamp"),
        ),
        spec=ScaleSpec(replicas=int(obj["spec"].get("replicas", 1))),
        status=ScaleStatus(
            replicas=int((obj.get("status") or {}).get("replicas", 0)),
            selector=",".join(f"{k}={v}" for k, v in selector.items()) or None,
        ),
    )


def _scale_from(doc: Any) -> Scale:
    try:
        return Scale.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadRequest(f"Scale: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
