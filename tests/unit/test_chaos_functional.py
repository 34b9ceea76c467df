"""Each FunctionalChaos action on a store-backed cluster: inject changes the objects, observable
sees it, recover undoes it, and a fix a person made (rollout undo, kubectl patch svc, kubectl scale,
removing the nodeSelector) is left alone. The oracle's fault checks judge the outcome."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from remedlab.api.client import Backend
from remedlab.api.errors import BadRequest
from remedlab.apps.catalog import get_app
from remedlab.chaos.catalog import get_fault
from remedlab.chaos.controller import register_validators
from remedlab.chaos.functional.registry import ACTIONS
from remedlab.chaos.spec import FunctionalChaosSpec
from remedlab.cluster.apiserver.store import Store
from remedlab.oracle.judge import fault_problems, pod_problems
from tests.unit.test_chaos_controller import StoreBackend

NS = "shop"
Obj = dict[str, Any]


def _deployment(replicas: int = 1) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "remedlab/hotel-reservation:1.0",
                            "command": ["profile"],
                            "ports": [{"name": "http", "containerPort": 8081}],
                        }
                    ]
                },
            },
        },
    }


def _service() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8081, "targetPort": 8081}]},
    }


def _pod(name: str, node: str | None = "node", ready: bool = True) -> Obj:
    status: Obj = {"phase": "Running" if node else "Pending"}
    if node:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    else:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    spec: Obj = {"containers": _deployment()["spec"]["template"]["spec"]["containers"]}
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": spec,
        "status": status,
    }


def _chaos(action: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "chaos.remedlab.io/v1alpha1",
        "kind": "FunctionalChaos",
        "metadata": {"name": action, "namespace": NS},
        "spec": {"action": action, "deployment": "web", **spec},
    }


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[StoreBackend]:
    register_validators()
    store = Store(tmp_path / "cluster.db")
    backend = StoreBackend(store)
    backend.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    backend.create(_deployment())
    backend.create(_service())
    try:
        yield backend
    finally:
        store.close()


def _run(backend: StoreBackend, chaos: Obj) -> tuple[Obj, Any]:
    action = ACTIONS[chaos["spec"]["action"]]
    record = asyncio.run(action.inject(cast(Backend, backend), chaos))
    return record, action


def _template(backend: StoreBackend) -> Obj:
    return dict(backend.get("deployments", NS, "web")["spec"]["template"]["spec"])


def _set_target_port(backend: StoreBackend, port: int | str) -> None:
    """kubectl patch svc web --type=json -p '[{"op": "replace", "path": "/spec/ports/0/targetPort", ...}]'"""
    backend.patch("services", NS, "web", "json", [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": port}])


def _with_records(chaos: Obj, record: Obj) -> Obj:
    return {**chaos, "status": {"experiment": {"desiredPhase": "Run", "containerRecords": [record]}}}


def test_every_action_is_a_valid_spec_action_with_its_parameters_checked() -> None:
    for name in ACTIONS:
        assert FunctionalChaosSpec.model_validate({"action": name}).action == name
    with pytest.raises(ValueError, match="unknown action 'nope': choose one of pod-config-error"):
        FunctionalChaosSpec.model_validate({"action": "nope"})
    with pytest.raises(ValueError, match=r"parameters\.port"):
        FunctionalChaosSpec.model_validate({"action": "k8s-target-port-misconfig", "parameters": {"port": 0}})
    with pytest.raises(ValueError, match="takes no parameters"):
        FunctionalChaosSpec.model_validate({"action": "scale-pod-zero", "parameters": {"replicas": 3}})


def test_wrong_bin_usage_runs_another_program_until_recovered(backend: StoreBackend) -> None:
    chaos = _chaos("wrong-bin-usage", parameters={"program": "geo"})
    record, action = _run(backend, chaos)
    assert _template(backend)["containers"][0]["command"] == ["geo"]
    assert backend.get("deployments", NS, "web")["spec"]["strategy"] == {"type": "Recreate"}
    seen, detail = action.observable(backend, chaos, record)
    assert seen and "runs geo" in detail
    asyncio.run(action.recover(backend, chaos, record))
    assert _template(backend)["containers"][0]["command"] == ["profile"]
    assert backend.get("deployments", NS, "web")["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not action.observable(backend, chaos, record)[0]
    with pytest.raises(BadRequest, match="runs profile already"):
        _run(backend, _chaos("wrong-bin-usage", parameters={"program": "profile"}))


def test_wrong_bin_usage_leaves_a_rollback_alone(backend: StoreBackend) -> None:
    chaos = _chaos("wrong-bin-usage")
    record, action = _run(backend, chaos)
    op = {"op": "replace", "path": "/spec/template/spec/containers/0/command", "value": ["profile", "--v"]}
    backend.patch("deployments", NS, "web", "json", [op])  # a person's own fix
    asyncio.run(action.recover(backend, chaos, record))
    assert _template(backend)["containers"][0]["command"] == ["profile", "--v"]


def test_misconfig_app_runs_the_buggy_image_until_recovered(backend: StoreBackend) -> None:
    chaos = _chaos("misconfig-app")
    record, action = _run(backend, chaos)
    assert _template(backend)["containers"][0]["image"] == "remedlab/hotel-reservation-rate:1.1"
    assert _template(backend)["containers"][0]["command"] == ["profile"]  # the command is the image's to run
    assert backend.get("deployments", NS, "web")["spec"]["strategy"] == {"type": "Recreate"}
    seen, detail = action.observable(backend, chaos, record)
    assert seen and "runs remedlab/hotel-reservation-rate:1.1" in detail
    graded = _with_records(chaos, record)
    assert any("runs remedlab/hotel-reservation-rate:1.1" in p for p in fault_problems(cast(Backend, backend), graded))
    asyncio.run(action.recover(backend, chaos, record))
    assert _template(backend)["containers"][0]["image"] == "remedlab/hotel-reservation:1.0"
    assert backend.get("deployments", NS, "web")["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not action.observable(backend, chaos, record)[0]
    with pytest.raises(BadRequest, match=r"runs remedlab/hotel-reservation:1\.0 already"):
        _run(backend, _chaos("misconfig-app", parameters={"image": "remedlab/hotel-reservation:1.0"}))


def test_misconfig_app_leaves_a_rollback_alone(backend: StoreBackend) -> None:
    chaos = _chaos("misconfig-app", parameters={"image": "remedlab/hotel-reservation-rate:1.1"})
    record, action = _run(backend, chaos)
    op = {
        "op": "replace",
        "path": "/spec/template/spec/containers/0/image",
        "value": "remedlab/hotel-reservation:latest",
    }
    backend.patch("deployments", NS, "web", "json", [op])  # kubectl set image, to another good tag
    assert not action.observable(backend, chaos, record)[0]
    asyncio.run(action.recover(backend, chaos, record))
    assert _template(backend)["containers"][0]["image"] == "remedlab/hotel-reservation:latest"


def test_target_port_misconfig_points_the_service_elsewhere_until_recovered(backend: StoreBackend) -> None:
    backend.store.create(_pod("web-1"))
    chaos = _chaos("k8s-target-port-misconfig")
    record, action = _run(backend, chaos)
    assert backend.get("services", NS, "web")["spec"]["ports"][0]["targetPort"] == 9999
    seen, detail = action.observable(backend, chaos, record)
    assert seen and "targetPort 9999 of port 8081 is none of the pods' container ports (8081)" in detail
    asyncio.run(action.recover(backend, chaos, record))
    assert backend.get("services", NS, "web")["spec"]["ports"][0]["targetPort"] == 8081
    assert not action.observable(backend, chaos, record)[0]


def test_target_port_misconfig_leaves_a_patched_service_alone(backend: StoreBackend) -> None:
    backend.store.create(_pod("web-1"))
    chaos = _chaos("k8s-target-port-misconfig", parameters={"port": 9090})
    record, action = _run(backend, chaos)
    _set_target_port(backend, "http")
    assert not action.observable(backend, chaos, record)[0]  # a named port the pods declare
    asyncio.run(action.recover(backend, chaos, record))
    assert backend.get("services", NS, "web")["spec"]["ports"][0]["targetPort"] == "http"


def test_scale_pod_zero_until_recovered_and_any_scale_up_is_a_fix(backend: StoreBackend) -> None:
    chaos = _chaos("scale-pod-zero")
    record, action = _run(backend, chaos)
    assert backend.get("deployments", NS, "web")["spec"]["replicas"] == 0
    assert action.observable(backend, chaos, record) == (True, "the deployment is scaled to 0 replicas")
    asyncio.run(action.recover(backend, chaos, record))
    assert backend.get("deployments", NS, "web")["spec"]["replicas"] == 1

    record, action = _run(backend, chaos)
    backend.patch("deployments", NS, "web", "merge", {"spec": {"replicas": 2}})  # kubectl scale --replicas=2
    asyncio.run(action.recover(backend, chaos, record))
    assert backend.get("deployments", NS, "web")["spec"]["replicas"] == 2
    deployment = backend.get("deployments", NS, "web")
    backend.update_status("deployments", NS, "web", {**(deployment.get("status") or {}), "availableReplicas": 2})
    for name in ("web-1", "web-2"):
        backend.store.create(_pod(name))
    graded = _with_records(chaos, record)
    assert fault_problems(cast(Backend, backend), graded) == []
    assert pod_problems(cast(Backend, backend), NS, "web")[0] == []


def test_assign_non_existent_node_leaves_pods_pending_until_recovered(backend: StoreBackend) -> None:
    chaos = _chaos("assign-non-existent-node")
    record, action = _run(backend, chaos)
    assert _template(backend)["nodeSelector"] == {"kubernetes.io/hostname": "extra-node"}
    assert action.observable(backend, chaos, record) == (True, "the nodeSelector matches no node")
    backend.store.create(_pod("web-2", node=None))
    seen, detail = action.observable(backend, chaos, record)
    assert seen and "web-2 cannot be scheduled" in detail
    # a no-op fails the oracle: the Pending pod is not skipped
    graded = _with_records(chaos, record)
    assert any("cannot be scheduled" in p for p in fault_problems(cast(Backend, backend), graded))
    assert "pod web-2 is not Ready" in pod_problems(cast(Backend, backend), NS, "web")[0]
    asyncio.run(action.recover(backend, chaos, record))
    assert "nodeSelector" not in _template(backend)
    assert backend.get("deployments", NS, "web")["spec"]["strategy"]["type"] == "RollingUpdate"


def test_assign_non_existent_node_leaves_a_removed_selector_alone(backend: StoreBackend) -> None:
    chaos = _chaos("assign-non-existent-node")
    record, action = _run(backend, chaos)
    patch = {"spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}}}
    backend.patch("deployments", NS, "web", "merge", {"spec": {"template": {"spec": {"nodeSelector": None}}}})
    backend.patch("deployments", NS, "web", "merge", patch)  # someone's own choice since
    asyncio.run(action.recover(backend, chaos, record))
    assert _template(backend)["nodeSelector"] == {"disk": "ssd"}


def test_a_target_port_fix_is_judged_by_reaching_the_pods(backend: StoreBackend) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed_port = free.getsockname()[1]
    free.close()  # nothing listens here
    open_port = listener.getsockname()[1]
    try:
        backend.store.create(_pod("web-1"))
        chaos = _chaos("k8s-target-port-misconfig")
        record, _ = _run(backend, chaos)
        graded = _with_records(chaos, record)

        def endpoints(port: int) -> None:
            subsets = [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]}]
            obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": NS}}
            try:
                current = backend.get("endpoints", NS, "web")
                backend.replace({**current, "subsets": subsets})
            except Exception:
                backend.create({**obj, "subsets": subsets})

        endpoints(closed_port)
        problems = fault_problems(cast(Backend, backend), graded)
        assert any("refuses connections" in p for p in problems) and any("9999" in p for p in problems)
        # the Service targets the pods' port again, and the endpoints answer: judged fixed
        _set_target_port(backend, 8081)
        endpoints(open_port)
        assert fault_problems(cast(Backend, backend), graded) == []
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("fault", "truth"),
    [
        ("wrong-bin-usage", ("Application", "Network/Storage Issue")),
        ("k8s-target-port-misconfig", ("Virtualization", "Misconfiguration")),
        ("scale-pod-zero", ("Virtualization", "Operation Error")),
        ("assign-non-existent-node", ("Virtualization", "Dependency Problem")),
        ("misconfig-app", ("Application", "Misconfiguration")),
        ("tls-required", ("Application", "Misconfiguration")),
        ("redeploy-without-pv", ("Virtualization", "Operation Error")),
    ],
)
def test_the_catalog_names_aiopslab_faults_with_aiopslab_ground_truth(fault: str, truth: tuple[str, str]) -> None:
    entry = get_fault(fault)
    assert entry.kind == "FunctionalChaos" and entry.spec["action"] == fault
    assert (entry.truth["system_level"], entry.truth["fault_type"]) == truth
    assert get_app("hotel-reservation").targets_for(fault)
