"""Provider presets (data in presets.yaml): a name gives the API, a base URL and the key's variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import yaml

API_KEY_ENV = "REMEDLAB_LLM_API_KEY"
APIS = ("openai", "anthropic")
TOOL_MODES = ("native", "text")


class UnknownProvider(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.message = f"unknown provider {name!r}: choose one of {', '.join(known)}, or give --base-url"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str
    key_env: str
    api: str = "openai"
    tools: str = "native"

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """``$REMEDLAB_LLM_API_KEY``, else the provider's own variable."""
        env = os.environ if environ is None else environ
        return env.get(API_KEY_ENV) or env.get(self.key_env) or None


def load_presets() -> dict[str, Preset]:
    text = resources.files("remedlab.agents.llm").joinpath("presets.yaml").read_text()
    raw = (yaml.safe_load(text) or {}).get("presets") or {}
    return {
        name: Preset(
            name,
            str(entry["base_url"]),
            str(entry["key_env"]),
            str(entry.get("api", "openai")),
            str(entry.get("tools", "native")),
        )
        for name, entry in raw.items()
    }


def get_preset(name: str) -> Preset:
    presets = load_presets()
    if name not in presets:
        raise UnknownProvider(name, sorted(presets))
    return presets[name]
