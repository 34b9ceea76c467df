"""Agents' playbooks run by ansible-core for real, in a sandbox with a fake kubectl on its PATH."""

from __future__ import annotations

import re
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from remedlab.remediate.command_runner import Sandbox
from remedlab.remediate.playbook_runner import run_playbook
from tests.unit.fake_kubectl import fake_kubectl_sandbox

FAKE_KUBECTL = """#!/bin/sh
case "$1" in
  rollout) echo "deployment.apps/hello-service rolled back" ;;
  get) echo "hello-service-1 1/1 Running" ;;
  delete) echo 'Error from server (NotFound): pods "nope" not found' >&2; exit 1 ;;
  wait) sleep 30 ;;
esac
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return fake_kubectl_sandbox(tmp_path, FAKE_KUBECTL, timeout=60)


def playbook(tasks: str) -> str:
    return "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "    ")


def test_a_playbook_runs_and_reports_each_task(sandbox: Sandbox) -> None:
    result = run_playbook(
        playbook(
            """
            - name: roll back
              command: kubectl rollout undo deployment/hello-service -n simple-micro
              register: undo
            - name: show it
              debug:
                msg: "{{ undo.stdout }}"
            - name: check pods
              shell: kubectl get pods -n simple-micro
            """
        ),
        sandbox,
    )
    assert result.ok and result.exit_code == 0, result.transcript()
    assert [(t.name, t.status) for t in result.tasks] == [
        ("roll back", "changed"),
        ("show it", "ok"),
        ("check pods", "changed"),
    ]
    assert result.tasks[0].stdout == "deployment.apps/hello-service rolled back" and result.tasks[0].rc == 0
    assert "rolled back" in result.tasks[1].msg
    assert "playbook succeeded" in result.transcript()


def test_a_failing_task_is_reported_with_its_output(sandbox: Sandbox) -> None:
    result = run_playbook(playbook("- name: delete\n  command: kubectl delete pod nope -n simple-micro\n"), sandbox)
    assert not result.ok and result.exit_code == 2
    (task,) = result.tasks
    assert task.status == "failed" and task.rc == 1 and "NotFound" in task.stderr
    assert "[failed] delete (rc=1)" in result.transcript()


def test_a_refused_playbook_never_runs(sandbox: Sandbox) -> None:
    result = run_playbook(playbook("- shell: rm -rf /\n"), sandbox)
    assert result.refused is not None and "rm is not allowed" in result.refused and not result.ok
    assert not (sandbox.cwd / "remediation.yml").exists()


def test_the_time_limit_stops_ansible_and_its_tasks(sandbox: Sandbox) -> None:
    short = Sandbox(cwd=sandbox.cwd, env=sandbox.env, timeout=4)
    started, started_at = time.monotonic(), time.time()
    tasks = "- name: look\n  command: kubectl get pods\n- name: wait for x\n  command: kubectl wait pod/x\n"
    result = run_playbook(playbook(tasks), short)
    assert result.timed_out and not result.ok and time.monotonic() - started < 10
    # the task under way is named: the run stopped before ansible's report of the tasks that finished
    assert result.stopped_in == "wait for x" and result.to_dict()["stoppedIn"] == "wait for x"
    assert re.search(r"stopped after \d+s during task 'wait for x': time limit reached", result.transcript())
    # the stopped module's unpacked payload stays in the working directory (pruned with it), not in /tmp
    assert list(sandbox.cwd.glob("ansible_*_payload_*"))
    assert not [p for p in Path(tempfile.gettempdir()).glob("ansible_*_payload_*") if p.stat().st_mtime >= started_at]


ECHO_KUBECONFIG = """#!/bin/sh
echo "KUBECONFIG=$KUBECONFIG user=$(id -un)"
"""

MICROREMED = """\
- hosts: k3s_control_plane
  become: yes
  become_user: root
  environment:
    KUBECONFIG: /etc/rancher/k3s/k3s.yaml
  tasks:
    - name: restart
      shell: kubectl rollout restart deployment/time-service -n simple-micro
      environment:
        KUBECONFIG: /etc/rancher/k3s/k3s.yaml
- hosts: all
  gather_facts: no
  tasks:
    - name: again, on all
      command: kubectl get pods -n simple-micro
"""


def test_microremeds_playbook_runs_normalised_with_the_sandboxs_kubeconfig(tmp_path: Path) -> None:
    base = fake_kubectl_sandbox(tmp_path, ECHO_KUBECONFIG, timeout=60)
    kubeconfig = base.cwd / "kubeconfig"
    sandbox = Sandbox(cwd=base.cwd, env={**base.env, "KUBECONFIG": str(kubeconfig)}, timeout=60)
    result = run_playbook(MICROREMED, sandbox)
    assert result.ok, result.transcript()
    assert [(t.name, t.status) for t in result.tasks] == [
        ("Gathering Facts", "ok"),
        ("restart", "changed"),
        ("again, on all", "changed"),
    ]
    assert all(t.stdout.startswith(f"KUBECONFIG={kubeconfig} ") for t in result.tasks[1:]), result.transcript()
    written = (sandbox.cwd / "remediation.yml").read_text()
    assert "become" not in written and "environment" not in written and "k3s.yaml" not in written
    assert "[k3s_control_plane]\nlocalhost ansible_connection=local" in (sandbox.cwd / "inventory.ini").read_text()
    assert "note: become has no effect" in result.transcript()
    assert result.to_dict()["notes"] == result.notes and len(result.notes) == 2


def test_hosts_patterns_run_once_on_localhost(sandbox: Sandbox) -> None:
    text = "- hosts: k3s_control_plane,127.0.0.1:localhost\n  gather_facts: no\n  tasks:\n"
    result = run_playbook(text + "    - command: kubectl get pods -n simple-micro\n", sandbox)
    assert result.ok, result.transcript()
    assert [(t.name, t.status) for t in result.tasks] == [("command", "changed")]
