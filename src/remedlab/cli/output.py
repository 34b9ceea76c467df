"""Where the `remedlab` command writes: its consoles, and the one-line error every command uses."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print a one-line error (escaped, never wrapped) and give the exit to raise."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def plain_table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns as kubectl prints them: left-aligned, three spaces apart, never cut to the terminal's width
    (names stay whole, to be copied into the next command)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "   ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *rows]
    ]
    return "\n".join(lines)


def print_plain(text: str) -> None:
    """Print as is: no markup, no highlighting, no wrapping or cropping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True, crop=False)
