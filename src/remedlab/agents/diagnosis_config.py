"""diagnosis.yaml, read once: the diagnosis' thresholds, its database log rules and the log lines that
say a program fails at its work."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml


@dataclass(frozen=True)
class LogRule:
    """A database fault read off a log line (``pattern``), and the repair script its pod may carry."""

    rule: str
    pattern: re.Pattern[str]
    script: str


@dataclass(frozen=True)
class DiagnosisConfig:
    thresholds: MappingProxyType[str, float]
    log_rules: tuple[LogRule, ...]
    error_patterns: tuple[re.Pattern[str], ...]
    recovered_patterns: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def parse(cls, data: dict[str, Any]) -> DiagnosisConfig:
        return cls(
            thresholds=MappingProxyType(
                {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
            ),
            log_rules=tuple(
                LogRule(str(e["rule"]), re.compile(str(e["pattern"])), str(e["script"]))
                for e in data.get("database_log_rules") or []
            ),
            error_patterns=tuple(re.compile(str(p)) for p in data.get("error_log_patterns") or []),
            recovered_patterns=tuple(re.compile(str(p)) for p in data.get("recovered_log_patterns") or []),
        )


@functools.cache
def diagnosis_config() -> DiagnosisConfig:
    text = resources.files("remedlab.agents").joinpath("diagnosis.yaml").read_text()
    return DiagnosisConfig.parse(yaml.safe_load(text) or {})


def load_thresholds() -> dict[str, float]:
    """The thresholds, as a dict of the caller's own (runbooks override some)."""
    return dict(diagnosis_config().thresholds)
