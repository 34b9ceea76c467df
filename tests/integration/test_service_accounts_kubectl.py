"""ServiceAccounts, their tokens and RBAC through the official kubectl: `kubectl create serviceaccount`,
`create role|rolebinding`, `create token`, then kubectl with that token, refused what no rule allows."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from remedlab.apps.real_cluster.agent_access import agent_access
from tests.integration.kubectl_harness import Kubectl, rows
from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration

NS = "rbac-test"


@pytest.fixture(scope="module")
def k(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    kubectl = Kubectl(server, tmp_path_factory.mktemp("kube-cache"))
    kubectl.ok("create", "namespace", NS)
    kubectl.ok("create", "serviceaccount", "bot", "-n", NS)
    kubectl.ok("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods,pods/log", "-n", NS)
    kubectl.ok("create", "rolebinding", "bot-reads", "--role=pod-reader", f"--serviceaccount={NS}:bot", "-n", NS)
    yield kubectl
    kubectl.run("delete", "namespace", NS, "--wait=false")


def with_token(k: Kubectl, token: str, *args: str) -> tuple[int, str]:
    done = k.run(f"--token={token}", *args)
    return done.returncode, done.stdout + done.stderr


def test_every_namespace_gets_its_default_service_account(k: Kubectl) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = [row[0] for row in rows(k.ok("get", "serviceaccounts", "-n", NS))[1:]]
        if "default" in names:
            break
        time.sleep(0.1)
    assert {"default", "bot"} <= set(names)
    header, *lines = rows(k.ok("get", "rolebindings", "-n", NS, "-o", "wide"))
    assert header[:3] == ["NAME", "ROLE", "AGE"] and "SERVICEACCOUNTS" in header
    assert lines[0][0] == "bot-reads" and lines[0][1] == "Role/pod-reader" and f"{NS}/bot" in lines[0]


def test_a_token_of_the_account_may_do_what_its_role_allows_and_nothing_else(k: Kubectl) -> None:
    token = k.ok("create", "token", "bot", "-n", NS, "--duration=1h").strip()
    assert token.count(".") == 2
    code, out = with_token(k, token, "get", "pods", "-n", NS)
    assert code == 0, out
    code, out = with_token(k, token, "get", "pods", "-n", "default")
    assert code != 0
    assert f'User "system:serviceaccount:{NS}:bot" cannot list resource "pods"' in out, out
    code, out = with_token(k, token, "get", "deployments", "-n", NS)
    assert code != 0 and "forbidden" in out.lower(), out
    assert with_token(k, token, "auth", "can-i", "list", "pods", "-n", NS)[1].strip() == "yes"
    assert with_token(k, token, "auth", "can-i", "delete", "pods", "-n", NS)[1].strip() == "no"
    assert with_token(k, token, "auth", "can-i", "get", "pods/log", "-n", NS)[1].strip() == "yes"


def test_a_cluster_role_bound_in_one_namespace_grants_there_only(k: Kubectl) -> None:
    k.ok("create", "clusterrole", "deploy-viewer", "--verb=get,list", "--resource=deployments.apps")
    try:
        bot = f"--serviceaccount={NS}:bot"
        k.ok("create", "rolebinding", "bot-deploys", "--clusterrole=deploy-viewer", bot, "-n", NS)
        token = k.ok("create", "token", "bot", "-n", NS).strip()
        assert with_token(k, token, "get", "deployments", "-n", NS)[0] == 0
        assert with_token(k, token, "get", "deployments", "-n", "default")[0] != 0
    finally:
        k.run("delete", "clusterrole", "deploy-viewer")


def test_the_token_works_for_the_kubernetes_api_only(k: Kubectl, server: ServerProcess) -> None:
    token = k.ok("create", "token", "bot", "-n", NS).strip()
    request = urllib.request.Request(server.url + "/v1/apps", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_deleting_the_account_revokes_its_tokens(k: Kubectl) -> None:
    k.ok("create", "serviceaccount", "short-lived", "-n", NS)
    k.ok("create", "rolebinding", "short-reads", "--role=pod-reader", f"--serviceaccount={NS}:short-lived", "-n", NS)
    token = k.ok("create", "token", "short-lived", "-n", NS).strip()
    assert with_token(k, token, "get", "pods", "-n", NS)[0] == 0
    k.ok("delete", "serviceaccount", "short-lived", "-n", NS)
    code, out = with_token(k, token, "get", "pods", "-n", NS)
    assert code != 0 and "Unauthorized" in out, out


def test_a_token_too_short_lived_is_refused_with_the_reason(k: Kubectl) -> None:
    done = k.run("create", "token", "bot", "-n", NS, "--duration=1m")
    assert done.returncode != 0 and "may not specify a duration less than 10 minutes" in done.stderr, done.stderr


def test_the_agent_may_not_grant_itself_more_or_mint_tokens(k: Kubectl, tmp_path: Path) -> None:
    agent = k.as_agent()
    assert agent.run("get", "rolebindings", "-n", NS).returncode == 0
    bot = f"--serviceaccount={NS}:bot"
    done = agent.run("create", "rolebinding", "grab", "--clusterrole=cluster-admin", bot, "-n", NS)
    assert done.returncode != 0 and "permissions are the admin's" in done.stderr, done.stderr
    done = agent.run("create", "token", "bot", "-n", NS)
    assert done.returncode != 0 and "tokens are the admin's" in done.stderr, done.stderr
    review = json.loads(
        k.ok("create", "token", "bot", "-n", NS, "-o", "json")
    )  # the TokenRequest, as kube-apiserver answers it
    assert review["kind"] == "TokenRequest" and review["status"]["token"]
    assert review["spec"]["audiences"] and review["status"]["expirationTimestamp"].endswith("Z")


def test_the_agents_access_objects_apply_and_explain_as_on_a_real_cluster(k: Kubectl) -> None:
    documents = yaml.safe_dump_all(agent_access(NS))
    applied = k.ok("apply", "-f", "-", stdin=documents)
    assert "serviceaccount/remedlab-agent created" in applied and "rolebinding.rbac.authorization.k8s.io" in applied
    assert "apiGroup" in k.ok("explain", "rolebinding.roleRef")
    token = k.ok("create", "token", "remedlab-agent", "-n", NS).strip()
    assert with_token(k, token, "auth", "can-i", "patch", "deployments", "-n", NS)[1].strip() == "yes"
    assert with_token(k, token, "auth", "can-i", "get", "podchaos.chaos-mesh.org", "-n", NS)[1].strip() == "no"
