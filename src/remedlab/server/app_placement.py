"""How the apps' manifests are placed on a cluster the server does not run: what changes between the
manifests as written (for the embedded cluster) and what a real cluster is given. Nothing changes on
the embedded cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remedlab.api.kinds import pod_spec_of

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


@dataclass(frozen=True)
class AppPlacement:
    otlp_endpoint: str | None = None
    """Where the apps' pods export spans (the server's receiver), instead of their node's collector."""

    def place(self, docs: list[dict[str, Any]]) -> None:
        """Rewrite ``docs`` in place for the cluster."""
        if self.otlp_endpoint is None:
            return
        for doc in docs:
            spec = pod_spec_of(doc)
            if spec is None:
                continue
            for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                for variable in container.get("env") or []:
                    if variable.get("name") == OTLP_ENDPOINT_ENV:
                        variable["value"] = self.otlp_endpoint
