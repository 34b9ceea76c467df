"""A run's directory: its options and plan (run.json), one line per finished episode
(results.jsonl, appended as each episode ends), and each episode's conversation beside them.

The directory is its owner's alone (mode 0700): it holds the plan, so every episode's fault, target
and problem, which the pods (and so an agent's ``kubectl exec``) must not read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
EPISODES_DIR = "episodes"


class RunDirError(ValueError):
    """The directory is not a run remedlab can resume or report on; the message says why."""


def write_run(out: Path, run: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    tmp = out / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / RUN_FILE)


def read_run(out: Path) -> dict[str, Any]:
    path = out / RUN_FILE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise RunDirError(f"{out} is not a remedlab run (no {RUN_FILE}: {exc.strerror})") from None
    except ValueError as exc:
        raise RunDirError(f"{path} is not JSON: {exc}") from None


def append_result(out: Path, record: dict[str, Any]) -> None:
    """One line, written and flushed to disk at once, so an interrupted run loses no finished episode."""
    line = json.dumps(record, default=str) + "\n"
    fd = os.open(out / RESULTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_results(out: Path) -> list[dict[str, Any]]:
    """Every finished episode (a torn last line from a crash is skipped)."""
    path = out / RESULTS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def episode_dir(out: Path, index: int, fault: str, target: str) -> Path:
    return out / EPISODES_DIR / f"{index:03d}-{fault}-{target}"
