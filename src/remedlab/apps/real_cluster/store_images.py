"""The official images that stand for remedlab's data-store images on a real cluster.

The mapping is data (`store_images.yaml`, which says what each field does); this module reads it
and applies it to a container of a manifest: its image, command, environment and arguments.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from remedlab.api.image_map import split_image

VALUE = "{value}"


class UnknownStoreTag(ValueError):
    """A store image's tag the mapping has no official image for; the message is one line."""


class StoreEnv(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    value: str = VALUE
    source: str | None = None
    default: str = ""


class StoreSetting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str
    default: str = ""
    args: tuple[str, ...] = ()
    when: dict[str, tuple[str, ...]] = {}


class StoreImage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    image: str
    tags: dict[str, str]
    entrypoint: tuple[str, ...] = ()
    env: tuple[StoreEnv, ...] = ()
    settings: tuple[StoreSetting, ...] = ()
    args: tuple[str, ...] = ()

    def official(self, image: str) -> str:
        """The official image for remedlab's `image` (`remedlab/postgres:15` → `postgres:15`)."""
        repository, tag = split_image(image)
        if tag not in self.tags:
            known = ", ".join(sorted(self.tags))
            raise UnknownStoreTag(f"no official image stands for {repository}:{tag}: its tags are {known}")
        return f"{self.image}:{self.tags[tag]}"

    def apply(self, container: dict[str, Any]) -> None:
        """Make `container` (one of remedlab's store image) run the official image, in place."""
        container["image"] = self.official(str(container["image"]))
        if container.get("command"):
            container["command"] = [*self.entrypoint, *container["command"]]
        env: list[dict[str, Any]] = list(container.get("env") or [])
        own = {str(e.get("name")): e for e in env}
        setting_args = [arg for setting in self.settings for arg in _setting_args(setting, own)]
        for wanted in self.env:
            _set_env(env, own, wanted)
        if env:
            container["env"] = env
        args = [*setting_args, *self.args, *(container.get("args") or [])]
        if args:
            container["args"] = args


def _value_of(own: dict[str, dict[str, Any]], name: str) -> str | None:
    """A container variable's value: its literal, `$(NAME)` when it comes from elsewhere, None when unset."""
    entry = own.get(name)
    if entry is None:
        return None
    if "valueFrom" in entry:
        return f"$({name})"
    return str(entry.get("value") or "")


def _setting_args(setting: StoreSetting, own: dict[str, dict[str, Any]]) -> list[str]:
    value = _value_of(own, setting.env)
    if value is None:
        value = setting.default
    if value in setting.when:
        return list(setting.when[value])
    return [arg.replace(VALUE, value) for arg in setting.args]


def _set_env(env: list[dict[str, Any]], own: dict[str, dict[str, Any]], wanted: StoreEnv) -> None:
    source = wanted.source or wanted.name
    current = own.get(wanted.name)
    if source == wanted.name and current is not None and "valueFrom" in current:
        return  # it would refer to itself
    value = _value_of(own, source)
    entry = {"name": wanted.name, "value": wanted.value.replace(VALUE, wanted.default if value is None else value)}
    if current is not None:
        env[env.index(current)] = entry
    else:
        env.append(entry)
    own[wanted.name] = entry


class StoreImages(BaseModel):
    """The mapping: remedlab's store repository → what stands for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stores: dict[str, StoreImage]

    @classmethod
    def load(cls, path: Path | None = None) -> StoreImages:
        if path is None:
            text = resources.files("remedlab.apps.real_cluster").joinpath("store_images.yaml").read_text()
        else:
            text = path.read_text()
        return cls.model_validate(yaml.safe_load(text) or {})

    def get(self, image: str) -> StoreImage | None:
        """What stands for `image` when it is one of remedlab's store images, else None."""
        repository, _ = split_image(image)
        return self.stores.get(repository)
