"""Dependencies point downward (docs: DESIGN §1): each layer imports only what lies below it.

- ``api`` is the shared vocabulary: it imports nothing else of remedlab;
- the embedded cluster knows nothing of faults' catalog, apps, benchmarks or agents;
- agents are the client side: they reach the cluster only through the server's HTTP API.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import remedlab

ROOT = Path(remedlab.__file__).parent

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "api": ("remedlab.",),
    "cluster": (
        "remedlab.chaos",
        "remedlab.apps",
        "remedlab.bench",
        "remedlab.agents",
        "remedlab.server",
        "remedlab.cli",
        "remedlab.oracle",
        "remedlab.remediate",
        "remedlab.observe",
    ),
    "agents": ("remedlab.cluster", "remedlab.chaos", "remedlab.server", "remedlab.remediate", "remedlab.oracle"),
    "bench": ("remedlab.cluster", "remedlab.chaos", "remedlab.server", "remedlab.remediate", "remedlab.oracle"),
}
ALLOWED_IN_API = ("remedlab.api",)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_lies_below(layer: str) -> None:
    offenders = []
    for path in (ROOT / layer).rglob("*.py"):
        for name in _imports(path):
            if layer == "api" and name.startswith(ALLOWED_IN_API):
                continue
            if name.startswith(FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders
