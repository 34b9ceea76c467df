"""The `remedlab` command."""

from __future__ import annotations

import typer

from remedlab.cli import (
    agents_command,
    chaos_commands,
    cluster_commands,
    demo_command,
    load_command,
    observe_commands,
    run_command,
    serve_command,
)

app = typer.Typer(
    name="remedlab",
    help="A container-free lab and benchmark for AIOps agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
serve_command.register(app)
cluster_commands.register(app)
demo_command.register(app)
load_command.register(app)
chaos_commands.register(app)
observe_commands.register(app)
agents_command.register(app)
run_command.register(app)


@app.command("kubectl", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def kubectl(ctx: typer.Context) -> None:
    """The real kubectl, with the running server's kubeconfig."""
    from remedlab.cli.entry import kubectl as run_kubectl

    run_kubectl(list(ctx.args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
