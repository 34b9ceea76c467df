"""The catalog of applications remedlab can deploy, and their manifests."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml


class UnknownApp(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.message = f'unknown app "{name}": choose one of {", ".join(known)}'

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class AppInfo:
    name: str
    namespace: str
    manifests: str
    description: str
    entry: dict[str, Any]
    targets: dict[str, list[str]]
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per fault type, the ``spec.parameters`` its faults get on this app unless the caller sets them
    (Social Network's wrong-bin-usage runs another program of its own image)."""

    def targets_for(self, fault: str) -> list[str]:
        """The deployments a fault of this type may be drawn onto."""
        return list(self.targets.get(fault) or self.targets.get("default") or [])

    def fault_overrides(self, fault: str) -> list[str]:
        """This app's parameters for ``fault`` as catalog overrides (``parameters.program=MediaService``)."""
        return [f"parameters.{key}={value}" for key, value in (self.parameters.get(fault) or {}).items()]


def _catalog() -> dict[str, Any]:
    text = resources.files("remedlab.apps").joinpath("catalog.yaml").read_text()
    return dict((yaml.safe_load(text) or {}).get("apps") or {})


def list_apps() -> list[AppInfo]:
    return [
        AppInfo(
            name=name,
            namespace=str(entry.get("namespace", name)),
            manifests=str(entry["manifests"]),
            description=str(entry.get("description", "")),
            entry=dict(entry.get("entry") or {}),
            targets={str(k): [str(t) for t in v] for k, v in (entry.get("targets") or {}).items()},
            parameters={str(k): dict(v or {}) for k, v in (entry.get("parameters") or {}).items()},
        )
        for name, entry in _catalog().items()
    ]


def get_app(name: str) -> AppInfo:
    for app in list_apps():
        if app.name == name:
            return app
    raise UnknownApp(name, [a.name for a in list_apps()])


def app_manifests(app: AppInfo, namespace: str | None = None) -> list[dict[str, Any]]:
    """The app's manifest documents, moved to `namespace` when given."""
    folder = resources.files("remedlab.apps")
    for part in app.manifests.split("/"):
        folder = folder.joinpath(part)
    docs: list[dict[str, Any]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            docs.extend(d for d in yaml.safe_load_all(entry.read_text()) if d)
    target = namespace or app.namespace
    out = []
    for doc in docs:
        if doc.get("kind") == "Namespace":
            doc["metadata"]["name"] = target
        else:
            doc.setdefault("metadata", {})["namespace"] = target
        out.append(doc)
    return out
