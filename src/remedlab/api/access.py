"""What a request to the Kubernetes API asks to do, and the policy that says whether it may: the
attributes kube-apiserver's authorizers decide on (verb, API group, resource, subresource,
namespace, name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

_CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})


@dataclass(frozen=True)
class RequestAttributes:
    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection (a connection is a create)."""
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def resource_path(self) -> str:
        """``resource`` or ``resource/subresource``, as RBAC rules name them."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


class AccessPolicy(Protocol):
    """Who a request is and what it may do: the server's tokens and scopes, and RBAC."""

    def subject(self, scope: str) -> str:
        """The user name a scope acts as, in messages (e.g. ``remedlab:agent``)."""
        ...

    def denial(self, scope: str, attributes: RequestAttributes) -> str | None:
        """Why ``scope`` may not do what ``attributes`` say, or None when it may (an empty reason: refused
        because nothing allows it, as RBAC refuses)."""
        ...


def request_attributes(method: str, path: str, watch: bool = False) -> RequestAttributes | None:
    """The attributes of a request by its path alone (any resource, known or not), as kube-apiserver
    reads them; None for the paths that name no resource (discovery, OpenAPI)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    elif rest[:1] == ["namespaces"] and len(rest) == 2:
        namespace = rest[1]  # the namespace itself
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    return RequestAttributes(_verb(method, name, subresource, watch), group, resource, subresource, namespace, name)


def _verb(method: str, name: str, subresource: str, watch: bool) -> str:
    method = method.upper()
    if subresource in _CONNECT_SUBRESOURCES:
        return "get" if method == "GET" else "create"
    if method in ("GET", "HEAD"):
        return "watch" if watch else ("get" if name else "list")
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return method.lower()
