"""Kubeconfig files for the running server, one per token scope, so that the real kubectl, the official
clients and other harnesses reach the embedded cluster as they reach any Kubernetes cluster.

    $REMEDLAB_HOME/kubeconfig          the admin token (what `remedlab kubeconfig` prints)
    $REMEDLAB_HOME/kubeconfig-agent    the agent token (agents' sandboxes get a copy)

Written by the server at start (mode 0600) with its HTTPS address, its CA and its tokens.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

CLUSTER = "remedlab"


def kubeconfig_path(home: Path, scope: str = "admin") -> Path:
    return home / ("kubeconfig" if scope == "admin" else f"kubeconfig-{scope}")


def kubeconfig_text(server_url: str, token: str, scope: str, ca_pem: bytes | None, namespace: str = "default") -> str:
    """A kubeconfig with one cluster, user and context; without ``ca_pem`` the server's certificate is
    not checked (as the kubeconfig it comes from says)."""
    user = f"{CLUSTER}-{scope}"
    context = CLUSTER if scope == "admin" else f"{CLUSTER}-{scope}"
    cluster: dict[str, object] = {"server": server_url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    else:
        cluster["insecure-skip-tls-verify"] = True
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": CLUSTER, "user": user, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


def write_kubeconfig(path: Path, server_url: str, token: str, scope: str, ca_pem: bytes | None) -> Path:
    """Write (or rewrite) a kubeconfig readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(kubeconfig_text(server_url, token, scope, ca_pem))
    os.replace(tmp, path)
    return path
