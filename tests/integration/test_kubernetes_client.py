"""The official Python client walks MicroRemed's harness path against the embedded cluster:
kubeconfig, pods by label, owners, a strategic-merge patch of resources, deletes, a custom resource
and a watch."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client, config, watch

from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "simple-micro"
STRESS = ("chaos-mesh.org", "v1alpha1", NS, "stresschaos", "memory-stress-hello")


def _api(server: ServerProcess) -> client.ApiClient:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(server.home / "kubeconfig"), client_configuration=configuration
    )
    return client.ApiClient(configuration)


def _revision(apps: Any, name: str) -> int:
    deployment = apps.read_namespaced_deployment(name, NS)
    return int((deployment.metadata.annotations or {}).get("deployment.kubernetes.io/revision", "0"))


def test_microremed_harness_path(server: ServerProcess) -> None:
    assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 90})["ready"]
    api = _api(server)
    # the client's models type every field Optional: the test reads them as a harness would, untyped
    core: Any = client.CoreV1Api(api)
    apps: Any = client.AppsV1Api(api)
    custom: Any = client.CustomObjectsApi(api)

    pods = core.list_namespaced_pod(NS, label_selector="app=time-service").items
    assert len(pods) == 1 and pods[0].status.phase == "Running"
    pod = pods[0]
    assert pod.metadata.creation_timestamp is not None  # RFC 3339, parsed into a datetime
    owner = pod.metadata.owner_references[0]
    assert owner.kind == "ReplicaSet" and owner.controller
    replica_set = apps.read_namespaced_replica_set(owner.name, NS)
    deployment_ref = replica_set.metadata.owner_references[0]
    assert deployment_ref.kind == "Deployment"
    deployment = apps.read_namespaced_deployment(deployment_ref.name, NS)
    assert deployment.metadata.name == "time-service"
    before = _revision(apps, "time-service")

    # MicroRemed's pod-config-error: a dict body is sent as a strategic merge patch
    patch: dict[str, Any] = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": deployment.spec.template.spec.containers[0].name,
                            "resources": {
                                "requests": {"cpu": "1m", "memory": "100Mi"},
                                "limits": {"cpu": "2m", "memory": "200Mi"},
                            },
                        }
                    ]
                }
            }
        }
    }
    patched = apps.patch_namespaced_deployment("time-service", NS, patch)
    container = patched.spec.template.spec.containers[0]
    assert container.resources.limits == {"cpu": "2m", "memory": "200Mi"} and container.image  # merged, not replaced
    server.wait_for(lambda: _revision(apps, "time-service") == before + 1, 30, what="a new revision")

    # a watch sees a deleted pod's replacement come up
    target = core.list_namespaced_pod(NS, label_selector="app=hello-service").items[0]
    listed = core.list_namespaced_pod(NS, label_selector="app=hello-service")
    core.delete_namespaced_pod(target.metadata.name, NS)
    replacement = None
    deadline = time.monotonic() + 60
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        core.list_namespaced_pod,
        NS,
        label_selector="app=hello-service",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=60,
    ):
        obj = event["object"]
        if obj.metadata.name == target.metadata.name:
            continue
        ready = any(c.type == "Ready" and c.status == "True" for c in (obj.status.conditions or []))
        if event["type"] in ("ADDED", "MODIFIED") and ready:
            replacement = obj.metadata.name
            stream.stop()
        if time.monotonic() > deadline:
            stream.stop()
    assert replacement is not None and replacement != target.metadata.name

    chaos = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "StressChaos",
        "metadata": {"name": "memory-stress-hello", "namespace": NS},
        "spec": {
            "mode": "one",
            "selector": {"namespaces": [NS], "labelSelectors": {"app": "hello-service"}},
            "stressors": {"memory": {"workers": 1, "size": "64MiB"}},
        },
    }
    created = custom.create_namespaced_custom_object("chaos-mesh.org", "v1alpha1", NS, "stresschaos", chaos)
    assert created["metadata"]["uid"]

    def injected() -> bool:
        obj = custom.get_namespaced_custom_object(
            "chaos-mesh.org", "v1alpha1", NS, "stresschaos", "memory-stress-hello"
        )
        return bool(((obj.get("status") or {}).get("experiment") or {}).get("containerRecords"))

    server.wait_for(injected, 30, what="the stress injected")
    custom.delete_namespaced_custom_object("chaos-mesh.org", "v1alpha1", NS, "stresschaos", "memory-stress-hello")

    def gone() -> bool:
        try:
            custom.get_namespaced_custom_object(*STRESS)
        except client.ApiException as exc:
            return bool(exc.status == 404)
        return False

    server.wait_for(gone, 60, what="the stress recovered and removed")
