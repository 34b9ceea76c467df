"""remedlab's images by name: which ones to build and push, and what they are called in a registry.

remedlab's own images are the repositories under `remedlab/` of the image map, as an app's
manifests name them (`remedlab/hotel-reservation:1.0`). On a real cluster they are pulled from
the user's registry, under the same name: `REGISTRY/remedlab/hotel-reservation:1.0`. The data-store
images are not among them: the official images stand for those (`store_images`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from remedlab.api.image_map import split_image
from remedlab.apps.catalog import AppInfo, app_manifests
from remedlab.apps.real_cluster.pod_containers import containers
from remedlab.apps.real_cluster.store_images import StoreImages

NAMESPACE = "remedlab"

# the grammar of image references (the distribution project's): a host (with a port) or a path
# component first, then path components; lower case, no tag or digest
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = re.compile(rf"^(?:{_HOST}|{_PATH})(?:/{_PATH})*$")
_EXAMPLES = "host[:port][/path], e.g. ghcr.io/you or localhost:5000"


class RegistryError(ValueError):
    """A registry the user gave that is no registry name; the message is one line."""


def parse_registry(text: str) -> str:
    """The registry prefix `text` names (a trailing slash dropped), or RegistryError saying what to give."""
    registry = text.strip().rstrip("/")
    if "://" in registry:
        raise RegistryError(f'registry "{text}": give it without a scheme, as {_EXAMPLES}')
    if not registry or not _REGISTRY.match(registry):
        raise RegistryError(f'registry "{text}" is not a registry name: give {_EXAMPLES} (lower case, no tag)')
    return registry


def is_remedlab_image(image: str) -> bool:
    repository, _ = split_image(image)
    return repository.startswith(NAMESPACE + "/")


def in_registry(image: str, registry: str | None) -> str:
    """`remedlab/x:1.0` as `registry` serves it: `REGISTRY/remedlab/x:1.0` (unchanged without a registry)."""
    repository, tag = split_image(image)
    reference = f"{repository}:{tag}"
    return f"{registry}/{reference}" if registry else reference


def unqualified(image: str) -> str:
    """The image map's name for a reference to one of remedlab's images, its registry dropped:
    `ghcr.io/you/remedlab/geo:1.0` → `remedlab/geo:1.0`; any other reference as it is."""
    parts = image.split("/")
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == NAMESPACE:
            return "/".join(parts[index:])
    return image


def images_to_build(apps: Iterable[AppInfo], stores: StoreImages) -> list[str]:
    """remedlab's images the apps' manifests name (`repository:tag`), store images aside, sorted."""
    found: set[str] = set()
    for app in apps:
        for doc in app_manifests(app):
            for container in containers(doc):
                image = str(container.get("image") or "")
                if is_remedlab_image(image) and stores.get(image) is None:
                    found.add(in_registry(image, None))
    return sorted(found)
