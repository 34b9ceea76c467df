"""The catalog of applications remedlab can deploy, and their manifests."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from remedlab.api.image_map import split_image


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


def _store_faults() -> dict[str, list[str]]:
    """Image repository -> the faults aimed at every Deployment that runs it (`store_faults`)."""
    text = resources.files("remedlab.apps").joinpath("catalog.yaml").read_text()
    faults = (yaml.safe_load(text) or {}).get("store_faults") or {}
    return {str(image): [str(f) for f in names] for image, names in faults.items()}


@functools.cache
def _deployments_by_image(manifests: str) -> dict[str, list[str]]:
    """Image repository -> the Deployments of the manifests whose containers run it."""
    found: dict[str, list[str]] = {}
    for doc in _manifest_documents(manifests):
        if doc.get("kind") != "Deployment":
            continue
        containers = ((doc.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        for repository in dict.fromkeys(split_image(str(c.get("image", "")))[0] for c in containers):
            found.setdefault(repository, []).append(str(doc["metadata"]["name"]))
    return found


def _targets(entry: dict[str, Any]) -> dict[str, list[str]]:
    own = {str(k): [str(t) for t in v] for k, v in (entry.get("targets") or {}).items()}
    by_image = _deployments_by_image(str(entry["manifests"]))
    derived: dict[str, list[str]] = {}
    for image, faults in _store_faults().items():
        for fault in faults:
            if by_image.get(image):
                derived.setdefault(fault, []).extend(by_image[image])
    return {**derived, **own}


def list_apps() -> list[AppInfo]:
    return [
        AppInfo(
            name=name,
            namespace=str(entry.get("namespace", name)),
            manifests=str(entry["manifests"]),
            description=str(entry.get("description", "")),
            entry=dict(entry.get("entry") or {}),
            targets=_targets(entry),
            parameters={str(k): dict(v or {}) for k, v in (entry.get("parameters") or {}).items()},
        )
        for name, entry in _catalog().items()
    ]


def get_app(name: str) -> AppInfo:
    for app in list_apps():
        if app.name == name:
            return app
    raise UnknownApp(name, [a.name for a in list_apps()])


def _manifest_documents(manifests: str) -> list[dict[str, Any]]:
    folder = resources.files("remedlab.apps")
    for part in manifests.split("/"):
        folder = folder.joinpath(part)
    docs: list[dict[str, Any]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            docs.extend(d for d in yaml.safe_load_all(entry.read_text()) if d)
    return docs


def app_manifests(app: AppInfo, namespace: str | None = None) -> list[dict[str, Any]]:
    """The app's manifest documents, moved to `namespace` when given."""
    docs = _manifest_documents(app.manifests)
    target = namespace or app.namespace
    out = []
    for doc in docs:
        if doc.get("kind") == "Namespace":
            doc["metadata"]["name"] = target
        else:
            doc.setdefault("metadata", {})["namespace"] = target
        out.append(doc)
    return out
