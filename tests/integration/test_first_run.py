"""A first run: `remedlab run` and `remedlab up` on a machine where remedlab never ran start the server
themselves, deploy and print the kubeconfig line at the first try; the CLI's errors are one line each."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

import psutil
import pytest

from remedlab.volume_storage import remove_claims
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration


def _remedlab(env: dict[str, str], *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remedlab.cli.main", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _stop(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        server = psutil.Process(pid)
        server.terminate()
        try:
            server.wait(30)
        except psutil.TimeoutExpired:
            server.kill()
            server.wait(10)


def test_up_succeeds_at_the_first_try_from_an_empty_home() -> None:
    lab = ServerProcess()  # its port and scratch directory; the server is started by `remedlab up`
    home = lab.home / "never-used"
    env = {**lab.env, "REMEDLAB_HOME": str(home), "REMEDLAB_KUBE_PORT": "0", "KUBECONFIG": ""}
    assert not home.exists()
    pid = None
    try:
        # a mistake in what to run starts nothing
        wrong = _remedlab(env, "run", "--env", "simple-micro", "--suite", "no-such-suite", timeout=60)
        assert wrong.returncode != 0 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
        assert not (home / "server.json").exists()
        # the README's first command, `remedlab run`, starts the server as `up` does
        ran = _remedlab(
            env,
            *("run", "--env", "simple-micro", "--suite", "pod-fail", "--experiments", "1"),
            *("--out", str(lab.home / "first-run"), "--settle", "3", "--quiet-seconds", "2"),
        )
        record = home / "server.json"
        if record.exists():
            pid = int(json.loads(record.read_text())["pid"])
        assert ran.returncode == 0, (ran.stdout, ran.stderr)
        assert "started the server" in ran.stdout and "planned 1 episodes" in ran.stdout, ran.stdout
        assert (lab.home / "first-run" / "results.jsonl").read_text().count("\n") == 1

        done = _remedlab(env, "up", "simple-micro", "--timeout", "90")
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert "started the server" not in done.stdout and "simple-micro is Ready" in done.stdout, done.stdout
        assert f"export KUBECONFIG={home / 'kubeconfig'}" in done.stdout, done.stdout
        # the kubeconfig it printed works with the real kubectl
        kubectl = subprocess.run(
            ["kubectl", "get", "pods", "-n", "simple-micro", "-o", "name"],
            env={**env, "KUBECONFIG": str(home / "kubeconfig"), "KUBECACHEDIR": str(home / "kube-cache")},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert kubectl.returncode == 0 and kubectl.stdout.count("pod/") >= 2, kubectl.stderr

        # errors a user can make: one line each, nothing changed
        for args in (
            ("up", "no-such-app"),
            ("kubeconfig", "--scope", "root"),
            ("down", "no-such-app"),
            ("serve", "--kube-port", "70000"),
        ):
            failed = _remedlab(env, *args, timeout=60)
            assert failed.returncode != 0, args
            assert len(failed.stderr.strip().splitlines()) == 1, (args, failed.stderr)
        assert _remedlab(env, "status", timeout=60).returncode == 0
    finally:
        if pid is not None:
            _stop(pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and lab.pod_processes():
            time.sleep(0.2)
        remove_claims(home)  # outside the scratch directory
        lab.cleanup()
