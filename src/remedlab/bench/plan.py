"""Suites and episode plans. A suite is a file in MicroRemed's format (one fault type per line, `#`
comments and blank lines ignored): easy, medium and hard ship with remedlab, a fault type names a
15-case suite of that type, and any other value is a path. The target of each line is drawn from the
app's fault targets with the run's seed, so the same seed gives the same plan."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

BUILT_IN = ("easy", "medium", "hard")
MICROREMED_FAULTS = (
    "cpu-stress",
    "memory-stress",
    "network-delay",
    "network-loss",
    "disk-io",
    "pod-fail",
    "pod-config-error",
)
PER_TYPE_CASES = 15
NO_FAULT = "none"


class SuiteError(ValueError):
    """The suite cannot be read or names an unknown fault; the message says which line."""


@dataclass(frozen=True)
class EpisodeSpec:
    index: int
    fault: str
    target: str
    namespace: str
    app: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_suite(suite: str, known_faults: set[str] | None = None) -> list[str]:
    """The fault types of a suite, in order."""
    if suite in BUILT_IN:
        text = resources.files("remedlab.bench").joinpath("suites").joinpath(f"{suite}.txt").read_text()
        where = f"suite {suite}"
    elif suite in MICROREMED_FAULTS or (known_faults is not None and suite in known_faults):
        return [suite] * PER_TYPE_CASES
    else:
        path = Path(suite)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            choices = ", ".join(BUILT_IN)
            raise SuiteError(
                f"no suite {suite!r}: use {choices}, a fault type, or a suite file ({exc.strerror})"
            ) from None
        where = str(path)
    faults = []
    for number, line in enumerate(text.splitlines(), 1):
        fault = line.split("#", 1)[0].strip()
        if not fault:
            continue
        if known_faults is not None and fault not in known_faults:
            raise SuiteError(f"{where}, line {number}: unknown fault type {fault!r}")
        faults.append(fault)
    if not faults:
        raise SuiteError(f"{where} lists no fault")
    return faults


def namespaces_for(namespace: str, parallel: int) -> list[str]:
    """The namespaces of a run: the app's own, or one instance per parallel lane (``ns-1``, ``ns-2``…)."""
    return [namespace] if parallel <= 1 else [f"{namespace}-{lane}" for lane in range(1, parallel + 1)]


def draw_plan(
    faults: list[str],
    targets: dict[str, list[str]],
    app: str,
    namespace: str,
    seed: int,
    limit: int | None = None,
    parallel: int = 1,
    controls: int = 0,
) -> list[EpisodeSpec]:
    """One episode per suite line (the first ``limit`` lines), its target drawn with ``seed``; with
    ``parallel`` lanes, episodes go round-robin to one app instance per lane. ``controls`` no-fault
    episodes (fault ``none``) are spread through the plan at seeded places."""
    rng = random.Random(seed)
    lanes = namespaces_for(namespace, parallel)
    chosen = list(faults[:limit] if limit else faults)
    for _ in range(controls):
        chosen.insert(rng.randrange(len(chosen) + 1), NO_FAULT)
    plan = []
    for index, fault in enumerate(chosen):
        if fault == NO_FAULT:
            plan.append(EpisodeSpec(index, fault, "", lanes[index % len(lanes)], app))
            continue
        choices = targets.get(fault) or targets.get("default") or []
        if not choices:
            raise SuiteError(f"{app} has no fault targets for {fault}")
        plan.append(EpisodeSpec(index, fault, rng.choice(sorted(choices)), lanes[index % len(lanes)], app))
    return plan
