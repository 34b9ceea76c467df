"""The image map covers the apps: every image an app's manifests name is in `apps/images.yaml`
with that tag (or, on a real cluster, among the store images), and every program it maps to
exists: the Python modules import, the host programs are on the container's PATH."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from remedlab.api.image_map import CONTAINER_PATH, PYTHON_PLACEHOLDER, ImageRegistry, split_image
from remedlab.apps.catalog import app_manifests, list_apps
from remedlab.apps.real_cluster.pod_containers import containers
from remedlab.apps.real_cluster.store_images import StoreImages

IMAGES = ImageRegistry.load()
APPS = [app.name for app in list_apps()]


def _images_of(app_name: str) -> set[str]:
    (app,) = [a for a in list_apps() if a.name == app_name]
    return {str(c["image"]) for doc in app_manifests(app) for c in containers(doc)}


@pytest.mark.parametrize("app", APPS)
def test_every_image_of_an_app_is_in_the_image_map(app: str) -> None:
    images = _images_of(app)
    assert images
    unknown = sorted(image for image in images if IMAGES.resolve(image) is None)
    assert not unknown, f"{app} names images the image map lacks (or lacks that tag of): {unknown}"


@pytest.mark.parametrize("app", APPS)
def test_every_store_image_of_an_app_has_an_official_image(app: str) -> None:
    stores = StoreImages.load()
    for image in _images_of(app):
        store = stores.get(image)
        if store is not None:
            assert store.official(image).split(":")[0] == store.image


def _programs() -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for name in IMAGES.names():
        entry = IMAGES.entry(name)
        assert entry is not None
        for argv in (entry.entrypoint, entry.cmd, *entry.binaries.values()):
            if argv:
                found.append((name, argv))
    return found


@pytest.mark.parametrize(("image", "argv"), _programs(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_mapped_program_exists(image: str, argv: tuple[str, ...]) -> None:
    if argv[0] == PYTHON_PLACEHOLDER:
        assert argv[1] == "-m", f"{image}: {{python}} runs a module (-m), not {argv[1:]}"
        assert importlib.util.find_spec(argv[2]) is not None, f"{image}: module {argv[2]} does not import"
    else:
        found = shutil.which(argv[0], path=CONTAINER_PATH)
        assert found is not None, f"{image}: {argv[0]} is not on the container's PATH (make setup installs it)"


def test_image_references_split_as_docker_does() -> None:
    assert split_image("remedlab/geo") == ("remedlab/geo", "latest")
    assert split_image("docker.io/library/busybox:1.36") == ("busybox", "1.36")
    assert split_image("localhost:5000/remedlab/geo:1.0") == ("localhost:5000/remedlab/geo", "1.0")
    assert split_image("localhost:5000/remedlab/geo") == ("localhost:5000/remedlab/geo", "latest")
