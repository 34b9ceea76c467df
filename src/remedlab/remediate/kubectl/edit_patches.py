"""Patches built client-side for `set env|image|resources`, `label` and `annotate`.

Pod-template changes are strategic-merge patches: containers are merged by
name and env entries by name; an env entry `{"name": K, "$patch": "delete"}`
removes K.  Label and annotation changes are merge patches on metadata, where
`null` removes a key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from remedlab.remediate.kubectl.errors import CommandError
from remedlab.remediate.kubectl.fields import JsonObject, dig, get_dicts, get_str, str_map

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")


def pod_spec_path(kind: str) -> tuple[str, ...]:
    """Where the pod spec lives in an object of `kind`."""
    if kind == "Pod":
        return ("spec",)
    if kind in ("Deployment", "ReplicaSet"):
        return ("spec", "template", "spec")
    raise CommandError(f'the kind "{kind}" has no pod template')


def nest(path: Sequence[str], value: Any) -> JsonObject:
    """`{"a": {"b": value}}` for path ("a", "b")."""
    result: Any = value
    for key in reversed(path):
        result = {key: result}
    if not isinstance(result, dict):
        raise ValueError("empty path")
    return result


def container_names(obj: JsonObject, kind: str) -> list[str]:
    return [get_str(c, "name") for c in get_dicts(dig(obj, *pod_spec_path(kind)), "containers")]


def select_containers(names: Sequence[str], pattern: str | None) -> list[str]:
    """The containers matching `-c` (a name or glob, all when not given)."""
    if not pattern:
        return list(names)
    chosen = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not chosen:
        raise CommandError(f'unable to find container named "{pattern}"')
    return chosen


def _containers_patch(kind: str, containers: list[JsonObject]) -> JsonObject:
    return nest(pod_spec_path(kind), {"containers": containers})


# ---------------------------------------------------------------------- set env


def parse_env_args(items: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Split `KEY=VAL` (set) and `KEY-` (remove) arguments."""
    sets: list[tuple[str, str]] = []
    removals: list[str] = []
    for item in items:
        if "=" in item:
            key, _, value = item.partition("=")
            if not _ENV_NAME.match(key):
                raise CommandError(
                    f"invalid env name {key!r}: a valid environment variable name must consist of alphabetic "
                    "characters, digits, '_', '-', or '.', and must not start with a digit"
                )
            sets = [(k, v) for k, v in sets if k != key] + [(key, value)]
        elif item.endswith("-") and len(item) > 1:
            removals.append(item[:-1])
        else:
            raise CommandError(f"environment variables must be of the form key=value, got {item!r}")
    return sets, removals


def env_patch(
    kind: str, containers: Sequence[str], sets: Sequence[tuple[str, str]], removals: Sequence[str]
) -> JsonObject:
    env: list[JsonObject] = [{"name": k, "value": v} for k, v in sets]
    env += [{"name": k, "$patch": "delete"} for k in removals if k not in dict(sets)]
    return _containers_patch(kind, [{"name": c, "env": env} for c in containers])


# ---------------------------------------------------------------------- set image


def parse_image_args(items: Sequence[str]) -> dict[str, str]:
    assignments: dict[str, str] = {}
    for item in items:
        container, sep, image = item.partition("=")
        if not sep or not container or not image:
            raise CommandError(f"invalid image argument {item!r}: expected CONTAINER=IMAGE")
        assignments[container] = image
    if not assignments:
        raise CommandError("at least one image update is required")
    return assignments


def image_patch(kind: str, names: Sequence[str], assignments: Mapping[str, str]) -> JsonObject:
    """Set images by container name; `*` stands for every container."""
    containers: list[JsonObject] = []
    for container in assignments:
        if container != "*" and container not in names:
            raise CommandError(f'unable to find container named "{container}"')
    for name in names:
        image = assignments.get(name, assignments.get("*"))
        if image is not None:
            containers.append({"name": name, "image": image})
    return _containers_patch(kind, containers)


# ---------------------------------------------------------------------- set resources


def parse_resource_list(text: str) -> dict[str, str]:
    """`cpu=200m,memory=512Mi` as a map."""
    resources: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, quantity = part.partition("=")
        name, quantity = name.strip(), quantity.strip()
        if not sep or not name or not quantity:
            raise CommandError(f"invalid resource list {text!r}: expected NAME=QUANTITY[,NAME=QUANTITY]")
        if name not in _RESOURCE_NAMES and "/" not in name:
            raise CommandError(f"invalid resource name {name!r}")
        resources[name] = quantity
    return resources


def resources_patch(
    kind: str, containers: Sequence[str], limits: Mapping[str, str], requests: Mapping[str, str]
) -> JsonObject:
    resources: JsonObject = {}
    if limits:
        resources["limits"] = dict(limits)
    if requests:
        resources["requests"] = dict(requests)
    return _containers_patch(kind, [{"name": c, "resources": resources} for c in containers])


# ---------------------------------------------------------------------- labels and annotations


def split_metadata_args(items: Sequence[str], what: str) -> tuple[list[str], list[str]]:
    """(resource arguments, `k=v`/`k-` changes); every resource must come before the changes."""
    resources: list[str] = []
    changes: list[str] = []
    for item in items:
        is_change = ("=" in item and not item.startswith("=")) or (item.endswith("-") and item != "-")
        if is_change:
            changes.append(item)
        elif changes:
            raise CommandError(f"all resources must be specified before {what} changes: {item}")
        else:
            resources.append(item)
    return resources, changes


def parse_metadata_changes(items: Sequence[str], what: str) -> dict[str, str | None]:
    """`k=v` sets and `k-` removes (None); `what` is label or annotation, for messages."""
    changes: dict[str, str | None] = {}
    for item in items:
        if "=" in item:
            key, _, value = item.partition("=")
            if not key:
                raise CommandError(f"invalid {what} spec: {item}")
            changes[key] = value
        elif item.endswith("-"):
            changes[item[:-1]] = None
        else:
            raise CommandError(f"invalid {what} spec: {item}")
    if not changes:
        raise CommandError(f"at least one {what} update is required")
    return changes


def check_overwrite(obj: JsonObject, field: str, changes: Mapping[str, str | None], overwrite: bool, what: str) -> None:
    if overwrite:
        return
    current = str_map(obj, "metadata", field)
    for key, value in changes.items():
        if value is not None and key in current and current[key] != value:
            if what == "label":
                raise CommandError(f"'{key}' already has a value ({current[key]}), and --overwrite is false")
            raise CommandError(
                f"--overwrite is false but found the following declared annotation(s): "
                f"'{key}' already has a value ({current[key]})"
            )


def metadata_patch(field: str, changes: Mapping[str, str | None]) -> JsonObject:
    return {"metadata": {field: dict(changes)}}


def apply_metadata_changes(current: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    updated = dict(current)
    for key, value in changes.items():
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated
