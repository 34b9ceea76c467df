"""ServiceAccount tokens: JSON Web Tokens the API issues on a TokenRequest (`kubectl create token`)
and accepts as bearer tokens, authenticating as ``system:serviceaccount:NAMESPACE:NAME``.

They carry Kubernetes' claims (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``nbf`` and
``kubernetes.io`` with the namespace and the account's name and uid). They are signed with
HMAC-SHA256 under a key kept in the cluster's PKI directory (mode 0600) rather than with an RSA
key as kube-apiserver does: the API is their only reader, and it publishes no key to check them
elsewhere. A token stops working when it expires, or when its ServiceAccount is deleted (the uid
it names must still be the account's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from remedlab.api.errors import Invalid
from remedlab.api.rbac import service_account_user
from remedlab.cluster.apiserver.store import Store

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
MAX_SECONDS = 1 << 32
KEY_FILE = "service-account.key"


@dataclass(frozen=True)
class ServiceAccountClaims:
    namespace: str
    name: str
    uid: str
    expires: int

    @property
    def user(self) -> str:
        return service_account_user(self.namespace, self.name)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key


class TokenIssuer:
    """Issues and checks the tokens of the cluster's ServiceAccounts."""

    def __init__(self, key_path: Path) -> None:
        self._key = _load_key(key_path)
        self._kid = hashlib.sha256(self._key).hexdigest()[:16]

    def issue(self, namespace: str, name: str, uid: str, audiences: list[str], seconds: int | None) -> tuple[str, int]:
        """A token for the account and its expiry (Unix seconds). Invalid when the duration is out of range."""
        duration = DEFAULT_SECONDS if seconds is None else seconds
        if duration < MIN_SECONDS:
            raise Invalid(
                f"TokenRequest: spec.expirationSeconds: Invalid value: {duration}: "
                "may not specify a duration less than 10 minutes"
            )
        if duration > MAX_SECONDS:
            raise Invalid(
                f"TokenRequest: spec.expirationSeconds: Invalid value: {duration}: "
                "may not specify a duration larger than 2^32 seconds"
            )
        now = int(time.time())
        claims = {
            "aud": audiences or [ISSUER],
            "exp": now + duration,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "jti": secrets.token_hex(16),
            "sub": service_account_user(namespace, name),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        }
        header = {"alg": "HS256", "typ": "JWT", "kid": self._kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}", now + duration

    def claims(self, token: str) -> ServiceAccountClaims | None:
        """The claims of a token this issuer signed and that has not expired, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            body = json.loads(_unb64(parts[1]))
            account = body["kubernetes.io"]
            found = ServiceAccountClaims(
                str(account["namespace"]),
                str(account["serviceaccount"]["name"]),
                str(account["serviceaccount"]["uid"]),
                int(body["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return found if found.expires > time.time() else None


class ServiceAccountAuthenticator:
    """Bearer token -> user name, for tokens of ServiceAccounts that still exist."""

    def __init__(self, issuer: TokenIssuer, store: Store) -> None:
        self.issuer = issuer
        self.store = store

    def __call__(self, token: str) -> str | None:
        if token.count(".") != 2:
            return None
        claims = self.issuer.claims(token)
        if claims is None:
            return None
        account = self.store.get("ServiceAccount", claims.namespace, claims.name)
        if account is None or account["metadata"].get("uid") != claims.uid:
            return None
        return claims.user
