"""The shop's data files (catalog, rates, ads, page templates), read from the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

PACKAGE = "remedlab.apps.online_boutique"


def read_text(folder: str, name: str) -> str:
    """The text of ``folder/name`` inside the package."""
    return resources.files(PACKAGE).joinpath(folder, name).read_text(encoding="utf-8")


@cache
def load_json(name: str) -> Any:
    """The parsed contents of ``data/<name>`` (read once per process)."""
    return json.loads(read_text("data", name))
