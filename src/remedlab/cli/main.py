"""The `remedlab` command."""

from __future__ import annotations

import sys

import typer

from remedlab.cli import (
    agents_command,
    chaos_commands,
    cluster_commands,
    demo_command,
    load_command,
    mcp_command,
    observe_commands,
    real_cluster_commands,
    run_command,
    serve_command,
)
from remedlab.cli.output import fail

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
mcp_command.register(app)
run_command.register(app)
real_cluster_commands.register(app)


@app.command("kubectl", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def kubectl(ctx: typer.Context) -> None:
    """The real kubectl, with the running server's kubeconfig."""
    from remedlab.cli.entry import kubectl as run_kubectl

    run_kubectl(list(ctx.args))


def main() -> None:
    """Run the command; a usage error (a bad option or argument) is one line, as every error is."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:
        sys.exit(_usage_error(exc))
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: typer.TyperException) -> int:
    """Print what was wrong with the command line, in one line; the exit code."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `remedlab` alone: the help
        exc.show()  # type: ignore[attr-defined]
        return 0
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    context = getattr(exc, "ctx", None)
    if context is not None:
        command = context.command_path[len(context.find_root().command_path) :].strip()
        message = f"{message} (see `remedlab {command + ' ' if command else ''}--help`)"
    fail(message)
    return int(getattr(exc, "exit_code", 2))


if __name__ == "__main__":
    main()
