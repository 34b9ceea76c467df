"""HTTP client for the cluster API (`docs/cluster-api.md`), built on urllib only."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from remedlab import paths
from remedlab.api.kinds import KindInfo
from remedlab.remediate.kubectl.errors import ApiStatusError, CommandError, ServerUnreachable
from remedlab.remediate.kubectl.fields import JsonObject
from remedlab.tokens import client_token

DEFAULT_SERVER = "http://127.0.0.1:7411"
DEFAULT_TIMEOUT_SECONDS = 30.0
CLUSTER_SCOPE_SEGMENT = "_"

QueryValue = str | int | float | bool | None


def server_from_env(override: str | None = None) -> str:
    server = (override or os.environ.get("REMEDLAB_SERVER") or DEFAULT_SERVER).strip().rstrip("/")
    if "://" not in server:
        server = "http://" + server
    return server


def token_from_env(override: str | None = None) -> str | None:
    if override:
        return override
    token = os.environ.get("REMEDLAB_TOKEN")
    if token:
        return token.strip()
    try:
        return client_token(paths.home())
    except OSError as exc:
        token_file = os.environ.get("REMEDLAB_TOKEN_FILE", "")
        raise CommandError(f'unable to read token file "{token_file}": {exc.strerror}') from None


class ApiClient:
    def __init__(self, server: str, token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        # Never route cluster traffic through an HTTP proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @classmethod
    def from_env(cls, server: str | None = None, token: str | None = None, timeout: float | None = None) -> ApiClient:
        return cls(server_from_env(server), token_from_env(token), timeout or DEFAULT_TIMEOUT_SECONDS)

    @property
    def host_port(self) -> str:
        parts = urllib.parse.urlsplit(self.server)
        if parts.port is not None:
            return f"{parts.hostname}:{parts.port}"
        return f"{parts.hostname}:{443 if parts.scheme == 'https' else 80}"

    # ------------------------------------------------------------------ raw requests

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Send a request and decode its JSON answer; a failure raises ApiStatusError."""
        raw, content_type = self._send(method, path, query, body, timeout)
        if not raw:
            return None
        text = raw.decode("utf-8", errors="replace")
        if "json" not in content_type and not text.lstrip().startswith(("{", "[")):
            return text
        return json.loads(text)

    def request_text(self, method: str, path: str, *, query: Mapping[str, QueryValue] | None = None) -> str:
        raw, _ = self._send(method, path, query, None, None)
        return raw.decode("utf-8", errors="replace")

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None,
        body: Any,
        timeout: float | None,
    ) -> tuple[bytes, str]:
        url = self.server + path
        if query:
            encoded = urllib.parse.urlencode({k: _query_text(v) for k, v in query.items() if v is not None and v != ""})
            if encoded:
                url += "?" + encoded
        data = None
        headers = {"Accept": "application/json", "User-Agent": "kubectl/remedlab"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=timeout or self.timeout) as response:
                return response.read(), str(response.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as exc:
            raise _status_error(exc) from None
        except urllib.error.URLError as exc:
            raise self._unreachable(exc.reason) from None
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, reason: object) -> ServerUnreachable:
        if isinstance(reason, ConnectionRefusedError):
            return ServerUnreachable(
                f"The connection to the server {self.host_port} was refused - did you specify the right host or port?"
            )
        if isinstance(reason, TimeoutError):
            return ServerUnreachable(f"Unable to connect to the server: {self.host_port}: i/o timeout")
        text = getattr(reason, "strerror", None) or str(reason)
        return ServerUnreachable(f"Unable to connect to the server: {text}")

    # ------------------------------------------------------------------ objects

    def list_objects(
        self,
        info: KindInfo,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[JsonObject]:
        query: dict[str, QueryValue] = {
            "namespace": namespace if info.namespaced else None,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
        }
        answer = self.request("GET", f"/v1/{info.plural}", query=query)
        items = answer.get("items") if isinstance(answer, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def get_object(self, info: KindInfo, namespace: str, name: str) -> JsonObject:
        return _as_object(self.request("GET", object_path(info, namespace, name)))

    def create_object(self, info: KindInfo, namespace: str, obj: JsonObject) -> JsonObject:
        return _as_object(self.request("POST", collection_path(info, namespace), body=obj))

    def replace_object(self, info: KindInfo, namespace: str, name: str, obj: JsonObject) -> JsonObject:
        return _as_object(self.request("PUT", object_path(info, namespace, name), body=obj))

    def patch_object(self, info: KindInfo, namespace: str, name: str, patch_type: str, patch: Any) -> JsonObject:
        body = {"type": patch_type, "patch": patch}
        return _as_object(self.request("PATCH", object_path(info, namespace, name), body=body))

    def delete_object(
        self, info: KindInfo, namespace: str, name: str, grace_period_seconds: int | None = None
    ) -> JsonObject:
        query: dict[str, QueryValue] = {"gracePeriodSeconds": grace_period_seconds}
        return _as_object(self.request("DELETE", object_path(info, namespace, name), query=query))

    def object_action(self, info: KindInfo, namespace: str, name: str, action: str, body: Any = None) -> JsonObject:
        """POST to a sub-resource such as `scale`, `restart` or `undo`."""
        path = f"{object_path(info, namespace, name)}/{action}"
        return _as_object(self.request("POST", path, body=body if body is not None else {}))


def collection_path(info: KindInfo, namespace: str) -> str:
    scope = namespace if info.namespaced else CLUSTER_SCOPE_SEGMENT
    return f"/v1/namespaces/{_segment(scope)}/{info.plural}"


def object_path(info: KindInfo, namespace: str, name: str) -> str:
    return f"{collection_path(info, namespace)}/{_segment(name)}"


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_object(answer: Any) -> JsonObject:
    return answer if isinstance(answer, dict) else {}


def _status_error(exc: urllib.error.HTTPError) -> ApiStatusError:
    try:
        raw = exc.read().decode("utf-8", errors="replace")
    except OSError:
        raw = ""
    body: object = raw
    try:
        body = json.loads(raw)
    except ValueError:
        pass
    return ApiStatusError.from_body(exc.code, body)
