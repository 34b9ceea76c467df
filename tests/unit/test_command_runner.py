"""Agents' commands run for real: no shell, a clean environment, a time limit over the whole tree, capped output;
the working directory each action gets, with its copy of the agent kubeconfig."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

from remedlab.kubeconfig import kubeconfig_path, write_kubeconfig
from remedlab.remediate import workspace
from remedlab.remediate.command_policy import Use, check_command
from remedlab.remediate.command_runner import Sandbox, run_allowed, run_argv, run_probe
from remedlab.remediate.workspace import WorkspaceError, new_workspace, release, tools_path
from tests.unit.fake_kubectl import fake_kubectl_sandbox

FAKE_KUBECTL = """#!/bin/sh
case "$1" in
  get) echo "NAME READY"; echo "args: $*"; echo "secret=${SECRET:-unset}" ;;
  logs) yes line | head -c 200000 ;;
  top) sleep 60 & sleep 60 ;;
  describe) echo "broken" >&2; exit 3 ;;
esac
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return fake_kubectl_sandbox(tmp_path, FAKE_KUBECTL, timeout=1.5, output_limit=4096)


def test_a_command_runs_without_a_shell_in_a_clean_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET", "server-side")
    result = run_allowed(check_command("kubectl get pods -n 'a b' '$HOME'", Use.PROBE), sandbox)
    assert result.ok and result.exit_code == 0
    assert "args: get pods -n a b $HOME" in result.stdout  # words passed as they are, nothing expanded
    assert "secret=unset" in result.stdout  # the server's environment does not leak in


def test_failures_keep_their_exit_code_and_stderr(sandbox: Sandbox) -> None:
    result = run_allowed(check_command("kubectl describe pod x", Use.PROBE), sandbox)
    assert (result.exit_code, result.stderr.strip(), result.ok) == (3, "broken", False)
    assert result.transcript().endswith("[exit code 3]")


def test_output_is_capped(sandbox: Sandbox) -> None:
    result = run_allowed(check_command("kubectl logs x --tail=10", Use.PROBE), sandbox)
    assert result.truncated and len(result.stdout) == 4096 and result.exit_code == 0
    assert "[output cut: too long]" in result.transcript()


def test_the_time_limit_stops_the_whole_tree(sandbox: Sandbox) -> None:
    before = {p.pid for p in psutil.process_iter()}
    started = time.monotonic()
    result = run_allowed(check_command("kubectl top pods", Use.PROBE), sandbox)
    assert result.timed_out and time.monotonic() - started < 5
    assert "time limit" in result.transcript()
    time.sleep(0.2)
    sleepers = [
        p
        for p in psutil.process_iter(["pid", "cmdline"])
        if p.pid not in before and p.info["cmdline"] == ["sleep", "60"]
    ]
    assert not sleepers, sleepers


def test_a_probe_string_runs_each_command_or_none(sandbox: Sandbox) -> None:
    results = run_probe("kubectl get pods; kubectl describe pod x", sandbox)
    assert [r.exit_code for r in results] == [0, 3]
    refused = run_probe("kubectl get pods; touch /tmp/owned-by-agent", sandbox)
    assert len(refused) == 1 and refused[0].refused is not None and "touch is not allowed" in refused[0].refused
    assert refused[0].exit_code is None and not os.path.exists("/tmp/owned-by-agent")


def _agent_kubeconfig(home: Path) -> Path:
    path = kubeconfig_path(home, "agent")
    return write_kubeconfig(path, "https://127.0.0.1:6443", "agent-token", "agent", b"not a real CA")


def test_a_workspace_holds_a_private_copy_of_the_agent_kubeconfig(tmp_path: Path) -> None:
    home = tmp_path / "home"
    source = _agent_kubeconfig(home)
    user = (65534, 65534) if os.geteuid() == 0 else None
    sandbox = new_workspace(home, kubeconfig=source, user=user, timeout=5)
    copy = Path(sandbox.env["KUBECONFIG"])
    assert copy.parent == sandbox.cwd and copy.read_bytes() == source.read_bytes()
    info = copy.stat()
    assert info.st_mode & 0o777 == 0o600
    assert (info.st_uid, info.st_gid) == (user or (os.getuid(), os.getgid()))
    assert sandbox.env["HOME"] == str(sandbox.cwd) and sandbox.env["PATH"] == tools_path()
    assert not any(key.startswith("REMEDLAB_") for key in sandbox.env)  # kubectl reads the kubeconfig only
    second = new_workspace(home, kubeconfig=source, user=None, timeout=5)
    assert second.cwd != sandbox.cwd and Path(second.env["KUBECONFIG"]).parent == second.cwd


def test_the_real_kubectl_reads_the_workspaces_kubeconfig(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sandbox = new_workspace(home, kubeconfig=_agent_kubeconfig(home), user=None, timeout=10)
    if shutil.which("kubectl", path=sandbox.env["PATH"]) is None:
        pytest.skip("kubectl is not installed (make setup)")
    result = run_argv(["kubectl", "config", "current-context"], "kubectl config current-context", sandbox)
    assert result.ok and result.stdout.strip() == "remedlab-agent", result.transcript()


def test_a_missing_agent_kubeconfig_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as info:
        new_workspace(tmp_path, kubeconfig=tmp_path / "kubeconfig-agent", user=None, timeout=5)
    assert "restart the server" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "actions").exists()


def test_pruning_keeps_the_new_directory_and_those_of_running_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace, "KEEP_ACTIONS", 3)
    home = tmp_path / "home"
    source = _agent_kubeconfig(home)
    running = new_workspace(home, kubeconfig=source, user=None, timeout=5, hold=True)
    try:
        made = [new_workspace(home, kubeconfig=source, user=None, timeout=5).cwd for _ in range(6)]
        assert sorted(made, key=lambda p: p.name) == made  # names sort in creation order
        assert set((home / "actions").iterdir()) == {running.cwd, *made[-3:]}
        # a directory named later than the new one (a clock set back) does not make the new one go
        for name in ("29991231T235959.000000-aaaaaaaa", "29991231T235959.000001-bbbbbbbb", "29991231T235959.2-c"):
            (home / "actions" / name).mkdir()
        newest = new_workspace(home, kubeconfig=source, user=None, timeout=5)
        assert newest.cwd.exists() and running.cwd.exists()
    finally:
        release(running.cwd)
    new_workspace(home, kubeconfig=source, user=None, timeout=5)
    assert not running.cwd.exists()
