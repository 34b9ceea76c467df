"""HTTP to a Kubernetes API server: TLS and credentials from a kubeconfig, JSON in and out, and the
server's ``Status`` failures raised as remedlab's API errors (``api/errors.py``)."""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from collections.abc import Mapping
from typing import Any

import httpx

from remedlab.api.errors import ClusterError, error_from_status
from remedlab.kube.kubeconfig_reader import KubeCredentials

Params = Mapping[str, str | int | list[str]]
USER_AGENT = "remedlab"


class Unreachable(ClusterError):
    """The API server did not answer at all."""

    reason = "ServiceUnavailable"
    code = 503


def ssl_context(creds: KubeCredentials) -> ssl.SSLContext:
    """TLS as the kubeconfig says: its CA (or the system's), its client certificate, or no checks at all."""
    context = ssl.create_default_context(cadata=creds.ca_pem.decode() if creds.ca_pem else None)
    if creds.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if creds.client_cert_pem and creds.client_key_pem:
        # the ssl module loads a key pair from files only: a private directory, gone once loaded
        with tempfile.TemporaryDirectory(prefix="remedlab-kube-") as tmp:
            cert, key = os.path.join(tmp, "client.crt"), os.path.join(tmp, "client.key")
            for target, data in ((cert, creds.client_cert_pem), (key, creds.client_key_pem)):
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            context.load_cert_chain(cert, key)
    return context


def raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        status = response.json()
    except ValueError:
        status = {}
    if not isinstance(status, dict) or status.get("kind") != "Status":
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else response.reason_phrase
        status = {"message": f"{response.request.method} {response.request.url.path}: {text}"}
    raise error_from_status(status, response.status_code)


class KubeApi:
    """One cluster's API, through the credentials of one kubeconfig context."""

    def __init__(self, creds: KubeCredentials, timeout: float = 30.0) -> None:
        self.creds = creds
        self.ssl = ssl_context(creds)
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if creds.token:
            self.headers["Authorization"] = f"Bearer {creds.token}"
        self.timeout = timeout
        self.http = httpx.Client(base_url=creds.server, verify=self.ssl, headers=self.headers, timeout=timeout)
        self._streams: httpx.AsyncClient | None = None

    def async_client(self, timeout: float | None = None) -> httpx.AsyncClient:
        """A client for streams (watch, follow) on the running event loop; the caller closes it."""
        return httpx.AsyncClient(
            base_url=self.creds.server,
            verify=self.ssl,
            headers=self.headers,
            timeout=httpx.Timeout(self.timeout, read=timeout),
        )

    def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request; the decoded JSON answer (text for non-JSON answers such as logs)."""
        content = None if body is None else body if isinstance(body, str | bytes) else json.dumps(body)
        headers = {"Content-Type": content_type} if content is not None else None
        try:
            response = self.http.request(method, path, params=params, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise Unreachable(f"the Kubernetes API at {self.creds.server} did not answer: {exc}") from None
        raise_for_status(response)
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    def shared_async_client(self) -> httpx.AsyncClient:
        """One client for long-lived passing through (no read timeout), made on first use on the running
        event loop and closed by ``aclose``."""
        if self._streams is None:
            self._streams = self.async_client(timeout=None)
        return self._streams

    def close(self) -> None:
        self.http.close()

    async def aclose(self) -> None:
        """Close both clients (the shared async one on the event loop it was made on)."""
        if self._streams is not None:
            await self._streams.aclose()
            self._streams = None
        self.close()
