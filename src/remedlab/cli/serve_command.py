"""`remedlab serve`: host the embedded cluster and its API."""

from __future__ import annotations

from pathlib import Path

import typer

from remedlab.cli.output import fail
from remedlab.server.serve import DEFAULT_HOST, DEFAULT_KUBE_PORT, DEFAULT_PORT


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(DEFAULT_HOST, help="Address to bind (loopback by default)."),
        port: int = typer.Option(DEFAULT_PORT, help="Port of the HTTP API."),
        kube_port: int = typer.Option(
            DEFAULT_KUBE_PORT,
            "--kube-port",
            envvar="REMEDLAB_KUBE_PORT",
            help="HTTPS port of the Kubernetes API (kubeconfigs point here; 0: any).",
        ),
        backoff_base: float = typer.Option(
            10.0,
            "--backoff-base",
            help="First CrashLoopBackOff delay in seconds (Kubernetes: 10).",
            hidden=True,
        ),
        token_file: Path | None = typer.Option(
            None,
            "--token-file",
            help="Bearer tokens and their scopes (JSON); default: tokens.json in the state directory, "
            "created with an admin and an agent token. Required to listen beyond loopback.",
        ),
        isolation: str = typer.Option(
            "auto",
            help="auto: the best mechanism the host allows (cgroups when writable); "
            "fallback: a memory watchdog and SIGSTOP throttling, as on a host without cgroups.",
        ),
        kubeconfig: Path | None = typer.Option(
            None,
            "--kubeconfig",
            help="Drive the cluster this kubeconfig names (k3s, kind, a cloud; with Chaos Mesh) "
            "instead of running an embedded one.",
        ),
        context: str | None = typer.Option(None, "--context", help="The kubeconfig's context (default: current)."),
        agent_kubeconfig: Path | None = typer.Option(
            None,
            "--agent-kubeconfig",
            help="With --kubeconfig: what agents' kubectl uses, with the agent's permissions on that cluster "
            "e.g. a ServiceAccount's token (docs/kubernetes.md); without it, agents' actions are refused.",
        ),
        otlp_listen: str | None = typer.Option(
            None,
            "--otlp-listen",
            help="With --kubeconfig: HOST:PORT where the server receives the spans of the apps it deploys "
            "(an address the cluster's pods reach); without it, traces are absent.",
        ),
        registry: str | None = typer.Option(
            None,
            "--registry",
            help="With --kubeconfig, on a real cluster: the registry remedlab's images were pushed to "
            "(see `remedlab images`).",
        ),
        service_access: str = typer.Option(
            "auto",
            "--service-access",
            help="With --kubeconfig: how workloads reach an app's entry Service: cluster-ip (the server runs "
            "where cluster IPs are routed), port-forward (through the API), or auto (cluster IPs on this "
            "machine's loopback, port-forward otherwise).",
        ),
    ) -> None:
        """Run the server: the embedded cluster (or the one --kubeconfig names) plus its HTTP API."""
        if isolation not in ("auto", "fallback"):
            raise typer.BadParameter(f"--isolation must be auto or fallback, got {isolation!r}")
        if not 0 < port < 65536:
            raise typer.BadParameter(f"port must be 1-65535, got {port}")
        if not 0 <= kube_port < 65536 or kube_port == port:
            raise typer.BadParameter(f"--kube-port must be 0-65535 and differ from --port, got {kube_port}")
        if backoff_base <= 0:
            raise typer.BadParameter("--backoff-base must be positive")
        from remedlab.server.serve import ServeError, is_loopback_host, run_server
        from remedlab.tokens import TokenFileError

        if not is_loopback_host(host) and token_file is None:
            raise typer.BadParameter(
                f"listening on {host} (beyond loopback) needs --token-file: give agents and clients its tokens"
            )
        if token_file is not None and not token_file.is_file():
            raise typer.BadParameter(f"--token-file {token_file}: no such file")
        for option, given in (("--kubeconfig", kubeconfig), ("--agent-kubeconfig", agent_kubeconfig)):
            if given is not None and not given.is_file():
                raise typer.BadParameter(f"{option} {given}: no such file")
        cluster_options = (context, agent_kubeconfig, otlp_listen, registry)
        if kubeconfig is None and any(option is not None for option in cluster_options):
            raise typer.BadParameter("--context, --agent-kubeconfig, --otlp-listen and --registry go with --kubeconfig")
        from remedlab.kube.kube_backend import SERVICE_ACCESS
        from remedlab.server.serve import ExternalCluster

        if service_access not in SERVICE_ACCESS:
            raise typer.BadParameter(
                f"--service-access must be one of {', '.join(SERVICE_ACCESS)}, got {service_access!r}"
            )
        listen = _host_port(otlp_listen) if otlp_listen is not None else None
        external = (
            ExternalCluster(kubeconfig, context, agent_kubeconfig, listen, registry, service_access)
            if kubeconfig is not None
            else None
        )

        def announce(path: Path) -> None:
            typer.echo(f"remedlab: bearer tokens (admin, agent) in {path}", err=True)

        try:
            run_server(host, port, backoff_base, isolation, token_file, announce, kube_port, external)
        except TokenFileError as exc:
            raise typer.BadParameter(str(exc)) from None
        except ServeError as exc:
            raise fail(str(exc)) from None


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"--otlp-listen must be HOST:PORT (e.g. 0.0.0.0:4318), got {text!r}")
    return host.strip("[]"), int(port)
