"""The OpenAPI v3 documents: complete, well-formed OpenAPI 3.0, generated from the models, in the shapes
kubectl reads in kube-apiserver's (tests/integration/test_openapi_kubectl.py runs the real kubectl on them)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from remedlab.api.kinds import CHAOS_KINDS, KINDS, group_versions
from remedlab.chaos.controller import register_validators
from remedlab.chaos.functional.registry import ACTIONS as FUNCTIONAL_ACTIONS
from remedlab.cluster.apiserver import openapi
from remedlab.cluster.apiserver.openapi import (
    custom_resource_schema,
    openapi_document,
    openapi_index,
    published_document,
)
from remedlab.cluster.apiserver.patching import MERGE_KEYS

Obj = dict[str, Any]

METHODS = ("get", "put", "post", "delete", "patch")
ACTIONS = {"get", "list", "watch", "post", "put", "patch", "delete", "deletecollection", "connect"}


@pytest.fixture(scope="module", autouse=True)
def _chaos_models() -> None:
    register_validators()


def _path(gv: str) -> str:
    return f"apis/{gv}" if "/" in gv else f"api/{gv}"


def _documents() -> dict[str, Obj]:
    out = {}
    for gv in group_versions():
        doc = openapi_document(_path(gv))
        assert doc is not None, gv
        out[gv] = doc
    return out


def _operations(doc: Obj) -> Iterator[tuple[str, str, Obj]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _walk(node: Any, where: str = "") -> Iterator[tuple[str, Obj]]:
    """Every JSON object in a document, with its location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}[{i}]")


def _schemas(schema: Any, where: str) -> Iterator[tuple[str, Obj]]:
    """Every schema object inside a schema (not the maps of property names around them)."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from _schemas(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties", "not"):
        yield from _schemas(schema.get(key), f"{where}/{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from _schemas(sub, f"{where}/{key}[{i}]")


def _schema_with_gvk(doc: Obj, group: str, version: str, kind: str) -> list[str]:
    wanted = {"group": group, "version": version, "kind": kind}
    return [
        name
        for name, schema in doc["components"]["schemas"].items()
        if wanted in (schema.get("x-kubernetes-group-version-kind") or [])
    ]


# --------------------------------------------------------------------------- the documents


def test_the_index_lists_every_group_version_with_a_content_hash() -> None:
    index = openapi_index().model_dump(by_alias=True)
    assert set(index["paths"]) == {_path(gv) for gv in group_versions()}
    for path, entry in index["paths"].items():
        url = entry["serverRelativeURL"]
        match = re.fullmatch(rf"/openapi/v3/{re.escape(path)}\?hash=([0-9A-F]{{128}})", url)
        assert match, url
        published = published_document(path)
        assert published is not None
        assert match.group(1) == published.hash == hashlib.sha512(published.body).hexdigest().upper()
    assert openapi_document("apis/nothing/v1") is None
    assert openapi_document("/api/v1/") == openapi_document("api/v1")


def test_documents_are_generated_once_and_handed_out_as_copies() -> None:
    first = openapi_document("api/v1")
    assert first is not None
    first["paths"].clear()
    again = openapi_document("api/v1")
    assert again is not None and again["paths"]
    assert openapi_index() == openapi_index()


def test_documents_have_the_shape_of_openapi_3() -> None:
    for gv, doc in _documents().items():
        assert doc["openapi"].startswith("3.0."), gv
        assert doc["info"]["title"] and doc["info"]["version"]
        operation_ids: set[str] = set()
        for path, item in doc["paths"].items():
            assert path.startswith(f"/{_path(gv)}/"), path
            assert set(item) <= {*METHODS, "parameters"}, path
            declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path
            for param in item.get("parameters", []):
                assert param["in"] == "path" and param["required"] is True and param["schema"]["type"]
        for path, method, op in _operations(doc):
            where = f"{method.upper()} {path}"
            assert op["operationId"] not in operation_ids, where
            operation_ids.add(op["operationId"])
            assert op["x-kubernetes-action"] in ACTIONS, where
            assert set(op["x-kubernetes-group-version-kind"]) == {"group", "version", "kind"}, where
            assert op["responses"]["200"]["content"], where
            names = [p["name"] for p in op.get("parameters", [])]
            assert len(names) == len(set(names)), where
            for param in op.get("parameters", []):
                assert param["in"] == "query" and param["schema"]["type"] in ("string", "integer", "boolean")
            body = op.get("requestBody")
            if body is not None:
                assert all("schema" in media for media in body["content"].values()), where
        for name, schema in doc["components"]["schemas"].items():
            for where, node in _schemas(schema, name):
                # OpenAPI 3.0: no null type, no const, no sibling of a $ref, boolean exclusive bounds
                assert node.get("type") != "null" and "const" not in node and "$defs" not in node, where
                assert "$ref" not in node or len(node) == 1, where
                assert isinstance(node.get("exclusiveMinimum", False), bool), where
                assert "title" not in node and node.get("additionalProperties") is not False, where
                assert not ("properties" in node and node.get("type") != "object"), where


def test_every_reference_resolves() -> None:
    for gv, doc in _documents().items():
        schemas = doc["components"]["schemas"]
        refs = [(where, node["$ref"]) for where, node in _walk(doc) if "$ref" in node]
        assert refs, gv
        for where, target in refs:
            assert target.startswith("#/components/schemas/"), (gv, where, target)
            assert target.removeprefix("#/components/schemas/") in schemas, (gv, where, target)


def test_every_served_kind_has_one_schema_carrying_its_group_version_kind() -> None:
    documents = _documents()
    for info in KINDS:
        doc = documents[info.api_version]
        found = _schema_with_gvk(doc, info.group, info.version, info.kind)
        assert len(found) == 1, (info.kind, found)
        schema = doc["components"]["schemas"][found[0]]
        assert schema["description"], info.kind
        assert {"apiVersion", "kind", "metadata"} <= set(schema["properties"]), info.kind
        if "list" in info.verbs:
            assert _schema_with_gvk(doc, info.group, info.version, f"{info.kind}List") == [f"{found[0]}List"]
    core = documents["v1"]["components"]["schemas"]
    assert "io.k8s.api.core.v1.Pod" in core and "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in core
    assert "io.k8s.api.apps.v1.Deployment" in documents["apps/v1"]["components"]["schemas"]
    assert "org.chaos-mesh.v1alpha1.StressChaosSpec" in documents["chaos-mesh.org/v1alpha1"]["components"]["schemas"]


def test_every_patch_operation_lets_the_server_validate_fields() -> None:
    """kubectl sends ?fieldValidation=Strict only when the PATCH operation of the object's kind declares it."""
    documents = _documents()
    for gv, doc in documents.items():
        for path, method, op in _operations(doc):
            names = {p["name"] for p in op.get("parameters", [])}
            if method == "patch":
                assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names, (gv, path)
                assert "application/merge-patch+json" in op["requestBody"]["content"], (gv, path)
            if op["x-kubernetes-action"] == "list":
                assert {"labelSelector", "fieldSelector", "limit", "continue", "watch"} <= names, (gv, path)
                assert {"resourceVersion", "timeoutSeconds", "allowWatchBookmarks"} <= names, (gv, path)
            if op["x-kubernetes-action"] in ("post", "put"):
                assert "fieldValidation" in names, (gv, path)
    for info in KINDS:
        if "patch" not in info.verbs:
            continue
        gvk = {"group": info.group, "version": info.version, "kind": info.kind}
        patches = [op for _, method, op in _operations(documents[info.api_version]) if method == "patch"]
        mine = [op for op in patches if op["x-kubernetes-group-version-kind"] == gvk]
        assert mine, info.kind
        strategic = [op for op in mine if "application/strategic-merge-patch+json" in op["requestBody"]["content"]]
        assert bool(strategic) is (info.kind not in CHAOS_KINDS), info.kind


def test_operations_follow_the_kinds_verbs_and_subresources() -> None:
    doc = openapi_document("api/v1")
    assert doc is not None
    paths = doc["paths"]
    pods = paths["/api/v1/namespaces/{namespace}/pods"]
    assert pods["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert pods["post"]["x-kubernetes-action"] == "post"
    assert pods["delete"]["x-kubernetes-action"] == "deletecollection"
    assert paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    pod = paths["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert {pod[m]["x-kubernetes-action"] for m in ("get", "put", "patch", "delete")} == {
        "get",
        "put",
        "patch",
        "delete",
    }
    assert "application/strategic-merge-patch+json" in pod["patch"]["requestBody"]["content"]
    assert paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]["patch"]["operationId"] == (
        "patchCoreV1NamespacedPodStatus"
    )
    assert paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["responses"]["200"]["content"]["text/plain"]
    assert paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]["x-kubernetes-group-version-kind"] == {
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
    }
    assert "delete" not in paths["/api/v1/namespaces"]  # Namespace has no deletecollection
    apps = openapi_document("apis/apps/v1")
    assert apps is not None
    scale = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert _schema_with_gvk(apps, "autoscaling", "v1", "Scale") == ["io.k8s.api.autoscaling.v1.Scale"]
    metrics = openapi_document("apis/metrics.k8s.io/v1beta1")
    assert metrics is not None
    assert set(metrics["paths"]["/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}"]) == {
        "get",
        "parameters",
    }


def test_list_metadata_matches_how_strategic_merge_patches_merge() -> None:
    declared: dict[str, set[str]] = {}
    for doc in _documents().values():
        for name, schema in doc["components"]["schemas"].items():
            for field, prop in (schema.get("properties") or {}).items():
                key = prop.get("x-kubernetes-patch-merge-key")
                if key is None:
                    continue
                assert key in MERGE_KEYS.get(field, ()), f"{name}.{field}: merged by {key}, the server does not"
                assert prop["x-kubernetes-list-type"] == "map" and prop["x-kubernetes-list-map-keys"][0] == key
                declared.setdefault(field, set()).add(key)
    expected = {
        "containers": "name",
        "initContainers": "name",
        "env": "name",
        "volumes": "name",
        "imagePullSecrets": "name",
        "volumeMounts": "mountPath",
        "ownerReferences": "uid",
        "conditions": "type",
    }
    for field, key in expected.items():
        assert key in declared.get(field, set()), field
    assert declared["ports"] == {"containerPort", "port"}


def test_the_fields_users_explain_are_described() -> None:
    core = openapi_document("api/v1")
    apps = openapi_document("apis/apps/v1")
    chaos = openapi_document("apis/chaos-mesh.org/v1alpha1")
    assert core is not None and apps is not None and chaos is not None
    described = {
        **{f"io.k8s.api.core.v1.{n}": core for n in ("PodSpec", "Container", "ResourceRequirements", "Probe")},
        **{f"io.k8s.api.core.v1.{n}": core for n in ("ServiceSpec", "ServicePort", "ContainerPort", "EnvVar")},
        **{
            f"io.k8s.api.apps.v1.{n}": apps for n in ("DeploymentSpec", "DeploymentStrategy", "RollingUpdateDeployment")
        },
        **{f"org.chaos-mesh.v1alpha1.{n}": chaos for n in ("StressChaosSpec", "NetworkChaosSpec", "PodChaosSpec")},
        **{f"org.chaos-mesh.v1alpha1.{n}": chaos for n in ("IOChaosSpec", "HTTPChaosSpec", "TimeChaosSpec")},
        "org.chaos-mesh.v1alpha1.PodSelector": chaos,
    }
    for name, doc in described.items():
        schema = doc["components"]["schemas"][name]
        assert schema.get("description"), name
        for field, prop in schema["properties"].items():
            assert prop.get("description"), f"{name}.{field}"
            assert "\n" not in prop["description"], f"{name}.{field}"


def test_custom_resource_schemas_are_structural() -> None:
    for info in KINDS:
        if info.kind not in CHAOS_KINDS:
            continue
        schema = custom_resource_schema(info)
        assert schema is not None, info.kind
        assert schema["properties"]["metadata"] == {"type": "object"}
        assert schema["properties"]["spec"]["type"] == "object"
        for where, node in _schemas(schema, info.kind):
            assert "$ref" not in node and "allOf" not in node, where
            assert not any(k.startswith("x-kubernetes-patch") or k == "x-kubernetes-group-version-kind" for k in node)


def test_a_custom_kind_without_a_model_is_served_as_any_object() -> None:
    table = tuple((info.kind, None if info.kind == "StressChaos" else openapi._model(info.kind)) for info in KINDS)
    doc = orjson.loads(openapi._publish(table)["apis/chaos-mesh.org/v1alpha1"].body)
    schema = doc["components"]["schemas"]["org.chaos-mesh.v1alpha1.StressChaos"]
    assert schema["x-kubernetes-preserve-unknown-fields"] is True
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "chaos-mesh.org", "version": "v1alpha1", "kind": "StressChaos"}
    ]
    refs = [node["$ref"].rsplit("/", 1)[-1] for _, node in _walk(doc) if "$ref" in node]
    assert set(refs) <= set(doc["components"]["schemas"])


def test_functional_chaos_lists_its_actions_and_takes_free_form_parameters() -> None:
    doc = openapi_document("apis/chaos.remedlab.io/v1alpha1")
    assert doc is not None
    spec = doc["components"]["schemas"]["io.remedlab.chaos.v1alpha1.FunctionalChaosSpec"]
    assert spec["properties"]["action"]["enum"] == list(FUNCTIONAL_ACTIONS)
    assert spec["properties"]["parameters"]["x-kubernetes-preserve-unknown-fields"] is True
    assert {"deployment", "service", "containerIndex", "requests", "limits"} <= set(spec["properties"])
