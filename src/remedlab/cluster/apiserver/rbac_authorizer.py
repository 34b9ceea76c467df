"""RBAC, as kube-apiserver's authorizer evaluates it, for the tokens of ServiceAccounts.

A request is allowed when a rule allows it: a rule of a ClusterRole that a ClusterRoleBinding
grants to the account, or of a Role or ClusterRole that a RoleBinding in the request's namespace
grants. Subjects match by ServiceAccount (name and namespace), user name, or group
(``system:serviceaccounts``, ``system:serviceaccounts:NAMESPACE``, ``system:authenticated``).
Rules match by verb, API group, resource (``resource/subresource`` for a subresource, ``*`` for
any, ``*/subresource``) and resourceNames. Nothing denies: what no rule allows is refused, with no
reason given (the empty denial), as kube-apiserver words it.

The server's own tokens (scopes ``admin`` and ``agent``) are not RBAC subjects: their policy is
the fallback one.
"""

from __future__ import annotations

from collections.abc import Iterator

from remedlab.api.access import AccessPolicy, RequestAttributes
from remedlab.api.kinds import Obj
from remedlab.api.rbac import SERVICE_ACCOUNT_PREFIX
from remedlab.cluster.apiserver.store import Store

ALWAYS_ALLOWED = frozenset({("authorization.k8s.io", "selfsubjectaccessreviews")})
"""What every authenticated user may do (kube-apiserver's system:basic-user role)."""


def groups_of(user: str) -> tuple[str, ...]:
    """The groups a ServiceAccount's user name belongs to."""
    namespace = user.removeprefix(SERVICE_ACCOUNT_PREFIX).split(":", 1)[0]
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")


def _subject_matches(subject: Obj, user: str, groups: tuple[str, ...]) -> bool:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or ""
        return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{subject.get('name')}" == user
    if kind == "User":
        return subject.get("name") == user
    if kind == "Group":
        return subject.get("name") in groups
    return False


def _has(values: list[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def rule_allows(rule: Obj, attributes: RequestAttributes) -> bool:
    if not _has(rule.get("verbs") or [], attributes.verb):
        return False
    if not _has(rule.get("apiGroups") or [], attributes.group):
        return False
    resources = rule.get("resources") or []
    sub = attributes.subresource
    if not (
        "*" in resources
        or attributes.resource_path in resources
        or (sub and (f"*/{sub}" in resources or f"{attributes.resource}/*" in resources))
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names


class RbacPolicy:
    """The API's policy: RBAC for ServiceAccounts' tokens, ``fallback`` for the server's own scopes."""

    def __init__(self, store: Store, fallback: AccessPolicy) -> None:
        self.store = store
        self.fallback = fallback

    def subject(self, scope: str) -> str:
        return scope if scope.startswith(SERVICE_ACCOUNT_PREFIX) else self.fallback.subject(scope)

    def denial(self, scope: str, attributes: RequestAttributes) -> str | None:
        if not scope.startswith(SERVICE_ACCOUNT_PREFIX):
            return self.fallback.denial(scope, attributes)
        if (attributes.group, attributes.resource) in ALWAYS_ALLOWED:
            return None
        if any(rule_allows(rule, attributes) for rule in self._rules(scope, attributes.namespace)):
            return None
        return ""  # kube-apiserver's RBAC gives no reason: nothing allowed it

    def _rules(self, user: str, namespace: str) -> Iterator[Obj]:
        groups = groups_of(user)
        for binding in self.store.list_objects("ClusterRoleBinding"):
            if any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
                yield from self._role_rules(binding.get("roleRef") or {}, None)
        if not namespace:
            return
        for binding in self.store.list_objects("RoleBinding", namespace):
            if any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
                yield from self._role_rules(binding.get("roleRef") or {}, namespace)

    def _role_rules(self, ref: Obj, namespace: str | None) -> Iterator[Obj]:
        kind, name = ref.get("kind"), str(ref.get("name") or "")
        if kind == "ClusterRole":
            role = self.store.get("ClusterRole", None, name)
        elif kind == "Role" and namespace is not None:
            role = self.store.get("Role", namespace, name)
        else:
            role = None
        if role is not None:
            yield from role.get("rules") or []
