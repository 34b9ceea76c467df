"""Who may do what: ServiceAccounts, their tokens (TokenRequest), and the RBAC kinds (Role,
ClusterRole, RoleBinding, ClusterRoleBinding), in the shapes of Kubernetes' core/v1,
authentication.k8s.io/v1 and rbac.authorization.k8s.io/v1."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from remedlab.api.objects import K8sModel, NameRef, ObjectMeta, TypedObject

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_V1 = f"{RBAC_GROUP}/v1"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
"""The user name of a ServiceAccount's tokens: ``system:serviceaccount:NAMESPACE:NAME``."""


class ServiceAccount(TypedObject):
    """ServiceAccount is an identity for programs (and agents) working with the API: its tokens
    authenticate as ``system:serviceaccount:NAMESPACE:NAME``, and RoleBindings say what it may do."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    secrets: list[dict[str, Any]] = Field(
        default_factory=list, description="Secrets holding long-lived tokens of the account (legacy)."
    )
    image_pull_secrets: list[NameRef] = Field(
        default_factory=list, description="Secrets the pods of this account pull their images with."
    )
    automount_service_account_token: bool | None = Field(
        default=None, description="Whether pods of this account get a token mounted."
    )


class PolicyRule(K8sModel):
    """What a rule allows: the verbs on resources of API groups (``*`` for all), or on non-resource URLs."""

    verbs: list[str] = Field(description='Verbs the rule allows: get, list, watch, create, update, patch, delete, "*".')
    api_groups: list[str] = Field(default_factory=list, description='API groups of the resources ("" is core).')
    resources: list[str] = Field(
        default_factory=list, description='Resources, "resource/subresource" for a subresource, "*" for all.'
    )
    resource_names: list[str] = Field(
        default_factory=list, description="Names of the objects the rule is limited to (empty: any)."
    )
    non_resource_urls: list[str] = Field(
        default_factory=list, alias="nonResourceURLs", description="Non-resource URLs (cluster roles only)."
    )


class Role(TypedObject):
    """Role is a set of rules in a namespace, bound to users and accounts by RoleBindings."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["Role"] = "Role"
    rules: list[PolicyRule] = Field(default_factory=list, description="What the role allows.")


class ClusterRole(TypedObject):
    """ClusterRole is a set of rules that a RoleBinding grants in one namespace, or a
    ClusterRoleBinding in all."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["ClusterRole"] = "ClusterRole"
    rules: list[PolicyRule] = Field(default_factory=list, description="What the role allows.")
    aggregation_rule: dict[str, Any] | None = Field(
        default=None, description="Selects ClusterRoles whose rules this one aggregates (not evaluated)."
    )


class Subject(K8sModel):
    """Who a binding grants its role to: a ServiceAccount, a User or a Group."""

    kind: Literal["ServiceAccount", "User", "Group"] = Field(description="ServiceAccount, User or Group.")
    name: str = Field(description="Name of the subject.")
    namespace: str | None = Field(default=None, description="Namespace of a ServiceAccount.")
    api_group: str | None = Field(default=None, description='"" for ServiceAccounts, rbac.authorization.k8s.io else.')


class RoleRef(K8sModel):
    """The role a binding grants."""

    api_group: str = Field(description="rbac.authorization.k8s.io.")
    kind: Literal["Role", "ClusterRole"] = Field(description="Role or ClusterRole.")
    name: str = Field(description="Name of the role.")


class RoleBinding(TypedObject):
    """RoleBinding grants a Role (or a ClusterRole) to subjects in the binding's namespace."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["RoleBinding"] = "RoleBinding"
    subjects: list[Subject] = Field(default_factory=list, description="Who the role is granted to.")
    role_ref: RoleRef = Field(description="The role granted. Cannot be changed.")


class ClusterRoleBinding(TypedObject):
    """ClusterRoleBinding grants a ClusterRole to subjects in every namespace."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["ClusterRoleBinding"] = "ClusterRoleBinding"
    subjects: list[Subject] = Field(default_factory=list, description="Who the role is granted to.")
    role_ref: RoleRef = Field(description="The ClusterRole granted. Cannot be changed.")


class BoundObjectReference(K8sModel):
    """An object a token is bound to: the token is invalid once that object is gone."""

    kind: str | None = Field(default=None, description="Pod or Secret.")
    api_version: str | None = Field(default=None, description="API version of the object.")
    name: str | None = Field(default=None, description="Name of the object.")
    uid: str | None = Field(default=None, description="UID of the object.")


class TokenRequestSpec(K8sModel):
    """What token is asked for."""

    audiences: list[str] = Field(default_factory=list, description="Who the token is meant for.")
    expiration_seconds: int | None = Field(default=None, description="How long the token is valid (default 1 hour).")
    bound_object_ref: BoundObjectReference | None = Field(default=None, description="An object the token is bound to.")


class TokenRequestStatus(K8sModel):
    """The token issued."""

    token: str = Field(description="The bearer token.")
    expiration_timestamp: str = Field(description="When the token stops being valid.")


class TokenRequest(K8sModel):
    """TokenRequest asks for a token of a ServiceAccount (`kubectl create token`)."""

    api_version: Literal["authentication.k8s.io/v1"] = "authentication.k8s.io/v1"
    kind: Literal["TokenRequest"] = "TokenRequest"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TokenRequestSpec = Field(default_factory=TokenRequestSpec, description="The token asked for.")
    status: TokenRequestStatus | None = Field(default=None, description="The token issued. Read-only.")


def service_account_user(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
