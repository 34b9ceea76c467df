"""`remedlab demo`: the main job, end to end on this machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import typer
from rich.console import Console

from remedlab.apps.catalog import get_app
from remedlab.cli.output import fail
from remedlab.cli.server_client import ServerClient, ServerError, ensure_server
from remedlab.server.serve import server_record_path

console = Console()


def _kubectl(*args: str) -> None:
    console.print(f"[dim]$ kubectl {' '.join(args)}[/dim]")
    subprocess.run([sys.executable, "-m", "remedlab.cli.entry", "kubectl", *args], check=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(app_name: str = typer.Option("simple-micro", "--app", help="The app to show.")) -> None:
        """Bring an app up on the embedded cluster, show it working, and take it down."""
        info = get_app(app_name)
        client = ServerClient(timeout=180)
        try:
            started_server = ensure_server(client)
            console.rule(f"remedlab demo: {app_name}")
            begin = time.monotonic()
            result = client.request("POST", f"/v1/apps/{app_name}/deploy", json={"wait": True})
            if not result["ready"]:
                raise fail(f"{app_name} did not become Ready: see `remedlab kubectl get pods -n {info.namespace}`")
            console.print(f"[green]{app_name} Ready in {result['seconds']:.2f}s[/green] (server: {client.url})")
            ns = result["namespace"]
            _kubectl("get", "pods,services", "-n", ns, "-o", "wide")
            entry = info.entry
            if entry:
                svc = client.request("GET", f"/v1/namespaces/{ns}/services/{entry['service']}")
                url = f"http://{svc['spec']['clusterIP']}:{entry['port']}{entry['path']}"
                console.print(f"[dim]$ curl {url}[/dim]")
                with urllib.request.urlopen(url, timeout=5) as response:
                    console.print(json.dumps(json.loads(response.read()), indent=2))
            _kubectl("top", "pods", "-n", ns)
            console.print("[dim]$ remedlab down[/dim]")
            client.request("DELETE", f"/v1/apps/{app_name}", params={"namespace": ns})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if ns not in [n["name"] for n in client.request("GET", "/v1/status")["namespaces"]]:
                    break
                time.sleep(0.1)
            console.print(f"[green]{app_name} removed[/green]; demo took {time.monotonic() - begin:.1f}s")
            if started_server:
                _stop_server()
        except ServerError as exc:
            raise fail(str(exc)) from None


def _stop_server() -> None:
    record = server_record_path()
    try:
        pid = int(json.loads(record.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
