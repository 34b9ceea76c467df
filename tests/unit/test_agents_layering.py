"""Agents are the client side: they reach the cluster only through the server's HTTP API, so nothing
under agents/ imports the cluster, the fault machinery, the backends or the server."""

from __future__ import annotations

import ast
from pathlib import Path

import remedlab.agents

SERVER_SIDE = ("remedlab.cluster", "remedlab.chaos", "remedlab.backends", "remedlab.server", "remedlab.remediate")


def test_agents_import_nothing_from_the_server_side() -> None:
    root = Path(remedlab.agents.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(root)}: {n}" for n in names if n.startswith(SERVER_SIDE)]
    assert not offenders, offenders
