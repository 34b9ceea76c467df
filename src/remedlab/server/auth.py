"""Bearer-token auth and scopes for the API.

Every route but ``/healthz`` and the API's documents needs a token: none (or
an unknown one) gets 401, a token whose scope may not use the route gets 403,
both as Kubernetes-shaped Status objects with a one-line message.

``admin`` may do everything. ``agent`` may observe and remediate: the cluster's
objects (kubectl's routes), logs, exec, metrics, traces, events, the fault
catalog (without its ground truth), and the remediation endpoints; not deploying
or removing apps, injecting, reading or stopping faults (chaos objects, which
would also tell it the answer), restoring manifests or grading.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from remedlab.api.access import RequestAttributes
from remedlab.api.kinds import CHAOS_KINDS, KINDS, READ_VERBS
from remedlab.api.rbac import RBAC_GROUP
from remedlab.tokens import scope_of

OPEN_PATHS = frozenset(
    {"/healthz", "/livez", "/readyz", "/version", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)
ADMIN_ONLY_PREFIXES = ("/v1/chaos",)
SCOPE_KEY = "auth_scope"

CHAOS_GROUPS = frozenset(info.group for info in KINDS if info.kind in CHAOS_KINDS)

_CHAOS_RESOURCES = frozenset(
    name.lower()
    for info in KINDS
    if info.kind in CHAOS_KINDS
    for name in (info.plural, info.singular, info.kind, *info.short_names)
)


def _names_chaos(resource: str) -> bool:
    return resource.lower().split(".", 1)[0] in _CHAOS_RESOURCES


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs: ``admin``, ``agent``, or None for the open routes."""
    if path in OPEN_PATHS:
        return None
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["apis"] and len(parts) > 1 and parts[1] in CHAOS_GROUPS:
        return "admin"
    if not parts or parts[0] != "v1":
        return ADMIN_SCOPED_ROOTS.get(parts[0], "agent") if parts else "agent"
    rest = parts[1:]
    if path.startswith(ADMIN_ONLY_PREFIXES):
        return "admin"
    if rest[:1] == ["apps"] and method != "GET":
        return "admin"
    if rest[:1] in (["grade"], ["workloads"]):
        return "admin"
    if rest and _names_chaos(rest[0]):
        return "admin"
    if len(rest) >= 3 and rest[0] == "namespaces" and _names_chaos(rest[2]):
        return "admin"
    return "agent"


ADMIN_SCOPED_ROOTS: dict[str, str] = {
    # the MicroRemed client-server protocol: its environment control is the admin's
    "deploy_env": "admin",
    "inject_failure": "admin",
    "check_status": "admin",
    "stop_injection": "admin",
    "restore_by_original_manifest": "admin",
    "execute_playbook": "agent",
    "execute_probe": "agent",
}


def permits(held: str, needed: str) -> bool:
    return held == "admin" or held == needed


class ScopePolicy:
    """What each scope may do through the Kubernetes API (served to `kubectl auth can-i` as well)."""

    def subject(self, scope: str) -> str:
        return f"remedlab:{scope}"

    def denial(self, scope: str, attributes: RequestAttributes) -> str | None:
        if scope == "admin":
            return None
        if attributes.group in CHAOS_GROUPS:
            return "faults are the admin's: a token of scope agent may neither inject, read nor stop them"
        if attributes.group == RBAC_GROUP and attributes.verb not in READ_VERBS:
            return "permissions are the admin's: a token of scope agent may read RBAC objects, not change them"
        if attributes.resource_path == "serviceaccounts/token":
            return "tokens are the admin's: a token of scope agent may not request ServiceAccount tokens"
        return None


def _status(code: int, reason: str, message: str) -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason}
    return json.dumps({**body, "code": code}).encode()


Authenticator = Callable[[str], str | None]
"""Bearer token -> the user it authenticates as (a ServiceAccount's), or None."""


def is_kubernetes_api(path: str) -> bool:
    """Paths of the Kubernetes API: its resources, discovery and OpenAPI documents."""
    return path in ("/api", "/apis") or path.startswith(("/api/", "/apis/", "/openapi/"))


class BearerAuth:
    """ASGI middleware: checks the bearer token against ``tokens`` (token -> scope) before any route runs.
    Tokens it does not hold go to ``authenticate`` (ServiceAccounts' tokens): those may use the
    Kubernetes API only, where RBAC decides."""

    def __init__(self, app: ASGIApp, tokens: dict[str, str], authenticate: Authenticator | None = None) -> None:
        self.app = app
        self.tokens = tokens
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        needed = required_scope(method, scope["path"])
        if needed is None:
            await self.app(scope, receive, send)
            return
        presented = _bearer(scope)
        held = scope_of(self.tokens, presented) if presented else None
        if held is None and presented and self.authenticate is not None:
            held = self.authenticate(presented)
        if held is None:
            why = "no bearer token" if not presented else "the bearer token is not valid"
            message = f"Unauthorized: {why}; send Authorization: Bearer <token> (see the server's tokens.json)"
            await _deny(scope, send, 401, "Unauthorized", message)
            return
        kubernetes_api = is_kubernetes_api(scope["path"])
        if not permits(held, needed) and not kubernetes_api:  # the Kubernetes API words its own refusals
            message = f"Forbidden: a token of scope {held} may not {method} {scope['path']} ({needed} only)"
            await _deny(scope, send, 403, "Forbidden", message)
            return
        scope.setdefault("state", {})[SCOPE_KEY] = held
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == b"authorization":
            text: str = bytes(value).decode("latin-1")
            kind, _, token = text.partition(" ")
            if kind.lower() == "bearer":
                return token.strip()
    return ""


async def _deny(scope: Scope, send: Send, code: int, reason: str, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = _status(code, reason, message)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if code == 401:
        headers.append((b"www-authenticate", b'Bearer realm="remedlab"'))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def scope_of_request(state: Any) -> str:
    """The scope the request was authorised with (``admin`` when auth is not in use)."""
    return str(getattr(state, SCOPE_KEY, "admin"))
