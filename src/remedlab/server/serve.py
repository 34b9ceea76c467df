"""Running the server: uvicorn over the app, with a record of where it listens."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from collections.abc import Callable
from pathlib import Path

import uvicorn

from remedlab import paths
from remedlab.cluster.embedded import ClusterConfig
from remedlab.cluster.local_backend import LocalBackend
from remedlab.cluster.node.kubelet import KubeletConfig
from remedlab.observe.otlp_receiver import OTLP_HTTP_PORT, OtlpReceiver
from remedlab.observe.trace_store import TraceStore
from remedlab.server.app import create_app
from remedlab.server.remediation_routes import ActionSettings
from remedlab.tokens import create_token_file, default_token_file, load_tokens

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7411


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


def run_server(
    host: str,
    port: int,
    backoff_base: float = 10.0,
    isolation: str = "auto",
    token_file: Path | None = None,
    on_tokens: Callable[[Path], None] | None = None,
) -> None:
    home = paths.ensure_home()
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
    agent_token = next((t for t, scope in tokens.items() if scope == "agent"), None)
    actions = ActionSettings(home, f"http://{local_host}:{port}", agent_token) if agent_token is not None else None
    app = create_app(backend, traces, receiver, tokens, actions)
    record = server_record_path(home)
    record.write_text(json.dumps({"pid": os.getpid(), "url": f"http://{host}:{port}"}))
    try:
        loop = "uvloop"
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loop = "asyncio"
        uvicorn.run(app, host=host, port=port, log_level="warning", loop=loop, access_log=False)
    finally:
        with contextlib.suppress(OSError):
            if json.loads(record.read_text()).get("pid") == os.getpid():
                record.unlink()
