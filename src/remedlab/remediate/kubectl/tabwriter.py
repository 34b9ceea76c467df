"""Column alignment with the rules kubectl's output follows.

Cells are separated by tab characters.  A cell ended by a tab belongs to a
column; the text after the last tab of a line does not.  A column spans a block
of consecutive lines that all have a cell in it, so a line without tabs starts
a new alignment block.  Each column is as wide as its widest cell plus
`padding`, and at least `minwidth`.
"""

from __future__ import annotations

# The tables of `kubectl get` and `kubectl top`.
TABLE_MINWIDTH = 6
TABLE_PADDING = 3
# `kubectl describe`, `rollout history` and other tabbed text.
DESCRIBE_MINWIDTH = 0
DESCRIBE_PADDING = 2


def align_columns(text: str, *, minwidth: int, padding: int) -> str:
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    _format_block(lines, [], 0, len(lines), out, minwidth, padding)
    return "\n".join(out)


def align_table(text: str) -> str:
    return align_columns(text, minwidth=TABLE_MINWIDTH, padding=TABLE_PADDING)


def align_describe(text: str) -> str:
    return align_columns(text, minwidth=DESCRIBE_MINWIDTH, padding=DESCRIBE_PADDING)


def rows_to_table(rows: list[list[str]], *, trailing_tab: bool = False) -> str:
    """Align rows of cells as a kubectl table, one line per row (newline-terminated)."""
    end = "\t\n" if trailing_tab else "\n"
    text = "".join("\t".join(_clean_cell(c) for c in row) + end for row in rows)
    return align_table(text)


def _clean_cell(cell: str) -> str:
    return cell.replace("\t", " ").replace("\n", " ")


def _format_block(
    lines: list[list[str]],
    widths: list[int],
    line0: int,
    line1: int,
    out: list[str],
    minwidth: int,
    padding: int,
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write_lines(lines, widths, line0, this, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        widths.append(width)
        _format_block(lines, widths, line0, this, out, minwidth, padding)
        widths.pop()
        line0 = this
    _write_lines(lines, widths, line0, line1, out)


def _write_lines(lines: list[list[str]], widths: list[int], line0: int, line1: int, out: list[str]) -> None:
    for index in range(line0, line1):
        parts: list[str] = []
        for j, cell in enumerate(lines[index]):
            parts.append(cell.ljust(widths[j]) if j < len(widths) else cell)
        out.append("".join(parts))
