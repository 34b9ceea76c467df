"""Running the server: uvicorn over the app, with a record of where it listens."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.routing import BaseRoute

from remedlab import paths
from remedlab.api.errors import ClusterError
from remedlab.cluster.apiserver.certificates import ensure_certificates
from remedlab.cluster.apiserver.computed import custom_resource_definitions
from remedlab.cluster.apiserver.rbac_authorizer import RbacPolicy
from remedlab.cluster.apiserver.rest import RestHandler
from remedlab.cluster.apiserver.routes import api_routes
from remedlab.cluster.apiserver.service_account_tokens import KEY_FILE as SERVICE_ACCOUNT_KEY
from remedlab.cluster.apiserver.service_account_tokens import ServiceAccountAuthenticator, TokenIssuer
from remedlab.cluster.apiserver.watch_cache import WatchCache
from remedlab.cluster.embedded import ClusterConfig
from remedlab.cluster.local_backend import LocalBackend
from remedlab.cluster.node.kubelet import KubeletConfig
from remedlab.kube.cluster_checks import CHAOS_MESH_GROUP
from remedlab.kube.kube_backend import ServiceAccess
from remedlab.kubeconfig import kubeconfig_path, write_kubeconfig
from remedlab.observe.otlp_receiver import OTLP_HTTP_PORT, OtlpReceiver
from remedlab.observe.trace_store import TraceStore
from remedlab.server.access_log import access_log_path
from remedlab.server.agent_credentials import AgentCredentials
from remedlab.server.app import create_app
from remedlab.server.app_placement import AppPlacement
from remedlab.server.auth import Authenticator, ScopePolicy, scope_of_request
from remedlab.server.remediation_routes import ActionSettings
from remedlab.server.tls_listener import GRACEFUL_SECONDS, TlsListener, bind
from remedlab.server.websocket_protocol import KubernetesWebSocketProtocol
from remedlab.tokens import create_token_file, default_token_file, load_tokens

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7411
DEFAULT_KUBE_PORT = 6443
"""The Kubernetes API's HTTPS port, as kube-apiserver's."""


class ServeError(Exception):
    """The server cannot start; the message says why and what to do, in one line."""


def server_record_path(home: Path | None = None) -> Path:
    return (home or paths.home()) / "server.json"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def prepare_tokens(home: Path, token_file: Path | None) -> tuple[Path, dict[str, str]]:
    """The token file (the given one, or `home/tokens.json`, created with new tokens) and its tokens."""
    path = token_file or default_token_file(home)
    if token_file is None:
        create_token_file(path)
    return path, load_tokens(path)


def kubernetes_api(backend: LocalBackend, home: Path) -> tuple[list[BaseRoute], Authenticator]:
    """The Kubernetes API of the embedded cluster, under the server's tokens and scopes and, for the
    tokens of its ServiceAccounts, RBAC; and what authenticates those tokens."""
    cluster = backend.cluster
    issuer = TokenIssuer(home / "pki" / SERVICE_ACCOUNT_KEY)
    rest = RestHandler(
        cluster.store,
        cluster.api,
        WatchCache(cluster.store),
        cluster.sampler,
        RbacPolicy(cluster.store, ScopePolicy()),
        lambda conn: scope_of_request(conn.state),
        cluster.config.node_name,
        issuer,
    )
    routes = api_routes(rest, cluster.kubelet.pod_logs, cluster.kubelet.open_exec, cluster.kubelet.open_port_forward)
    return routes, ServiceAccountAuthenticator(issuer, cluster.store)


@dataclass(frozen=True)
class ExternalCluster:
    """A cluster the server drives through its Kubernetes API instead of running one of its own."""

    kubeconfig: Path
    context: str | None = None
    agent_kubeconfig: Path | None = None
    """What agents' kubectl uses: credentials with the agent's permissions on that cluster."""
    otlp_listen: tuple[str, int] | None = None
    """Where the server receives the spans of the apps it deploys there (an address their pods reach)."""
    registry: str | None = None
    """Where the cluster pulls remedlab's container images from (a real cluster)."""
    service_access: ServiceAccess = "auto"
    """How the server reaches Services (see KubeBackend)."""

    @property
    def otlp_endpoint(self) -> str | None:
        return f"http://{self.otlp_listen[0]}:{self.otlp_listen[1]}" if self.otlp_listen else None


def _embedded_cluster_app(
    home: Path,
    host: str,
    kube_port: int,
    backoff_base: float,
    isolation: str,
    tokens: dict[str, str],
    traces: TraceStore,
    has_agent: bool,
) -> tuple[FastAPI, str]:
    """The server over a cluster of its own, serving that cluster's Kubernetes API on ``kube_port``."""
    try:
        kube_socket = bind(host, kube_port)
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {host}:{kube_port} for the Kubernetes API ({exc.strerror}): "
            "pass --kube-port with a free port (0: any)"
        ) from None
    certificates = ensure_certificates(home / "pki", [host])
    tls = TlsListener(kube_socket, certificates)
    config = ClusterConfig(
        home=home,
        kubelet=KubeletConfig(backoff_base=backoff_base),
        prefer_fallback_isolation=isolation == "fallback",
    )
    backend = LocalBackend(config)
    # the node-local collector pods export to (OTEL_EXPORTER_OTLP_ENDPOINT=http://$(HOST_IP):4318)
    receiver = OtlpReceiver(traces, backend.cluster.node_ip, OTLP_HTTP_PORT)
    actions = ActionSettings(home, kubeconfig_path(home, "agent")) if has_agent else None
    routes, authenticate = kubernetes_api(backend, home)
    app = create_app(backend, traces, receiver, tokens, actions, routes, tls, access_log_path(home), authenticate)
    local_host = host if is_loopback_host(host) else DEFAULT_HOST
    kube_url = f"https://{local_host}:{tls.port}"
    for token, scope in tokens.items():
        write_kubeconfig(kubeconfig_path(home, scope), kube_url, token, scope, certificates.ca_pem())
    return app, kube_url


def _external_cluster_app(
    home: Path, external: ExternalCluster, tokens: dict[str, str], traces: TraceStore, has_agent: bool
) -> tuple[FastAPI, str]:
    """The server over a cluster a kubeconfig names: it serves no Kubernetes API of its own."""
    from remedlab.apps.real_cluster.image_references import RegistryError
    from remedlab.kube.kube_backend import KubeBackend
    from remedlab.kube.kubeconfig_reader import KubeconfigError, load_kubeconfig

    try:
        placement = AppPlacement(otlp_endpoint=external.otlp_endpoint, registry=external.registry)
    except RegistryError as exc:
        raise ServeError(str(exc)) from None
    try:
        backend = KubeBackend(external.kubeconfig, external.context, external.otlp_endpoint, external.service_access)
        if external.agent_kubeconfig is not None:
            load_kubeconfig(external.agent_kubeconfig)
    except KubeconfigError as exc:
        raise ServeError(str(exc)) from None
    actions = None
    if has_agent and external.agent_kubeconfig is not None:
        actions = ActionSettings(home, external.agent_kubeconfig)
    elif has_agent:
        credentials = AgentCredentials(backend.api, kubeconfig_path(home, "agent"))
        try:
            credentials.ensure()
        except ClusterError as exc:
            raise ServeError(
                f"cannot give agents a ServiceAccount on the cluster ({exc}): grant the kubeconfig's user "
                "the right to create namespaces, ServiceAccounts, Roles and tokens, or pass --agent-kubeconfig"
            ) from None
        placement.agent = credentials
        actions = ActionSettings(home, credentials.path, credentials.renew_if_due)
    from remedlab.server.kube_proxy import kube_proxy_routes

    routes = kube_proxy_routes(backend.api, ScopePolicy())
    receiver = OtlpReceiver(traces, *external.otlp_listen) if external.otlp_listen else None
    app = create_app(backend, traces, receiver, tokens, actions, routes, None, access_log_path(home))
    app.state.placement = placement
    return app, backend.creds.server


def own_kinds() -> list[dict[str, Any]]:
    """The CustomResourceDefinitions of remedlab's own chaos kinds (not Chaos Mesh's), as a cluster
    that lacks them is given them."""
    return [
        {
            "apiVersion": crd["apiVersion"],
            "kind": crd["kind"],
            "metadata": {"name": crd["metadata"]["name"]},
            "spec": crd["spec"],
        }
        for crd in custom_resource_definitions()
        if crd["spec"]["group"] != CHAOS_MESH_GROUP
    ]


def run_server(
    host: str,
    port: int,
    backoff_base: float = 10.0,
    isolation: str = "auto",
    token_file: Path | None = None,
    on_tokens: Callable[[Path], None] | None = None,
    kube_port: int = DEFAULT_KUBE_PORT,
    external: ExternalCluster | None = None,
) -> None:
    """Serve until stopped. Raises ServeError (one line) when a port is taken or the cluster's kubeconfig
    cannot be used."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("remedlab").setLevel(logging.INFO)
    home = paths.ensure_home()
    token_path, tokens = prepare_tokens(home, token_file)
    has_agent = "agent" in tokens.values()
    traces = TraceStore(home / "traces.db")
    if external is not None:
        app, kube_url = _external_cluster_app(home, external, tokens, traces, has_agent)
    else:
        app, kube_url = _embedded_cluster_app(home, host, kube_port, backoff_base, isolation, tokens, traces, has_agent)
    if on_tokens is not None:
        on_tokens(token_path)
    record = server_record_path(home)
    record.write_text(json.dumps({"pid": os.getpid(), "url": f"http://{host}:{port}", "kubeUrl": kube_url}))
    try:
        loop = "uvloop"
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loop = "asyncio"
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            loop=loop,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            ws=KubernetesWebSocketProtocol,
        )
    finally:
        with contextlib.suppress(OSError):
            if json.loads(record.read_text()).get("pid") == os.getpid():
                record.unlink()
