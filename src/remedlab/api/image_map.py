"""The image map: what a container `image` runs, wherever a remedlab image runs.

An image repository maps to an entry point (its ENTRYPOINT), a default command
(CMD) and the named binaries a container `command` may call, as files inside an
image. The map is a data file (`remedlab/apps/images.yaml`). Two readers share
this module: the embedded cluster's kubelet (an image the map does not know
cannot be pulled) and `remedlab-image`, the entry point of remedlab's container
image on real clusters; both run a container's `command`/`args` the same way.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

PYTHON_PLACEHOLDER = "{python}"
"""Stands for the interpreter running remedlab in an entry point or binary."""

CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The PATH a container's names resolve on (the image's system directories)."""


class ImageEntry(BaseModel):
    """One repository of the map, as the data file gives it (before `{python}` is replaced)."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    tags: tuple[str, ...] = ("latest",)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    binaries: dict[str, tuple[str, ...]] = {}


class ImageMapFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    images: dict[str, ImageEntry] = {}


@dataclass(frozen=True)
class ImageSpec:
    repository: str
    tag: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    binaries: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def image_id(self) -> str:
        return f"remedlab://{self.repository}:{self.tag}"


class ExecutableNotFound(Exception):
    pass


def split_image(image: str) -> tuple[str, str]:
    """`repo:tag` → (repo, tag); `@digest` is not supported; no tag means latest."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
    else:
        repo, tag = name, "latest"
    for prefix in ("docker.io/library/", "docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix) :]
    return repo, tag


class ImageRegistry:
    """The image map, read: `resolve` gives what an image reference runs, `{python}` replaced by `python`."""

    def __init__(self, images: Mapping[str, ImageEntry], python: str = sys.executable) -> None:
        self._images = dict(images)
        self._python = python

    @classmethod
    def load(cls, path: Path | None = None) -> ImageRegistry:
        if path is None:
            text = resources.files("remedlab.apps").joinpath("images.yaml").read_text()
        else:
            text = path.read_text()
        return cls(ImageMapFile.model_validate(yaml.safe_load(text) or {}).images)

    def _expand(self, argv: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.replace(PYTHON_PLACEHOLDER, self._python) for a in argv)

    def entry(self, repository: str) -> ImageEntry | None:
        return self._images.get(repository)

    def resolve(self, image: str) -> ImageSpec | None:
        repo, tag = split_image(image)
        entry = self._images.get(repo)
        if entry is None or tag not in entry.tags:
            return None
        return ImageSpec(
            repository=repo,
            tag=tag,
            entrypoint=self._expand(entry.entrypoint),
            cmd=self._expand(entry.cmd),
            binaries={name: self._expand(argv) for name, argv in entry.binaries.items()},
        )

    def names(self) -> list[str]:
        return sorted(self._images)


def container_argv(
    spec: ImageSpec, command: list[str] | None, args: list[str] | None, path: str = CONTAINER_PATH
) -> list[str]:
    """Kubernetes semantics: `command` replaces ENTRYPOINT, `args` replaces CMD.

    Names not among the image's binaries resolve on the container's PATH (the
    image's system directories), never on the server's own PATH.
    """
    if command:
        argv = list(command) + list(args or [])
    else:
        argv = list(spec.entrypoint) + (list(args) if args is not None else list(spec.cmd))
    if not argv:
        raise ExecutableNotFound("no command specified")
    head = argv[0]
    if head in spec.binaries:
        return list(spec.binaries[head]) + argv[1:]
    if head.startswith("/") and Path(head).exists():
        return argv
    found = shutil.which(Path(head).name if head.startswith("/") else head, path=path)
    if found is None:
        raise ExecutableNotFound(f'exec: "{head}": executable file not found in $PATH')
    return [found, *argv[1:]]
