"""How the apps' manifests are placed on a cluster the server does not run: what changes between the
manifests as written (for remedlab's embedded cluster) and what a real cluster is given. On a
remedlab cluster (its nodes' runtime is remedlab's) images run through the image map as they are;
elsewhere they become container images (`apps/real_cluster`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remedlab.api.client import Backend
from remedlab.api.kinds import pod_spec_of
from remedlab.api.node_runtime import is_remedlab_cluster
from remedlab.apps.real_cluster.image_references import parse_registry
from remedlab.apps.real_cluster.manifests import render_manifest
from remedlab.apps.real_cluster.store_images import StoreImages
from remedlab.server.agent_credentials import AgentCredentials

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


@dataclass
class AppPlacement:
    otlp_endpoint: str | None = None
    """Where the apps' pods export spans (the server's receiver), instead of their node's collector."""
    registry: str | None = None
    """Where remedlab's container images are pulled from on a real cluster."""
    container_images: bool | None = None
    """Run container images (a real cluster), or the image map (a remedlab cluster); None: ask the cluster."""
    agent: AgentCredentials | None = None
    """The agents' ServiceAccount, granted the agent's Role in each namespace an app is placed in."""

    def __post_init__(self) -> None:
        if self.registry is not None:
            parse_registry(self.registry)  # a malformed registry fails when the server starts

    def place(self, docs: list[dict[str, Any]], backend: Backend, namespace: str) -> None:
        """Rewrite ``docs`` (an app's, for ``namespace``) in place for the cluster."""
        if self.agent is not None:
            self.agent.renew_if_due()
            docs += self.agent.grants(namespace)
        if self.container_images is None:
            self.container_images = not is_remedlab_cluster(backend.list_objects("nodes"))
        if self.container_images:
            stores = StoreImages.load()
            prefix = parse_registry(self.registry) if self.registry is not None else None
            docs[:] = [render_manifest(doc, prefix, stores) for doc in docs]
        if self.otlp_endpoint is None:
            return
        for doc in docs:
            spec = pod_spec_of(doc)
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])] if spec else []:
                for variable in container.get("env") or []:
                    if variable.get("name") == OTLP_ENDPOINT_ENV:
                        variable["value"] = self.otlp_endpoint
