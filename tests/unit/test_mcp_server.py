"""The MCP episode server's pieces that need no remedlab server."""

from __future__ import annotations

from remedlab.agents.mcp_server import in_namespace


def test_kubectl_commands_get_the_episodes_namespace_unless_they_name_one() -> None:
    assert in_namespace("get pods", "hr") == "kubectl -n hr get pods"
    assert in_namespace("kubectl exec web-1 -- ls -n x", "hr") == "kubectl -n hr exec web-1 -- ls -n x"
    assert in_namespace("kubectl get pods -n other", "hr") == "kubectl get pods -n other"
    assert in_namespace("kubectl get pods --namespace=other", "hr") == "kubectl get pods --namespace=other"
    assert in_namespace("get pods -A", "hr") == "kubectl get pods -A"
