"""YAML output in the style of `kubectl get -o yaml` (imported only when YAML is needed)."""

from __future__ import annotations

from typing import Any

import yaml


class _KubectlStyleDumper(yaml.SafeDumper):
    """Sorted keys, block style, double quotes where quoting is needed, `|` for multi-line text."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_KubectlStyleDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_KubectlStyleDumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=1_000_000,
    )
