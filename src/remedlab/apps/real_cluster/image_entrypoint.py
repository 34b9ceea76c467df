"""`remedlab-image`: the entry point of remedlab's container image.

One container image holds every program of remedlab's images (`remedlab/apps/images.yaml`, the
image map the embedded cluster runs containers by). `REMEDLAB_IMAGE` (or `--image`) says which
image a container is, e.g. `remedlab/hotel-reservation:1.0` (a registry before `remedlab/` is
ignored, no tag means latest), and the rest of the command line is the container's own command
or args, run as the embedded cluster runs them (`remedlab.api.image_map.container_argv`):

    remedlab-image [--image IMAGE] [--] [ARG...]         ARGs replace the image's CMD (none: CMD)
    remedlab-image [--image IMAGE] --command WORD...     WORDs replace ENTRYPOINT and CMD: a
                                                         container's command, then its args

A command's first word is one of the image's binaries (`geo`, `psql`) or a program on PATH;
`{python}` is this interpreter. It replaces this process (exec), so the program gets the
container's signals and its exit status is the container's. A bad invocation or an unknown image
exits 2, a program not found 127, each with one line on stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from remedlab.api.image_map import CONTAINER_PATH, ExecutableNotFound, ImageRegistry, container_argv, split_image
from remedlab.apps.real_cluster.image_references import unqualified

PROGRAM = "remedlab-image"
IMAGE_ENV = "REMEDLAB_IMAGE"
IMAGE_FLAG = "--image"
COMMAND_FLAG = "--command"
END_OF_OPTIONS = "--"
USAGE_EXIT = 2
NOT_FOUND_EXIT = 127


class InvocationError(Exception):
    """What was wrong with how `remedlab-image` was called, or with the image it names; one line."""


@dataclass(frozen=True)
class Invocation:
    image: str
    command: list[str] | None
    args: list[str] | None


def parse_invocation(argv: Sequence[str], env: Mapping[str, str]) -> Invocation:
    """`remedlab-image`'s command line (without its name) and environment, read."""
    words = list(argv)
    image = env.get(IMAGE_ENV, "")
    while words:
        word = words[0]
        if word == IMAGE_FLAG:
            if len(words) < 2:
                raise InvocationError(f"{IMAGE_FLAG} needs an image, e.g. {IMAGE_FLAG} remedlab/hotel-reservation:1.0")
            image, words = words[1], words[2:]
        elif word.startswith(IMAGE_FLAG + "="):
            image, words = word.split("=", 1)[1], words[1:]
        elif word == COMMAND_FLAG:
            if len(words) < 2:
                raise InvocationError(f"{COMMAND_FLAG} needs the command to run")
            return Invocation(_image(image), words[1:], None)
        elif word == END_OF_OPTIONS:
            words = words[1:]
            break
        else:
            break
    return Invocation(_image(image), None, words or None)


def _image(image: str) -> str:
    if not image:
        raise InvocationError(
            f"which image is this container? set {IMAGE_ENV} (e.g. {IMAGE_ENV}=remedlab/hotel-reservation:1.0) "
            f"or pass {IMAGE_FLAG}"
        )
    return image


def plan(invocation: Invocation, images: ImageRegistry, path: str = CONTAINER_PATH) -> list[str]:
    """The argv the invocation runs; `InvocationError` for an image the map does not know,
    `ExecutableNotFound` for a command that names no binary of the image nor a program on `path`."""
    image = unqualified(invocation.image)
    spec = images.resolve(image)
    if spec is None:
        repository, tag = split_image(image)
        entry = images.entry(repository)
        if entry is not None:
            raise InvocationError(
                f'image "{invocation.image}": {repository} has no tag {tag} (its tags: {", ".join(entry.tags)})'
            )
        known = ", ".join(name for name in images.names() if name.startswith("remedlab/"))
        raise InvocationError(f'image "{invocation.image}" is not one of remedlab\'s images: {known}')
    return container_argv(spec, invocation.command, invocation.args, path)


def _fail(message: str, code: int) -> NoReturn:
    print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    try:
        invocation = parse_invocation(words, os.environ)
        command = plan(invocation, ImageRegistry.load(), os.environ.get("PATH") or CONTAINER_PATH)
    except InvocationError as exc:
        _fail(str(exc), USAGE_EXIT)
    except ExecutableNotFound as exc:
        _fail(str(exc), NOT_FOUND_EXIT)
    sys.stdout.flush()
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        _fail(f"cannot run {command[0]}: {exc.strerror or exc}", NOT_FOUND_EXIT)


if __name__ == "__main__":
    main()
