"""JSONPath templates as `kubectl get -o jsonpath` evaluates them."""

from __future__ import annotations

from typing import Any

import pytest

from remedlab.remediate.kubectl.jsonpath import (
    JsonPathError,
    format_go_value,
    parse_template,
    relaxed_template,
)

DATA: dict[str, Any] = {
    "kind": "List",
    "items": [
        {
            "metadata": {"name": "a", "labels": {"app": "web", "app.kubernetes.io/name": "shop"}},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}],
                "containerStatuses": [{"name": "app", "restartCount": 2, "ready": True}],
            },
        },
        {
            "metadata": {"name": "b", "labels": {"app": "db"}},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]},
        },
    ],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.items[*].metadata.name}", "a b"),
        ("{.kind}", "List"),
        ("{$.kind}", "List"),
        ("kind={.kind}!", "kind=List!"),
        ("{.items[0].metadata.name}", "a"),
        ("{.items[-1].metadata.name}", "b"),
        ("{.items[0:1].metadata.name}", "a"),
        ('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', "a\tRunning\nb\tPending\n"),
        (
            '{range .items[*]}{.metadata.name}:{range .status.conditions[*]}{.type}={.status};{end}{"\\n"}{end}',
            "a:Ready=True;Initialized=True;\nb:Ready=False;\n",
        ),
        ('{.items[?(@.status.phase=="Pending")].metadata.name}', "b"),
        ("{.items[?(@.status.phase!='Pending')].metadata.name}", "a"),
        ("{.items[?(@.status.containerStatuses[0].restartCount>1)].metadata.name}", "a"),
        ("{.items[?(@.status.containerStatuses)].metadata.name}", "a"),
        ('{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"),
        ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", "shop"),
        ("{.items[0].metadata.labels['app.kubernetes.io/name']}", "shop"),
        ("{.items[1].metadata.labels}", '{"app":"db"}'),
        ("{.items[0].status.containerStatuses[0].ready}", "true"),
        ("{..restartCount}", "2"),
        ("{.items[*].metadata.labels.*}", "web shop db"),
        ("{.items[0].missing.field}", ""),
        ("plain text", "plain text"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert parse_template(template).render(DATA) == expected


def test_index_out_of_range() -> None:
    with pytest.raises(JsonPathError, match="array index out of bounds: index 5, length 2"):
        parse_template("{.items[5].metadata.name}").render(DATA)


@pytest.mark.parametrize("template", ["{.items[}", "{range .items[*]}{.kind}", "{end}", "{.items[x]}", "{.a"])
def test_parse_errors(template: str) -> None:
    with pytest.raises(JsonPathError):
        parse_template(template)


def test_relaxed_expressions_and_values() -> None:
    assert relaxed_template("metadata.name") == "{.metadata.name}"
    assert relaxed_template(".metadata.name") == "{.metadata.name}"
    assert relaxed_template("{.metadata.name}") == "{.metadata.name}"
    assert parse_template("{.items[*].status.phase}").values(DATA) == ["Running", "Pending"]
    assert format_go_value({"b": 1, "a": [True, None]}) == "map[a:[true <nil>] b:1]"
