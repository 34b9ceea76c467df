from __future__ import annotations

from typing import Any

import pytest

from remedlab.api.errors import BadRequest, Invalid
from remedlab.cluster.apiserver.validation import validate_object


def _deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", **container}]},
            },
        },
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_deployment(image="x", imagePullPolicy="Sometimes"), "imagePullPolicy"),
        (_deployment(image="x", foo=1), 'unknown field "spec.template.spec.containers[0].foo"'),
        (_deployment(), "spec.template.spec.containers[0].image: Required value"),
        (_deployment(image="x", resources={"limits": {"cpu": "lots"}}), "resources.limits"),
        ({"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "g"}}, 'no matches for kind "Gizmo"'),
        ({"apiVersion": "apps/v1", "kind": "Service", "metadata": {"name": "s"}}, 'use "v1"'),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}, "metadata.name"),
        ({"kind": "ConfigMap"}, "apiVersion and kind"),
    ],
)
def test_bad_documents_get_one_line_errors_naming_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises((Invalid, BadRequest)) as info:
        validate_object(doc)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_selector_must_match_template_labels() -> None:
    doc = _deployment(image="x")
    doc["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(Invalid, match="selector` does not match template `labels`"):
        validate_object(doc)


def test_defaults_are_filled_and_namespace_set() -> None:
    out = validate_object(_deployment(image="x", env=[{"name": "N", "value": 5}]), "ns1")
    assert out["metadata"]["namespace"] == "ns1"
    spec = out["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "RollingUpdate"
    container = spec["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "N", "value": "5"}]
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


def test_service_target_port_defaults_to_port() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    assert validate_object(svc)["spec"]["ports"][0]["targetPort"] == 80
