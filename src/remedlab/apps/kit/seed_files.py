"""Seed files of a PostgreSQL store, written by an init container for the database's first start.

The store's seed ConfigMap (its schema) is copied into the directory the PostgreSQL container runs
seed SQL from (``/docker-entrypoint-initdb.d``), and the rows are written beside it as ``COPY ... FROM
stdin`` blocks. Files are replaced whole, so a restarted init container leaves them the same.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

CopyValue = str | int | float | bool


def copy_value(value: CopyValue) -> str:
    """A value as COPY's text format writes it."""
    text = ("t" if value else "f") if isinstance(value, bool) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_block(table: str, columns: Sequence[str], rows: Iterable[Sequence[CopyValue]]) -> str:
    """A ``COPY ... FROM stdin`` statement with its rows, as psql runs it from a file."""
    lines = [f"COPY {table} ({', '.join(columns)}) FROM stdin;"]
    lines.extend("\t".join(copy_value(v) for v in row) for row in rows)
    lines.append("\\.")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def copy_schema(schema: Path, out: Path) -> list[str]:
    """Copy the ``.sql`` files of ``schema`` (if it is a directory) into ``out``; their names."""
    out.mkdir(parents=True, exist_ok=True)
    copied = []
    if schema.is_dir():
        for source in sorted(schema.iterdir()):
            if source.suffix == ".sql" and source.is_file():
                shutil.copyfile(source, out / source.name)
                copied.append(source.name)
    return copied
