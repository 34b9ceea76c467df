"""Suites and episode plans. A suite is a file in MicroRemed's format (one fault type per line, `#`
comments and blank lines ignored): easy, medium, hard, demo and flower ship with remedlab, a fault type
names a 15-case suite of that type, and any other value is a path. The target of each line is drawn from the
app's fault targets with the run's seed, so the same seed gives the same plan."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

BUILT_IN = ("easy", "medium", "hard", "demo", "flower")
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
T = TypeVar("T")


class SuiteError(ValueError):
    """The suite cannot be read or names an unknown fault; the message says which line."""


@dataclass(frozen=True)
class EpisodeSpec:
    """One planned episode: its fault (``none`` for a no-fault control) on its target, and the task the
    agent is set (an AIOpsLab problem's own, else the run's); ``problem`` is the AIOpsLab problem id
    when the episode plays one, ``overrides`` the fault's parameters it sets (``key=value``)."""

    index: int
    fault: str
    target: str
    namespace: str
    app: str
    task: str = "mitigation"
    problem: str = ""
    overrides: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["overrides"] = list(self.overrides)
        return out

    @classmethod
    def from_dict(cls, entry: dict[str, Any], task: str = "mitigation") -> EpisodeSpec:
        """A planned episode as run.json holds it (a plan written before episodes carried their task
        takes ``task``, the run's)."""
        return cls(
            index=int(entry["index"]),
            fault=str(entry["fault"]),
            target=str(entry["target"]),
            namespace=str(entry["namespace"]),
            app=str(entry["app"]),
            task=str(entry.get("task") or task),
            problem=str(entry.get("problem") or ""),
            overrides=tuple(str(o) for o in entry.get("overrides") or ()),
        )


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
    task: str = "mitigation",
) -> list[EpisodeSpec]:
    """One episode per suite line (the first ``limit`` lines), its target drawn with ``seed``, each set
    ``task``; with ``parallel`` lanes, episodes go round-robin to one app instance per lane.
    ``controls`` no-fault episodes (fault ``none``) are spread through the plan at seeded places."""
    rng = random.Random(seed)
    lanes = namespaces_for(namespace, parallel)
    chosen = insert_controls(rng, faults[:limit] if limit else faults, controls, NO_FAULT)
    plan = []
    for index, fault in enumerate(chosen):
        target = "" if fault == NO_FAULT else draw_target(rng, targets, fault, app)
        plan.append(EpisodeSpec(index, fault, target, lanes[index % len(lanes)], app, task))
    return plan


def draw_target(rng: random.Random, targets: dict[str, list[str]], fault: str, app: str) -> str:
    """A target for ``fault`` drawn from the app's targets for it (else its default ones)."""
    choices = targets.get(fault) or targets.get("default") or []
    if not choices:
        raise SuiteError(f"{app} has no fault targets for {fault}")
    return rng.choice(sorted(choices))


def insert_controls(rng: random.Random, episodes: Sequence[T], controls: int, control: T) -> list[T]:
    """``episodes`` with ``controls`` copies of ``control`` (a no-fault episode) at seeded places."""
    chosen = list(episodes)
    for _ in range(controls):
        chosen.insert(rng.randrange(len(chosen) + 1), control)
    return chosen
