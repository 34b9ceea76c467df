"""RBAC rule matching and ServiceAccount tokens, without a server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from remedlab.api.access import RequestAttributes
from remedlab.api.errors import Invalid
from remedlab.cluster.apiserver.rbac_authorizer import groups_of, rule_allows
from remedlab.cluster.apiserver.service_account_tokens import TokenIssuer

LOGS = RequestAttributes("get", "", "pods", "log", "ns", "web-1")
SCALE = RequestAttributes("patch", "apps", "deployments", "scale", "ns", "web")


@pytest.mark.parametrize(
    ("rule", "attributes", "allowed"),
    [
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, LOGS, False),  # pods is not pods/log
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, LOGS, True),
        ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, LOGS, True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, LOGS, True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/*"]}, LOGS, True),
        ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods/log"]}, LOGS, False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"], "resourceNames": ["web-2"]}, LOGS, False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"], "resourceNames": ["web-1"]}, LOGS, True),
        ({"verbs": ["update"], "apiGroups": ["apps"], "resources": ["deployments/scale"]}, SCALE, False),
        ({"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments/scale"]}, SCALE, True),
    ],
)
def test_a_rule_allows_exactly_its_verbs_groups_resources_and_names(
    rule: dict[str, list[str]], attributes: RequestAttributes, allowed: bool
) -> None:
    assert rule_allows(rule, attributes) is allowed


def test_a_service_account_belongs_to_the_groups_kubernetes_gives_it() -> None:
    assert groups_of("system:serviceaccount:ns:bot") == (
        "system:serviceaccounts",
        "system:serviceaccounts:ns",
        "system:authenticated",
    )


def test_a_token_names_its_account_until_it_expires_and_cannot_be_forged(tmp_path: Path) -> None:
    issuer = TokenIssuer(tmp_path / "key")
    token, expires = issuer.issue("ns", "bot", "uid-1", [], 600)
    assert expires - time.time() == pytest.approx(600, abs=2)
    claims = issuer.claims(token)
    assert claims is not None and claims.user == "system:serviceaccount:ns:bot" and claims.uid == "uid-1"
    header, body, signature = token.split(".")
    assert issuer.claims(f"{header}.{body}x.{signature}") is None
    assert TokenIssuer(tmp_path / "other-key").claims(token) is None
    assert TokenIssuer(tmp_path / "key").claims(token) is not None  # the key outlives the server
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(Invalid, match="less than 10 minutes"):
        issuer.issue("ns", "bot", "uid-1", [], 60)
