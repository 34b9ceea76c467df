"""Running the server: uvicorn over the app, with a record of where it listens."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.routing import BaseRoute

from remedlab import paths
from remedlab.cluster.apiserver.certificates import ensure_certificates
from remedlab.cluster.apiserver.rest import RestHandler
from remedlab.cluster.apiserver.routes import api_routes
from remedlab.cluster.apiserver.watch_cache import WatchCache
from remedlab.cluster.embedded import ClusterConfig
from remedlab.cluster.local_backend import LocalBackend
from remedlab.cluster.node.kubelet import KubeletConfig
from remedlab.kubeconfig import kubeconfig_path, write_kubeconfig
from remedlab.observe.otlp_receiver import OTLP_HTTP_PORT, OtlpReceiver
from remedlab.observe.trace_store import TraceStore
from remedlab.server.app import create_app
from remedlab.server.auth import ScopePolicy, scope_of_request
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


def kubernetes_api(backend: LocalBackend) -> list[BaseRoute]:
    """The Kubernetes API of the embedded cluster, under the server's tokens and scopes."""
    cluster = backend.cluster
    rest = RestHandler(
        cluster.store,
        cluster.api,
        WatchCache(cluster.store),
        cluster.sampler,
        ScopePolicy(),
        lambda conn: scope_of_request(conn.state),
        cluster.config.node_name,
    )
    return api_routes(rest, cluster.kubelet.pod_logs, cluster.kubelet.open_exec, cluster.kubelet.open_port_forward)


def run_server(
    host: str,
    port: int,
    backoff_base: float = 10.0,
    isolation: str = "auto",
    token_file: Path | None = None,
    on_tokens: Callable[[Path], None] | None = None,
    kube_port: int = DEFAULT_KUBE_PORT,
) -> None:
    """Serve until stopped. Raises ServeError (one line) when a port is taken."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("remedlab").setLevel(logging.INFO)
    home = paths.ensure_home()
    try:
        kube_socket = bind(host, kube_port)
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {host}:{kube_port} for the Kubernetes API ({exc.strerror}): "
            "pass --kube-port with a free port (0: any)"
        ) from None
    certificates = ensure_certificates(home / "pki", [host])
    tls = TlsListener(kube_socket, certificates)
    token_path, tokens = prepare_tokens(home, token_file)
    if on_tokens is not None:
        on_tokens(token_path)
    config = ClusterConfig(
        home=home,
        kubelet=KubeletConfig(backoff_base=backoff_base),
        prefer_fallback_isolation=isolation == "fallback",
    )
    backend = LocalBackend(config)
    traces = TraceStore(home / "traces.db")
    # the node-local collector pods export to (OTEL_EXPORTER_OTLP_ENDPOINT=http://$(HOST_IP):4318)
    receiver = OtlpReceiver(traces, backend.cluster.node_ip, OTLP_HTTP_PORT)
    local_host = host if is_loopback_host(host) else DEFAULT_HOST
    has_agent = "agent" in tokens.values()
    actions = ActionSettings(home, kubeconfig_path(home, "agent")) if has_agent else None
    app = create_app(backend, traces, receiver, tokens, actions, kubernetes_api(backend), tls)
    kube_url = f"https://{local_host}:{tls.port}"
    for token, scope in tokens.items():
        write_kubeconfig(kubeconfig_path(home, scope), kube_url, token, scope, certificates.ca_pem())
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
