"""The methods' prompts: text files in ``prompts/`` with ``$name`` placeholders."""

from __future__ import annotations

from importlib import resources
from string import Template


def read(name: str) -> str:
    return resources.files("remedlab.agents.methods").joinpath("prompts").joinpath(name).read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    """The prompt file with every placeholder filled; a missing value is a KeyError naming it."""
    return Template(read(name)).substitute({k: str(v) for k, v in values.items()}).strip()
