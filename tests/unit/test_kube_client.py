"""The Kubernetes API client's pieces that need no cluster: reading kubeconfigs as kubectl does, and
turning any API server's Status failures into remedlab's errors."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from remedlab.api.access import RequestAttributes, request_attributes
from remedlab.api.errors import AlreadyExists, ClusterError, Conflict, Expired, Forbidden, NotFound, error_from_status
from remedlab.api.pod_log_options import LogOptions
from remedlab.api.quantity import cpu_millicores, memory_bytes
from remedlab.kube.kubeconfig_reader import KubeconfigError, load_kubeconfig


def write(path: Path, users: list[Any], current: str = "one") -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority": "ca.pem"}}],
        "users": users,
        "contexts": [
            {"name": "one", "context": {"cluster": "c", "user": "u", "namespace": "apps"}},
            {"name": "two", "context": {"cluster": "c", "user": "plugin"}},
        ],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_context_gives_the_server_ca_and_credentials(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"CA")
    (tmp_path / "token").write_text("s3cret\n")
    users = [
        {"name": "u", "user": {"tokenFile": "token"}},
        {"name": "plugin", "user": {"exec": {"command": "aws"}}},
    ]
    creds = load_kubeconfig(write(tmp_path / "config", users))
    assert (creds.server, creds.context, creds.namespace, creds.ca_pem, creds.token) == (
        "https://127.0.0.1:6443",
        "one",
        "apps",
        b"CA",
        "s3cret",
    )
    with pytest.raises(KubeconfigError, match="through a plugin"):
        load_kubeconfig(tmp_path / "config", "two")
    with pytest.raises(KubeconfigError, match="no context named 'three'"):
        load_kubeconfig(tmp_path / "config", "three")
    with pytest.raises(KubeconfigError, match="cannot read kubeconfig"):
        load_kubeconfig(tmp_path / "missing")
    data = base64.b64encode(b"CERT").decode()
    half = [{"name": "u", "user": {"client-certificate-data": data}}]
    with pytest.raises(KubeconfigError, match="needs its key"):
        load_kubeconfig(write(tmp_path / "half", half))


def test_status_failures_become_the_errors_they_stand_for() -> None:
    def status(reason: str, code: int) -> dict[str, object]:
        return {"kind": "Status", "status": "Failure", "message": "m", "reason": reason, "code": code}

    assert isinstance(error_from_status(status("NotFound", 404), 404), NotFound)
    assert isinstance(error_from_status(status("AlreadyExists", 409), 409), AlreadyExists)
    assert isinstance(error_from_status(status("Conflict", 409), 409), Conflict)
    assert isinstance(error_from_status(status("Expired", 410), 410), Expired)
    assert isinstance(error_from_status(status("", 403), 403), Forbidden)
    other = error_from_status(status("TooManyRequests", 429), 429)
    assert type(other) is ClusterError and (other.code, other.reason) == (429, "TooManyRequests")


def test_the_proxy_reads_a_request_as_kube_apiserver_does() -> None:
    log = request_attributes("GET", "/api/v1/namespaces/ns/pods/p/log")
    assert log == RequestAttributes("get", "", "pods", "log", "ns", "p")
    chaos = request_attributes("POST", "/apis/chaos-mesh.org/v1alpha1/namespaces/ns/podchaos")
    assert chaos == RequestAttributes("create", "chaos-mesh.org", "podchaos", "", "ns", "")
    assert request_attributes("GET", "/apis/apps/v1/deployments", watch=True) == RequestAttributes(
        "watch", "apps", "deployments"
    )
    assert request_attributes("DELETE", "/api/v1/namespaces/ns") == RequestAttributes(
        "delete", "", "namespaces", "", "ns", "ns"
    )
    assert request_attributes("GET", "/apis") is None


def test_usage_as_metrics_servers_write_it_parses() -> None:
    """metrics-server writes CPU in nanocores and memory in Ki; both must read back."""
    assert cpu_millicores("436123456n") == 436
    assert cpu_millicores("250000u") == 250
    assert memory_bytes("1024Ki") == 2**20


def test_log_options_go_back_to_the_query_they_came_from() -> None:
    options = LogOptions(container="db", previous=True, timestamps=True, tail_lines=20, since_seconds=30, limit_bytes=9)
    assert LogOptions.parse("p", options.query()) == options
    assert LogOptions().query() == {}
