"""What an agent may do with a remedlab server, over HTTP with the agent token: observe the cluster
(objects, logs and events through its Kubernetes API; metrics, traces, topology) and act (probes, playbooks).

Agents run on the client side, possibly on another machine, so this is all they know of the server.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from remedlab import paths
from remedlab.api.kinds import BY_PLURAL, KindInfo, api_path
from remedlab.tokens import default_token_file, token_for_scope

DEFAULT_SERVER = "http://127.0.0.1:7411"
AGENT_TOKEN_ENV = "REMEDLAB_AGENT_TOKEN"

Obj = dict[str, Any]


def _kind(resource: str) -> KindInfo:
    info = BY_PLURAL.get(resource)
    if info is None:
        raise AgentApiError(f"unknown resource {resource!r}: name a kind by its plural (pods, deployments, ...)")
    return info


class AgentApiError(Exception):
    """The server refused or failed a request, or could not be reached; the message says which, in one line."""


def agent_token(explicit: str | None = None) -> str | None:
    """``explicit``, else ``$REMEDLAB_AGENT_TOKEN``, else the agent token of the local server's token file."""
    if explicit:
        return explicit
    token = os.environ.get(AGENT_TOKEN_ENV, "").strip()
    if token:
        return token
    return token_for_scope(default_token_file(paths.home()), "agent")


def server_address(explicit: str | None = None) -> str:
    url = (explicit or os.environ.get("REMEDLAB_SERVER") or DEFAULT_SERVER).strip().rstrip("/")
    return url if "://" in url else "http://" + url


class AgentApi:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = server_address(url)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Agents' traffic to the server never goes through a proxy from the environment.
        self.http = httpx.Client(base_url=self.url, timeout=timeout, headers=headers, trust_env=False)

    @classmethod
    def from_env(cls, url: str | None = None, token: str | None = None) -> AgentApi:
        return cls(url, agent_token(token))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AgentApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ raw requests

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None, **query: Any) -> Any:
        params = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items() if v is not None}
        try:
            response = self.http.request(
                method,
                path,
                params=params,
                json=body,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.ConnectError:
            raise AgentApiError(f"no remedlab server answers at {self.url}") from None
        except httpx.TimeoutException:
            raise AgentApiError(f"the server at {self.url} did not answer {method} {path} in time") from None
        except httpx.HTTPError as exc:
            raise AgentApiError(f"{method} {path}: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("message") or response.text
            except ValueError:
                detail = response.text
            raise AgentApiError(f"{method} {path}: HTTP {response.status_code}: {str(detail).strip()[:300]}")
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    # ------------------------------------------------------------------ observing

    def objects(self, resource: str, namespace: str | None = None, selector: str | None = None) -> list[Obj]:
        """Objects of a kind (its plural, e.g. ``pods``) through the Kubernetes API, in one namespace or all."""
        answer = self.request("GET", api_path(_kind(resource), namespace), labelSelector=selector)
        return list(answer.get("items") or [])

    def get(self, resource: str, namespace: str, name: str) -> Obj:
        return dict(self.request("GET", api_path(_kind(resource), namespace, name)))

    def pod_log(
        self,
        namespace: str,
        pod: str,
        *,
        tail: int | None = 100,
        previous: bool = False,
        since: int | None = None,
        timestamps: bool = False,
    ) -> str:
        """A pod's log; with ``timestamps``, each line starts with its RFC 3339 time and a space."""
        text = self.request(
            "GET",
            api_path(BY_PLURAL["pods"], namespace, pod, "log"),
            tailLines=tail,
            previous=previous or None,
            sinceSeconds=since,
            timestamps=timestamps or None,
        )
        return text if isinstance(text, str) else str(text)

    def events(self, namespace: str) -> list[Obj]:
        return self.objects("events", namespace)

    def pod_metrics(self, namespace: str, seconds: int = 60) -> list[Obj]:
        return list(self.request("GET", "/v1/metrics/pods", namespace=namespace, seconds=seconds).get("items") or [])

    def service_metrics(self, namespace: str, seconds: int = 60) -> list[Obj]:
        answer = self.request("GET", "/v1/metrics/services", namespace=namespace, seconds=seconds)
        return list(answer.get("items") or [])

    def traces(
        self,
        namespace: str,
        *,
        since: int = 300,
        errors_only: bool = False,
        limit: int = 50,
        service: str | None = None,
    ) -> list[Obj]:
        answer = self.request(
            "GET",
            "/v1/traces",
            namespace=namespace,
            sinceSeconds=since,
            errorsOnly=errors_only or None,
            limit=limit,
            service=service,
        )
        return list(answer.get("traces") or [])

    def trace(self, trace_id: str) -> Obj:
        return dict(self.request("GET", f"/v1/traces/{trace_id}"))

    def topology(self, namespace: str, since: int = 300) -> Obj:
        return dict(self.request("GET", "/v1/topology", namespace=namespace, sinceSeconds=since))

    # ------------------------------------------------------------------ acting

    def probe(self, commands: str, timeout: float = 10.0) -> Obj:
        """Run read-only commands (``;``-separated) through the server's allowlist."""
        body = {"commands": commands, "timeoutSeconds": timeout}
        return dict(self.request("POST", "/v1/remediation/probe", body, timeout=timeout * 8 + 30))

    def playbook(self, text: str, timeout: float = 300.0) -> Obj:
        """Run an Ansible playbook through the server's policy; every task's result comes back."""
        body = {"playbook": text, "timeoutSeconds": timeout}
        return dict(self.request("POST", "/v1/remediation/playbook", body, timeout=timeout + 30))
