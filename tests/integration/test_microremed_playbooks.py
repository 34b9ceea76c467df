"""MicroRemed's playbooks, as its models write them for a k3s host, sent to `/execute_playbook` of a live server:
they run as written (``hosts: k3s_control_plane``, ``become: yes``, ``environment: {KUBECONFIG: ...}``), through
the real kubectl with the sandbox's kubeconfig, and the fault clears as `/check_status` sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server() as server:
        code, body = call(server, "deploy_env", {"env_name": NS})
        assert code == 200, body
        yield server


def call(server: ServerProcess, endpoint: str, body: dict[str, Any], scope: str = "admin") -> tuple[int, Any]:
    return server.request("POST", f"/{endpoint}", body, timeout=330, scope=scope)


def status_until(server: ServerProcess, failure: str, app: str, wanted: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        body = {"target_namespace": NS, "app_label": app, "failure_type": failure, "timeout": 5}
        code, last = call(server, "check_status", body)
        assert code == 200, last
        if last["message"] is wanted:
            return
        time.sleep(1)
    raise AssertionError(f"check_status stayed {last} for {failure} on {app}")


def inject(server: ServerProcess, failure: str, target: str) -> None:
    status_until(server, failure, target, True)
    body = {"failure_type": failure, "target_pod": target, "target_namespace": NS}
    code, answer = call(server, "inject_failure", body)
    assert code == 200 and "injected" in answer["message"], answer
    status_until(server, failure, target, False)


def pod_names(server: ServerProcess, app: str) -> set[str]:
    return {p["metadata"]["name"] for p in server.pods(NS, f"app={app}")}


def test_a_microremed_playbook_restarts_the_faulty_deployment(server: ServerProcess) -> None:
    inject(server, "cpu-stress", "time-service")
    before = pod_names(server, "time-service")
    playbook = f"""\
- hosts: k3s_control_plane
  become: yes
  environment:
    KUBECONFIG: /etc/rancher/k3s/k3s.yaml
  tasks:
    - name: which kubectl
      shell: kubectl version --client
    - name: restart
      shell: kubectl rollout restart deployment/time-service -n {NS}
    - name: wait for the rollout
      command: kubectl rollout status deployment/time-service -n {NS} --timeout=120s
"""
    code, answer = call(server, "execute_playbook", {"playbook": playbook}, "agent")
    message = answer["message"]
    assert code == 200 and "playbook succeeded" in message, message
    assert "[changed] which kubectl" in message and "Kustomize Version" in message, message  # the real kubectl
    assert "[changed] restart" in message and "deployment.apps/time-service restarted" in message, message
    assert "[changed] wait for the rollout" in message and "successfully rolled out" in message, message
    assert "note: become has no effect" in message, message
    status_until(server, "cpu-stress", "time-service", True)
    assert not pod_names(server, "time-service") & before
    assert call(server, "stop_injection", {"failure_type": "cpu-stress", "target_namespace": NS})[0] == 200


def test_a_microremed_playbook_deletes_the_faulty_pod(server: ServerProcess) -> None:
    inject(server, "network-delay", "hello-service")
    (faulty,) = pod_names(server, "hello-service")
    playbook = f"""\
- name: replace the delayed pod
  hosts: all
  gather_facts: no
  become: true
  become_user: root
  tasks:
    - name: delete it
      command: kubectl delete pod {faulty} -n {NS} --wait=true
      environment:
        KUBECONFIG: /etc/rancher/k3s/k3s.yaml
    - name: wait for its replacement
      command: kubectl wait --for=condition=Ready pod -l app=hello-service -n {NS} --timeout=120s
"""
    code, answer = call(server, "execute_playbook", {"playbook": playbook}, "agent")
    message = answer["message"]
    assert code == 200 and "playbook succeeded" in message, message
    assert f'pod "{faulty}" deleted' in message and "condition met" in message, message
    status_until(server, "network-delay", "hello-service", True)
    assert faulty not in pod_names(server, "hello-service")
    assert call(server, "stop_injection", {"failure_type": "network-delay", "target_namespace": NS})[0] == 200


def test_what_stays_refused_is_one_line(server: ServerProcess) -> None:
    refused = [
        ("- hosts: k3s_control_plane\n  become_user: postgres\n", "privilege escalation"),
        ("- hosts: k3s_control_plane\n  environment:\n    PATH: /tmp/evil\n", "environment is fixed"),
        ("- hosts: k3s_workers\n", "control plane"),
    ]
    for header, needle in refused:
        playbook = header + f"  tasks:\n    - command: kubectl get pods -n {NS}\n"
        code, answer = call(server, "execute_playbook", {"playbook": playbook}, "agent")
        assert code == 500 and needle in answer["message"] and "\n" not in answer["message"], answer
