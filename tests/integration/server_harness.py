"""A real `remedlab serve` process for integration tests, cleaned up however a test ends."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from remedlab.api.kinds import BY_KIND, BY_PLURAL, api_path
from remedlab.cluster.node.isolation.mount_namespace import namespaces_unavailable, runtime_paths
from remedlab.cluster.node.isolation.pod_filesystem import runtime_view_entry
from remedlab.free_port import free_port
from remedlab.mounts import mounts_under
from remedlab.tokens import default_token_file, token_for_scope
from remedlab.volume_storage import claims_root, remove_state_directory
from tests.integration.pod_logs import WATCH


def scratch_dir() -> str | None:
    """Where test state directories go: /var/tmp when writable (on some hosts creating many files
    under /tmp is an order of magnitude slower, and the stores create thousands), else the default."""
    return "/var/tmp" if os.access("/var/tmp", os.W_OK | os.X_OK) else None


def as_user(user: str, *paths: Path) -> Callable[[], None]:
    """A preexec running the child as `user`: as root with mount namespaces, in a view where the user
    reaches this checkout's runtime (and `paths`) wherever it is, as pods do."""
    entry = pwd.getpwnam(user)
    enter = None
    if os.geteuid() == 0 and namespaces_unavailable() is None:
        enter = runtime_view_entry(runtime_paths(*paths), (entry.pw_uid, entry.pw_gid))

    def preexec() -> None:
        if enter is not None:
            enter()
        os.setgroups([])
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return preexec


class ServerProcess:
    def __init__(
        self,
        home: Path | None = None,
        backoff_base: float = 1.0,
        isolation: str = "auto",
        user: str | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.isolation = isolation
        self.extra_args = extra_args
        self.user = user
        self.home = home or Path(tempfile.mkdtemp(prefix="remedlab-test-", dir=scratch_dir()))
        os.chmod(self.home, 0o755)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backoff_base = backoff_base
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REMEDLAB_HOME": str(self.home),
            "REMEDLAB_SERVER": self.url,
            "KUBECONFIG": str(self.home / "kubeconfig"),
            "KUBECACHEDIR": str(self.home / "kube-cache"),
        }

    def start(self, timeout: float = 30.0) -> None:
        WATCH.started(self.home)
        log = (self.home / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "remedlab.cli.main",
                "serve",
                "--port",
                str(self.port),
                "--kube-port",
                "0",
                "--backoff-base",
                str(self.backoff_base),
                "--isolation",
                self.isolation,
                *self.extra_args,
            ],
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=as_user(self.user, self.home) if self.user else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.home / 'server.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/healthz")[0] == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def token(self, scope: str = "admin") -> str:
        """A bearer token of ``scope`` from the server's token file."""
        token = token_for_scope(default_token_file(self.home), scope)
        assert token is not None, f"no {scope} token in {default_token_file(self.home)}"
        return token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        timeout: float = 60.0,
        scope: str | None = "admin",
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One API call, with a bearer token of ``scope`` (None: no token)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if scope is not None and path != "/healthz":
            req.add_header("Authorization", f"Bearer {self.token(scope)}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            status = exc.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def ok(
        self, method: str, path: str, body: Any = None, timeout: float = 60.0, content_type: str = "application/json"
    ) -> Any:
        status, payload = self.request(method, path, body, timeout, content_type=content_type)
        assert status < 300, f"{method} {path} -> {status}: {payload}"
        return payload

    # the Kubernetes API, as any client calls it (resources by their plural: pods, deployments...)

    @staticmethod
    def path(resource: str, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        return api_path(BY_PLURAL[resource], namespace, name, sub)

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        return dict(self.ok("GET", self.path(resource, namespace, name)))

    def items(self, resource: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        query = "?" + urllib.parse.urlencode({"labelSelector": selector}) if selector else ""
        return list(self.ok("GET", self.path(resource, namespace) + query)["items"])

    def pods(self, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        return self.items("pods", namespace, selector)

    def apply(self, *objects: dict[str, Any]) -> list[dict[str, Any]]:
        """Server-side apply of each object (created when absent), as `kubectl apply --server-side` does."""
        applied = []
        for obj in objects:
            info = BY_KIND[obj["kind"]]
            meta = obj["metadata"]
            path = api_path(info, meta.get("namespace") or ("default" if info.namespaced else None), meta["name"])
            applied.append(
                self.ok(
                    "PATCH",
                    path + "?fieldManager=tests&fieldValidation=Strict",
                    obj,
                    content_type="application/apply-patch+yaml",
                )
            )
        return applied

    def patch(
        self, resource: str, namespace: str | None, name: str, patch: Any, patch_type: str = "strategic"
    ) -> dict[str, Any]:
        content_type = {
            "strategic": "application/strategic-merge-patch+json",
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
        }[patch_type]
        return dict(self.ok("PATCH", self.path(resource, namespace, name), patch, content_type=content_type))

    def delete(self, resource: str, namespace: str | None, name: str, grace: int | None = None) -> dict[str, Any]:
        query = f"?gracePeriodSeconds={grace}" if grace is not None else ""
        return dict(self.ok("DELETE", self.path(resource, namespace, name) + query))

    def wait_for(self, predicate: Any, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")

    def cli(self, *args: str, timeout: float = 30.0) -> str:
        """Run `remedlab ARGS` against this server; its output (the command must succeed)."""
        done = subprocess.run(
            [sys.executable, "-m", "remedlab.cli.main", *args],
            env={**self.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def descendants(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.Error:
            return []

    def kill(self) -> None:
        """SIGKILL the server alone, as a crash would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def pod_processes(self) -> list[psutil.Process]:
        """Every process on the host started from this server's pods (by their environment)."""
        found = []
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error):
                env = proc.environ()
                if env.get("REMEDLAB_POD_NAME") is not None and str(self.home) in json.dumps(env) + proc.cwd():
                    found.append(proc)
        return found

    def namespace_processes(self, namespace: str) -> list[psutil.Process]:
        """The processes of ``namespace``'s pods, with their children (a database's workers rewrite
        their environment for their process titles, so they are found as children)."""
        names = {p["metadata"]["name"] for p in self.pods(namespace)}
        members: dict[int, psutil.Process] = {}
        for proc in self.pod_processes():
            with contextlib.suppress(psutil.Error):
                if proc.environ().get("REMEDLAB_POD_NAME") in names:
                    for member in (proc, *proc.children(recursive=True)):
                        members[member.pid] = member
        return list(members.values())

    def cleanup(self) -> None:
        WATCH.stopping(self.home, failing=sys.exc_info()[0] is not None)  # an exception is going by
        self.stop()
        for proc in self.pod_processes():
            with contextlib.suppress(psutil.Error):
                proc.kill()
        claims = claims_root(self.home)  # in memory, outside the state directory (see volume_storage)
        left = sorted({*mounts_under(self.home), *mounts_under(claims)})
        remove_state_directory(self.home)
        assert not left, f"the server left mounts behind: {left}"


@contextlib.contextmanager
def running_server(deploy: str | None = None, timeout: float = 120.0) -> Iterator[ServerProcess]:
    """A fresh server, with app `deploy` deployed and Ready when given; every trace of it removed after."""
    server = ServerProcess()
    try:
        server.start()
        if deploy is not None:
            deployed = server.ok("POST", f"/v1/apps/{deploy}/deploy", {"timeoutSeconds": timeout}, timeout=timeout + 30)
            assert deployed["ready"], deployed
        yield server
    finally:
        server.cleanup()
