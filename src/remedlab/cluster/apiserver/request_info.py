"""What a request to the Kubernetes API asks for, read from its method and path.

Paths have the shapes kube-apiserver serves:

    /api/v1/{resource}[/{name}[/{subresource}]]                      cluster-scoped, or all namespaces
    /api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
    /apis/{group}/{version}/...                                         the same below a group

``namespaces/{name}[/{subresource}]`` is the Namespace object itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from remedlab.api.errors import MethodNotAllowed, NotFound
from remedlab.api.kinds import BY_GROUP_RESOURCE, KindInfo

Verb = Literal["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "connect"]

_CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})


@dataclass(frozen=True)
class RequestInfo:
    verb: Verb
    info: KindInfo
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def group(self) -> str:
        return self.info.group

    @property
    def resource(self) -> str:
        return self.info.plural


def _not_found(path: str) -> NotFound:
    return NotFound(f"the server could not find the requested resource ({path})")


def parse_request(method: str, path: str, watch: bool) -> RequestInfo:
    """The verb, kind, namespace, name and subresource of a request; NotFound for a path nothing
    serves, MethodNotAllowed for a verb the resource does not take."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise _not_found(path)
    namespace: str | None = None
    namespace_itself = len(rest) in (2, 3) and rest[0] == "namespaces" and (group, "namespaces") in BY_GROUP_RESOURCE
    if namespace_itself and len(rest) == 3 and (group, rest[2]) in BY_GROUP_RESOURCE:
        namespace_itself = False  # /namespaces/{ns}/{resource}: a collection in that namespace
    if not namespace_itself and len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise _not_found(path)
    info = BY_GROUP_RESOURCE.get((group, rest[0]))
    if info is None or info.version != version:
        raise _not_found(path)
    if namespace is not None and not info.namespaced:
        raise _not_found(path)
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) == 3 else None
    if subresource is not None and info.subresource(subresource) is None:
        raise _not_found(path)
    verb = _verb(method, name, subresource, watch)
    allowed = info.subresource(subresource).verbs if subresource else info.verbs  # type: ignore[union-attr]
    if verb != "connect" and verb not in allowed and not (verb == "watch" and "list" in allowed):
        raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({verb})")
    return RequestInfo(verb, info, namespace, name, subresource)


def _verb(method: str, name: str | None, subresource: str | None, watch: bool) -> Verb:
    if subresource in _CONNECT_SUBRESOURCES:
        return "connect"
    method = method.upper()
    if method == "GET":
        if watch:
            return "watch"
        return "get" if name else "list"
    if method == "POST" and (subresource or not name):
        return "create"
    if method in ("PUT", "PATCH") and name:
        return "update" if method == "PUT" else "patch"
    if method == "DELETE" and not subresource:
        return "delete" if name else "deletecollection"
    raise MethodNotAllowed(f"the server does not allow this method on the requested resource ({method})")
