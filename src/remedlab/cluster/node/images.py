"""The image registry: what a container `image` runs as on the embedded cluster.

An image name maps to an entry point (ENTRYPOINT), a default command (CMD) and
the named binaries a container `command` may call, as files inside an image.
The registry is a data file (`remedlab/apps/images.yaml`); an image it does not
know cannot be pulled.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


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


def _expand(argv: list[Any]) -> tuple[str, ...]:
    return tuple(str(a).replace("{python}", sys.executable) for a in argv)


class ImageRegistry:
    def __init__(self, data: dict[str, Any]) -> None:
        self._images: dict[str, dict[str, Any]] = dict(data.get("images") or {})

    @classmethod
    def load(cls, path: Path | None = None) -> ImageRegistry:
        if path is None:
            text = resources.files("remedlab.apps").joinpath("images.yaml").read_text()
        else:
            text = path.read_text()
        return cls(yaml.safe_load(text) or {})

    def resolve(self, image: str) -> ImageSpec | None:
        repo, tag = split_image(image)
        entry = self._images.get(repo)
        if entry is None or tag not in [str(t) for t in entry.get("tags") or ["latest"]]:
            return None
        binaries = {str(k): _expand(list(v)) for k, v in (entry.get("binaries") or {}).items()}
        return ImageSpec(
            repository=repo,
            tag=tag,
            entrypoint=_expand(list(entry.get("entrypoint") or [])),
            cmd=_expand(list(entry.get("cmd") or [])),
            binaries=binaries,
        )

    def names(self) -> list[str]:
        return sorted(self._images)


CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def container_argv(
    spec: ImageSpec, command: list[str] | None, args: list[str] | None, path: str = CONTAINER_PATH
) -> list[str]:
    """Kubernetes semantics: `command` replaces ENTRYPOINT, `args` replaces CMD.

    Names not among the image's binaries resolve on the container's PATH (the
    host's system directories), never on the server's own PATH.
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
