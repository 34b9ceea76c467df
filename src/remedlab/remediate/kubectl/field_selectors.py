"""`--field-selector` terms (`status.phase=Running,spec.nodeName!=x`), checked client-side too."""

from __future__ import annotations

from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_str


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """(dotted path, must equal, value) for each term."""
    terms: list[tuple[str, bool, str]] = []
    for raw in text.split(","):
        term = raw.strip()
        if not term:
            continue
        if "!=" in term:
            path, _, value = term.partition("!=")
            terms.append((path.strip(), False, value.strip()))
        elif "==" in term:
            path, _, value = term.partition("==")
            terms.append((path.strip(), True, value.strip()))
        elif "=" in term:
            path, _, value = term.partition("=")
            terms.append((path.strip(), True, value.strip()))
        else:
            raise CommandError(f"invalid selector: '{text}'; can't understand '{term}'")
    return terms


def matches_field_selector(obj: JsonObject, terms: list[tuple[str, bool, str]]) -> bool:
    for path, equal, value in terms:
        actual = get_str(obj, *path.split("."))
        if (actual == value) != equal:
            return False
    return True
