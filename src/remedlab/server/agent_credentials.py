"""Agents' credentials on a cluster the server drives through a kubeconfig: a ServiceAccount the
server creates (``remedlab-agent`` in namespace ``remedlab``), granted the agent's Role in each
namespace an app is deployed to, and a kubeconfig with a token of it (TokenRequest) that agents'
kubectl uses. The token lasts a day and is renewed before it runs out, whenever an agent acts or
an app is deployed."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from remedlab.api.errors import AlreadyExists
from remedlab.api.kinds import BY_KIND, api_path
from remedlab.apps.real_cluster.agent_access import AGENT_NAME, agent_account, agent_grant
from remedlab.kube.api_client import KubeApi
from remedlab.kubeconfig import write_kubeconfig

ACCOUNT_NAMESPACE = "remedlab"
TOKEN_SECONDS = 24 * 3600
RENEW_BEFORE_SECONDS = 3600


class AgentCredentials:
    def __init__(self, api: KubeApi, path: Path, namespace: str = ACCOUNT_NAMESPACE, name: str = AGENT_NAME) -> None:
        self.api = api
        self.path = path
        self.namespace = namespace
        self.name = name
        self.expires = 0.0
        self._lock = threading.Lock()

    def ensure(self) -> Path:
        """Make the account (and its namespace) when missing, and write the kubeconfig with a fresh token.
        Raises ClusterError (one line) when the cluster refuses."""
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        for obj in (namespace, agent_account(self.namespace, self.name)):
            self._create(obj)
        self._renew()
        return self.path

    def renew_if_due(self) -> None:
        """A new token when the current one runs out within the hour."""
        if self.expires - time.time() < RENEW_BEFORE_SECONDS:
            self._renew()

    def grants(self, namespace: str) -> list[dict[str, Any]]:
        """The Role and RoleBinding that let the agent act in ``namespace``, as manifests."""
        return agent_grant(namespace, self.namespace, self.name)

    def _create(self, obj: dict[str, Any]) -> None:
        info = BY_KIND[obj["kind"]]
        try:
            self.api.request("POST", api_path(info, obj["metadata"].get("namespace")), body=obj)
        except AlreadyExists:
            pass

    def _renew(self) -> None:
        with self._lock:
            path = api_path(BY_KIND["ServiceAccount"], self.namespace, self.name, "token")
            request = {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": TOKEN_SECONDS},
            }
            answer = self.api.request("POST", path, body=request)
            status = answer.get("status") or {}
            expires = str(status.get("expirationTimestamp") or "")
            try:
                self.expires = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
            except ValueError:
                self.expires = time.time() + TOKEN_SECONDS / 2
            creds = self.api.creds
            write_kubeconfig(self.path, creds.server, str(status.get("token") or ""), "agent", creds.ca_pem)
