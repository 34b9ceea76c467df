"""What `remedlab doctor` reports: one mechanism, the level remedlab achieves for it where it runs, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["full", "degraded", "none"]


@dataclass(frozen=True)
class FidelityCheck:
    """One mechanism, the level remedlab achieves for it on this host (or cluster), and how."""

    mechanism: str
    level: Level
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"mechanism": self.mechanism, "level": self.level, "detail": self.detail}
