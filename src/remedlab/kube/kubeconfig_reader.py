"""Reading a kubeconfig the way kubectl does: one context (the current one, or the one named), its
cluster's server and CA, its user's credentials (a bearer token, a token file, or a client certificate).

Exec and auth-provider plugins are not run: such a context is refused with a one-line message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class KubeCredentials:
    """Where a cluster's API is and how to authenticate to it."""

    server: str
    context: str
    namespace: str = "default"
    ca_pem: bytes | None = None
    insecure: bool = False
    token: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None


def _named(document: dict[str, Any], section: str, name: str, path: Path) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return dict(entry.get(section[:-1]) or {})
    raise KubeconfigError(f"{path}: no {section[:-1]} named {name!r}: check the kubeconfig's {section}")


def _blob(entry: dict[str, Any], key: str, base: Path) -> bytes | None:
    """``key-data`` (base64) or ``key`` (a file, relative to the kubeconfig's directory)."""
    data = entry.get(f"{key}-data")
    if data:
        return base64.b64decode(str(data))
    file = entry.get(key)
    if file:
        target = (base / str(file)).expanduser()
        try:
            return target.read_bytes()
        except OSError as exc:
            raise KubeconfigError(f"cannot read {key} {target}: {exc.strerror}") from None
    return None


def load_kubeconfig(path: Path, context: str | None = None) -> KubeCredentials:
    """The credentials of ``context`` (default: the current context) in the kubeconfig at ``path``."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"{path} is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict) or document.get("kind", "Config") != "Config":
        raise KubeconfigError(f"{path} is not a kubeconfig (kind: Config)")
    name = context or str(document.get("current-context") or "")
    if not name:
        raise KubeconfigError(f"{path} has no current-context: pass --context NAME")
    ctx = _named(document, "contexts", name, path)
    cluster = _named(document, "clusters", str(ctx.get("cluster") or ""), path)
    user = _named(document, "users", str(ctx.get("user") or ""), path) if ctx.get("user") else {}
    if user.get("exec") or user.get("auth-provider"):
        raise KubeconfigError(
            f"context {name!r} authenticates through a plugin, which remedlab does not run: "
            "use a context with a token or a client certificate (e.g. a ServiceAccount token)"
        )
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"context {name!r}: the cluster's server {server!r} is not an http(s) URL")
    base = path.parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token_file = (base / str(user["tokenFile"])).expanduser()
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise KubeconfigError(f"cannot read tokenFile {token_file}: {exc.strerror}") from None
    cert, key = _blob(user, "client-certificate", base), _blob(user, "client-key", base)
    if bool(cert) != bool(key):
        raise KubeconfigError(f"context {name!r}: a client certificate needs its key, and a key its certificate")
    return KubeCredentials(
        server=server,
        context=name,
        namespace=str(ctx.get("namespace") or "default"),
        ca_pem=_blob(cluster, "certificate-authority", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        token=str(token) if token else None,
        client_cert_pem=cert,
        client_key_pem=key,
    )
