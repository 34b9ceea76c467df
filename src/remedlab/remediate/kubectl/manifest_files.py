"""Loading manifests for `-f`: files, directories and stdin; YAML (multi-document) or JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, get_dict, get_str

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN_SOURCE = "STDIN"


@dataclass(frozen=True)
class Manifest:
    source: str
    obj: JsonObject

    @property
    def kind(self) -> str:
        return get_str(self.obj, "kind")

    @property
    def name(self) -> str:
        return get_str(self.obj, "metadata", "name")

    @property
    def namespace(self) -> str:
        return get_str(self.obj, "metadata", "namespace")


def _files_in(directory: str, recursive: bool) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(MANIFEST_SUFFIXES)]
        if not recursive:
            break
    return found


def _documents(text: str, source: str) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            loaded = json.loads(text)
        except ValueError:
            pass
        else:
            return loaded if isinstance(loaded, list) else [loaded]
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise CommandError(f"error parsing {source}: error converting YAML to JSON: {exc}") from None


def _flatten(document: Any, source: str) -> list[Manifest]:
    if not isinstance(document, dict):
        raise CommandError(f'error validating "{source}": error validating data: the document is not an object')
    kind = get_str(document, "kind")
    if kind == "List" or (kind.endswith("List") and isinstance(document.get("items"), list)):
        manifests: list[Manifest] = []
        for item in document.get("items") or []:
            manifests += _flatten(item, source)
        return manifests
    if not kind:
        raise CommandError(f'error validating "{source}": error validating data: kind not set')
    if not get_dict(document, "metadata") or not get_str(document, "metadata", "name"):
        raise CommandError(f'error validating "{source}": error validating data: metadata.name not set')
    return [Manifest(source, document)]


def load_manifests(paths: Sequence[str], *, recursive: bool, stdin: TextIO) -> list[Manifest]:
    if not paths:
        raise CommandError("must specify one of -f and -k")
    manifests: list[Manifest] = []
    for path in paths:
        if path == "-":
            manifests += _from_text(stdin.read(), STDIN_SOURCE)
            continue
        if path.startswith(("http://", "https://")):
            raise CommandError(f'reading manifests from URLs is not supported: "{path}"')
        if os.path.isdir(path):
            files = _files_in(path, recursive)
            if not files:
                raise CommandError(f"error reading [{path}]: recognized file extensions are [.json .yaml .yml]")
        elif os.path.exists(path):
            files = [path]
        else:
            raise CommandError(f'the path "{path}" does not exist')
        for file_path in files:
            try:
                with open(file_path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise CommandError(f'error reading "{file_path}": {exc.strerror}') from None
            manifests += _from_text(text, file_path)
    if not manifests:
        raise CommandError("no objects passed to apply")
    return manifests


def _from_text(text: str, source: str) -> list[Manifest]:
    manifests: list[Manifest] = []
    for document in _documents(text, source):
        manifests += _flatten(document, source)
    return manifests
