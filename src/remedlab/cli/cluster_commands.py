"""`remedlab up | down | status | doctor | apps`."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from remedlab import paths
from remedlab.apps.catalog import UnknownApp, get_app, list_apps
from remedlab.cli.output import fail
from remedlab.cli.server_client import ServerClient, ServerError, ensure_server
from remedlab.kubeconfig import kubeconfig_path
from remedlab.tokens import SCOPES

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def up(
        name: str = typer.Argument(..., help="The app to deploy (see `remedlab apps`)."),
        namespace: str | None = typer.Option(None, "-n", "--namespace", help="Namespace (default: the app's)."),
        timeout: float = typer.Option(120.0, help="Seconds to wait for all pods to be Ready."),
    ) -> None:
        """Deploy an app (starting the server if none runs) and wait until it is Ready."""
        try:
            info = get_app(name)
        except UnknownApp as exc:
            raise fail(exc.message) from None
        client = ServerClient(timeout=timeout + 30)
        started = time.monotonic()
        try:
            with console.status(f"deploying {name}..."):
                if ensure_server(client):
                    console.print(f"started the server at {client.url}")
                result = client.request(
                    "POST",
                    f"/v1/apps/{name}/deploy",
                    json={"namespace": namespace, "wait": True, "timeoutSeconds": timeout},
                )
        except ServerError as exc:
            raise fail(str(exc)) from None
        ns = result["namespace"] or info.namespace
        total = time.monotonic() - started
        if not result["ready"]:
            raise fail(f"{name} is not Ready after {timeout:g}s: see `remedlab kubectl get pods -n {ns}`")
        console.print(
            f"[green]{name}[/green] is Ready in namespace [bold]{ns}[/bold] "
            f"({result['seconds']:.2f}s to Ready, {total:.2f}s in all)"
        )
        config = kubeconfig_path(paths.home())
        if config.exists():
            console.print(f"export KUBECONFIG={config}", highlight=False, soft_wrap=True)

    @app.command("kubeconfig")
    def kubeconfig_command(
        scope: str = typer.Option("admin", "--scope", help="admin (everything) or agent (observe and remediate)."),
    ) -> None:
        """Print the path of a kubeconfig for the running server (for kubectl and Kubernetes clients)."""
        if scope not in SCOPES:
            raise fail(f"--scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        client = ServerClient()
        if not client.alive():
            raise fail(f"no remedlab server answers at {client.url}: start one with `remedlab serve` or `remedlab up`")
        config = kubeconfig_path(paths.home(), scope)
        if not config.exists():
            raise fail(f"the server has not written {config}: restart it with `remedlab serve`")
        typer.echo(str(config))

    @app.command()
    def down(
        name: str | None = typer.Argument(None, help="The app to remove."),
        namespace: str | None = typer.Option(None, "-n", "--namespace"),
        all_apps: bool = typer.Option(False, "--all", help="Remove every deployed app."),
        wait: bool = typer.Option(True, help="Wait until every pod is gone."),
    ) -> None:
        """Remove an app (its namespace and everything in it)."""
        if not name and not all_apps:
            raise fail("name an app, or pass --all")
        client = ServerClient()
        try:
            if all_apps:
                targets = [
                    (n["app"], n["name"]) for n in client.request("GET", "/v1/status")["namespaces"] if n.get("app")
                ]
            else:
                assert name is not None
                try:
                    info = get_app(name)
                except UnknownApp as exc:
                    raise fail(exc.message) from None
                targets = [(name, namespace or info.namespace)]
            for app_name, ns in targets:
                result = client.request("DELETE", f"/v1/apps/{app_name}", params={"namespace": ns})
                if not result["deleted"]:
                    console.print(f"{app_name} is not deployed in namespace {ns}")
                    continue
                if wait:
                    with console.status(f"removing {app_name} from {ns}..."):
                        _wait_gone(client, ns)
                console.print(f"[green]{app_name}[/green] removed (namespace {ns})")
        except ServerError as exc:
            raise fail(str(exc)) from None

    @app.command()
    def status() -> None:
        """Show the server, the deployed apps and their pods."""
        client = ServerClient()
        try:
            data = client.request("GET", "/v1/status")
        except ServerError as exc:
            raise fail(str(exc)) from None
        table = Table(title=f"remedlab server at {client.url} ({data['backend']} backend)")
        for column in ("NAMESPACE", "APP", "PODS READY", "PHASE"):
            table.add_column(column)
        for ns in data["namespaces"]:
            table.add_row(ns["name"], ns.get("app") or "-", f"{ns['ready']}/{ns['pods']}", ns["phase"])
        console.print(table)

    @app.command()
    def doctor(
        kubeconfig: Path | None = typer.Option(
            None, "--kubeconfig", help="Check the cluster this kubeconfig names instead (Chaos Mesh, metrics, rights)."
        ),
        context: str | None = typer.Option(None, "--context", help="The kubeconfig's context (default: current)."),
    ) -> None:
        """Report which isolation and fault mechanisms this host (or a cluster) supports, and at what fidelity."""
        client = ServerClient()
        if kubeconfig is not None:
            from remedlab.kube.api_client import KubeApi
            from remedlab.kube.cluster_checks import cluster_checks
            from remedlab.kube.kubeconfig_reader import KubeconfigError, load_kubeconfig

            try:
                api = KubeApi(load_kubeconfig(kubeconfig, context))
            except KubeconfigError as exc:
                raise fail(str(exc)) from None
            checks = [check.as_dict() for check in cluster_checks(api)]
            source = f"cluster {api.creds.server} (context {api.creds.context})"
            api.close()
        elif client.alive():
            checks = client.request("GET", "/v1/doctor")["checks"]
            source = f"server at {client.url}"
        else:
            from remedlab.cluster.local_backend import host_checks
            from remedlab.cluster.node.isolation.fidelity import cluster_dns_check
            from remedlab.cluster.node.isolation.mount_namespace import mount_namespace_check, namespaces_unavailable
            from remedlab.cluster.node.isolation.sandbox import Isolation
            from remedlab.cluster.node.time_shift import build_shim
            from remedlab.cluster.node.volume_mounts import bind_mounts_available
            from remedlab.volume_storage import storage_check

            home = paths.ensure_home()
            shim, note = build_shim(home)
            isolation = Isolation.detect("doctor", state_dir=str(home))
            namespaces = mount_namespace_check(namespaces_unavailable())
            mode = "mount-namespace" if namespaces.level == "full" else "shim" if shim is not None else "unavailable"
            dns = cluster_dns_check(mode, None, note)
            checks = host_checks(isolation, bind_mounts_available(), shim, note, dns, namespaces, storage_check(home))
            source = "this host (no server running)"
        table = Table(title=f"remedlab doctor: {source}")
        table.add_column("MECHANISM")
        table.add_column("LEVEL")
        table.add_column("DETAIL")
        colours = {"full": "green", "degraded": "yellow", "none": "red"}
        for check in checks:
            colour = colours.get(check["level"], "white")
            table.add_row(check["mechanism"], f"[{colour}]{check['level']}[/{colour}]", check["detail"])
        console.print(table)

    @app.command("apps")
    def apps_command() -> None:
        """List the applications remedlab can deploy."""
        table = Table(title="remedlab apps")
        for column in ("APP", "NAMESPACE", "DESCRIPTION"):
            table.add_column(column)
        for info in list_apps():
            table.add_row(info.name, info.namespace, info.description)
        console.print(table)


def _wait_gone(client: ServerClient, namespace: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = [n["name"] for n in client.request("GET", "/v1/status")["namespaces"]]
        if namespace not in names:
            return
        time.sleep(0.1)
    raise ServerError(f"namespace {namespace} still exists after {timeout:g}s")
