"""`remedlab serve`: host the embedded cluster and its API."""

from __future__ import annotations

import typer

from remedlab.server.serve import DEFAULT_HOST, DEFAULT_PORT


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(DEFAULT_HOST, help="Address to bind (loopback by default)."),
        port: int = typer.Option(DEFAULT_PORT, help="Port of the HTTP API."),
        backoff_base: float = typer.Option(
            10.0,
            "--backoff-base",
            help="First CrashLoopBackOff delay in seconds (Kubernetes: 10).",
            hidden=True,
        ),
        isolation: str = typer.Option(
            "auto",
            help="auto: the best mechanism the host allows (cgroups when writable); "
            "fallback: a memory watchdog and SIGSTOP throttling, as on a host without cgroups.",
        ),
    ) -> None:
        """Run the server: the embedded cluster plus its HTTP API."""
        if isolation not in ("auto", "fallback"):
            raise typer.BadParameter(f"--isolation must be auto or fallback, got {isolation!r}")
        if not 0 < port < 65536:
            raise typer.BadParameter(f"port must be 1-65535, got {port}")
        if backoff_base <= 0:
            raise typer.BadParameter("--backoff-base must be positive")
        from remedlab.server.serve import run_server

        run_server(host, port, backoff_base, isolation)
