"""An episode's conversation log: every request to the model and its response, every tool call the
agent made and what came back, and notes from the method, in order, with times. Saved as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

MAX_TEXT = 64 * 1024


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"\n… [{len(value) - MAX_TEXT} more characters]"
    return value


class Conversation:
    def __init__(self) -> None:
        self.started = time.time()
        self.entries: list[dict[str, Any]] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.entries.append({"t": round(time.time() - self.started, 3), "kind": kind, **_plain(fields)})

    def note(self, text: str) -> None:
        self.add("note", text=text)

    def to_dict(self) -> dict[str, Any]:
        return {"started": self.started, "entries": self.entries}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, default=str) + "\n", encoding="utf-8")
