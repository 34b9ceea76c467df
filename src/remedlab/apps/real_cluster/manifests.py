"""An app's manifests for a real cluster.

The manifests are the ones the embedded cluster deploys, with each container's image made one a
real cluster can pull:

- remedlab's images come from the user's registry (`REGISTRY/remedlab/hotel-reservation:1.0`, or as they
  are without a registry, for images loaded into the nodes, e.g. with `kind load docker-image`);
  they are all remedlab's container image, whose entry point `remedlab-image` runs what the
  image map says. So a container names its image in `REMEDLAB_IMAGE` and calls `remedlab-image`
  with its own `command` and `args` (`image_entrypoint` says how): they mean what they mean on
  the embedded cluster, and stay where an agent edits them (a patched `args` still works);
- the data-store images become the official ones (`store_images`);
- any other image (busybox, a public image) is left as it is.
"""

from __future__ import annotations

import copy
from typing import Any

from remedlab.apps.catalog import AppInfo, app_manifests, get_app
from remedlab.apps.real_cluster.image_entrypoint import COMMAND_FLAG, END_OF_OPTIONS, IMAGE_ENV, PROGRAM
from remedlab.apps.real_cluster.image_references import in_registry, is_remedlab_image, parse_registry
from remedlab.apps.real_cluster.pod_containers import containers
from remedlab.apps.real_cluster.store_images import StoreImages


def entrypoint_command(command: list[str] | None) -> list[str]:
    """A container's `command` as it runs through `remedlab-image` (its `args` follow as they are)."""
    if command:
        return [PROGRAM, COMMAND_FLAG, *command]
    return [PROGRAM, END_OF_OPTIONS]


def run_through_entrypoint(container: dict[str, Any], registry: str | None) -> None:
    """Make `container`, of one of remedlab's images, run remedlab's container image, in place."""
    image = in_registry(str(container["image"]), None)
    container["image"] = in_registry(image, registry)
    container["command"] = entrypoint_command(list(container.get("command") or []) or None)
    env = [e for e in container.get("env") or [] if e.get("name") != IMAGE_ENV]
    container["env"] = [{"name": IMAGE_ENV, "value": image}, *env]


def render_manifest(doc: dict[str, Any], registry: str | None, stores: StoreImages) -> dict[str, Any]:
    """One manifest document for a real cluster (a copy; `doc` is left as it is)."""
    out = copy.deepcopy(doc)
    for container in containers(out):
        image = str(container.get("image") or "")
        store = stores.get(image)
        if store is not None:
            store.apply(container)
        elif is_remedlab_image(image):
            run_through_entrypoint(container, registry)
    return out


def render_app(
    app: AppInfo | str,
    registry: str | None = None,
    namespace: str | None = None,
    stores: StoreImages | None = None,
) -> list[dict[str, Any]]:
    """The app's manifests for a real cluster, in `namespace` (default: the app's).

    An unknown app name raises `UnknownApp`, a malformed registry `RegistryError`, a store image's
    tag without an official image `UnknownStoreTag`: each with a one-line message.
    """
    info = get_app(app) if isinstance(app, str) else app
    prefix = parse_registry(registry) if registry is not None else None
    mapping = stores if stores is not None else StoreImages.load()
    return [render_manifest(doc, prefix, mapping) for doc in app_manifests(info, namespace)]
