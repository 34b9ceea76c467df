"""Placing an app's manifests on a cluster the server drives through a kubeconfig: a remedlab cluster
runs them as written; any other gets container images from the registry; both export spans to the
server when it says where."""

from __future__ import annotations

from typing import Any, cast

from remedlab.api.client import Backend
from remedlab.apps.catalog import app_manifests, get_app
from remedlab.apps.real_cluster.pod_containers import containers
from remedlab.server.app_placement import OTLP_ENDPOINT_ENV, AppPlacement


class Nodes:
    def __init__(self, runtime: str) -> None:
        self.runtime = runtime

    def list_objects(self, resource: str, *args: Any) -> list[dict[str, Any]]:
        assert resource == "nodes"
        return [{"status": {"nodeInfo": {"containerRuntimeVersion": self.runtime}}}]


def placed(runtime: str, placement: AppPlacement) -> list[dict[str, Any]]:
    docs = app_manifests(get_app("simple-micro"), None)
    placement.place(docs, cast(Backend, Nodes(runtime)), "simple-micro")
    return docs


def images(docs: list[dict[str, Any]]) -> set[str]:
    return {str(c["image"]) for doc in docs for c in containers(doc)}


def test_a_remedlab_cluster_runs_the_manifests_as_written() -> None:
    written = images(app_manifests(get_app("simple-micro"), None))
    assert images(placed("remedlab://0.1.0", AppPlacement(registry="registry.example:5000"))) == written


def test_a_real_cluster_pulls_from_the_registry_and_exports_to_the_server() -> None:
    docs = placed("containerd://1.7.2", AppPlacement("http://10.0.0.5:4318", "registry.example:5000"))
    assert images(docs) and all(image.startswith("registry.example:5000/remedlab/") for image in images(docs))
    endpoints = {
        e["value"]
        for doc in docs
        for c in containers(doc)
        for e in c.get("env") or []
        if e["name"] == OTLP_ENDPOINT_ENV
    }
    assert endpoints == {"http://10.0.0.5:4318"}
