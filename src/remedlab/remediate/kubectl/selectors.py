"""Label maps and label selectors written the way kubectl shows them."""

from __future__ import annotations

from collections.abc import Mapping

from remedlab.remediate.kubectl.fields import JsonObject, get_dicts, get_list, get_str, str_map


def format_labels(labels: Mapping[str, str], empty: str = "<none>") -> str:
    """`a=1,b=2` with keys sorted; `empty` when there are none."""
    if not labels:
        return empty
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def format_label_selector(selector: JsonObject | None) -> str:
    """A `{matchLabels, matchExpressions}` selector in `-l` syntax; `<none>` when empty."""
    if not selector:
        return "<none>"
    terms = [f"{k}={v}" for k, v in sorted(str_map(selector, "matchLabels").items())]
    for expression in get_dicts(selector, "matchExpressions"):
        key = get_str(expression, "key")
        operator = get_str(expression, "operator")
        values = ",".join(sorted(str(v) for v in get_list(expression, "values")))
        if operator == "In":
            terms.append(f"{key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({values})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms) if terms else "<none>"


def selector_query(selector: JsonObject | None) -> str:
    """The selector as a `labelSelector` query value (empty string for match-everything)."""
    text = format_label_selector(selector)
    return "" if text == "<none>" else text
