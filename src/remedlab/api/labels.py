"""Label selectors: the `-l` string syntax and `matchLabels`/`matchExpressions`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SET_EXPR = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    pass


def _split_terms(selector: str) -> list[str]:
    terms: list[str] = []
    depth = 0
    current = ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def matches_selector_string(selector: str, labels: Mapping[str, str]) -> bool:
    """Evaluate a kubectl `-l` selector (a=b, a!=b, a==b, a in (x,y), a notin (x), a, !a)."""
    for term in _split_terms(selector):
        set_match = _SET_EXPR.match(term)
        if set_match:
            key, op, raw_values = set_match.groups()
            values = {v.strip() for v in raw_values.split(",") if v.strip()}
            present = key in labels and labels[key] in values
            if (op == "in") != present:
                return False
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "==" in term or "=" in term:
            key, value = (s.strip() for s in re.split(r"==?", term, maxsplit=1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif re.fullmatch(r"[A-Za-z0-9./_-]+", term):
            if term not in labels:
                return False
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return True


def matches_label_selector(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Evaluate a LabelSelector dict (matchLabels + matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def matches_labels(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service-style selector: every key=value must be present. An empty selector matches nothing."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selector_to_string(selector: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(expr.get('values') or [])})")
        elif op == "Exists":
            parts.append(expr["key"])
        else:
            parts.append(f"!{expr['key']}")
    return ",".join(parts)
