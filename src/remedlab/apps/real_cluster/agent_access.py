"""An agent's access to an app's namespace on a real cluster: a ServiceAccount, the Role that
allows what remedlab's `agent` scope allows (its rules are data: `agent_role.yaml`, which says
what they grant and withhold), and the RoleBinding between them.

The agent's credentials are then a token of that ServiceAccount, e.g.
`kubectl create token remedlab-agent -n hotel-reservation`. The server, driving a cluster through a
kubeconfig, makes one account for all its namespaces (`server/agent_credentials.py`) and grants it
the Role in each namespace it deploys an app to.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

AGENT_NAME = "remedlab-agent"
LABELS = {"app.kubernetes.io/name": AGENT_NAME, "app.kubernetes.io/part-of": "remedlab"}
RBAC_API = "rbac.authorization.k8s.io"


class PolicyRule(BaseModel):
    """One rule of a Role, as Kubernetes spells it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_groups: tuple[str, ...] = Field(alias="apiGroups")
    resources: tuple[str, ...]
    verbs: tuple[str, ...]

    def manifest(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class AgentRole(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[PolicyRule, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> AgentRole:
        if path is None:
            text = resources.files("remedlab.apps.real_cluster").joinpath("agent_role.yaml").read_text()
        else:
            text = path.read_text()
        return cls.model_validate(yaml.safe_load(text) or {})


def agent_account(namespace: str, name: str = AGENT_NAME) -> dict[str, Any]:
    """The agent's ServiceAccount, as a manifest."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, namespace)}


def agent_grant(
    namespace: str, account_namespace: str, name: str = AGENT_NAME, role: AgentRole | None = None
) -> list[dict[str, Any]]:
    """The Role of the agent's rights in ``namespace`` and the RoleBinding that grants it to the agent's
    ServiceAccount (in ``account_namespace``), as manifests."""
    rules = role if role is not None else AgentRole.load()
    return [
        {
            "apiVersion": f"{RBAC_API}/v1",
            "kind": "Role",
            "metadata": _metadata(name, namespace),
            "rules": [rule.manifest() for rule in rules.rules],
        },
        {
            "apiVersion": f"{RBAC_API}/v1",
            "kind": "RoleBinding",
            "metadata": _metadata(name, namespace),
            "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": account_namespace}],
        },
    ]


def agent_access(namespace: str, name: str = AGENT_NAME, role: AgentRole | None = None) -> list[dict[str, Any]]:
    """The ServiceAccount `name` in `namespace`, its Role and its RoleBinding, as manifests."""
    return [agent_account(namespace, name), *agent_grant(namespace, namespace, name, role)]


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(LABELS)}
