"""Running the server: uvicorn over the app, with a record of where it listens."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import uvicorn

from remedlab import paths
from remedlab.backends.local import LocalBackend
from remedlab.cluster.embedded import ClusterConfig
from remedlab.cluster.kubelet import KubeletConfig
from remedlab.observe.otlp_receiver import OTLP_HTTP_PORT, OtlpReceiver
from remedlab.observe.trace_store import TraceStore
from remedlab.server.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7411


def server_record_path(home: Path | None = None) -> Path:
    return (home or paths.home()) / "server.json"


def run_server(host: str, port: int, backoff_base: float = 10.0, isolation: str = "auto") -> None:
    home = paths.ensure_home()
    config = ClusterConfig(
        home=home,
        kubelet=KubeletConfig(backoff_base=backoff_base),
        prefer_fallback_isolation=isolation == "fallback",
    )
    backend = LocalBackend(config)
    traces = TraceStore(home / "traces.db")
    # the node-local collector pods export to (OTEL_EXPORTER_OTLP_ENDPOINT=http://$(HOST_IP):4318)
    receiver = OtlpReceiver(traces, backend.cluster.node_ip, OTLP_HTTP_PORT)
    app = create_app(backend, traces, receiver)
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
