"""HTML from the page templates in ``templates/``: ``${name}`` placeholders, values escaped.

A value of type :class:`Html` (a fragment rendered from another template) goes
in as it is; any other value is escaped. Repeated parts (a product card per
product) are templates of their own, rendered once per item and joined by
newlines (a template's final newline is dropped, so a fragment fits the line
its placeholder stands on).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from functools import cache
from string import Template

from remedlab.apps.online_boutique.data_files import read_text

FOLDER = "templates"
SUFFIX = ".txt"


class Html(str):
    """Markup that is already safe to insert."""

    __slots__ = ()


class TemplateFieldError(KeyError):
    """A template needs a value nobody gave it."""


@cache
def template(name: str) -> Template:
    """The template ``templates/<name>.txt`` (read once per process)."""
    return Template(read_text(FOLDER, name + SUFFIX).rstrip("\n"))


def placeholders(name: str) -> set[str]:
    """The names a template expects."""
    return set(template(name).get_identifiers())


def escape(value: object) -> Html:
    """``value`` as HTML: fragments as they are, anything else escaped."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def render(name: str, /, **values: object) -> Html:
    """Template ``name`` with every placeholder filled from ``values``."""
    try:
        return Html(template(name).substitute({key: escape(value) for key, value in values.items()}))
    except KeyError as exc:
        raise TemplateFieldError(f"template {name!r} needs a value for {exc.args[0]!r}") from None


def render_each(name: str, items: Iterable[Mapping[str, object]], /) -> Html:
    """Template ``name`` once per item, one after another on lines of their own."""
    return Html("\n".join(render(name, **item) for item in items))
