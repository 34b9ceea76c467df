"""AIOpsLab's problem registry as remedlab runs it (``suites/aiopslab.yaml``): every problem id with
the AIOpsLab app it runs on, the remedlab app that stands for it, its task, the remedlab fault that
reproduces it and the component AIOpsLab localizes. Loaded into typed, frozen objects, checked as
they are read: an unknown key, app or task is an error naming the problem."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remedlab.agents.episode import TASKS
from remedlab.bench.plan import NO_FAULT, SuiteError

DATA_FILE = "aiopslab.yaml"


class Analysis(BaseModel):
    """The answer AIOpsLab's analysis task expects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_level: str
    fault_type: str


class _Entry(BaseModel):
    """One problem as the data file writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    app: str
    task: str
    fault: str
    target: str = ""
    overrides: tuple[str, ...] = Field(default=(), alias="set")
    analysis: Analysis | None = None


class Problem(BaseModel):
    """One AIOpsLab problem: ``app`` is remedlab's app, ``aiopslab_app`` AIOpsLab's; ``fault`` is
    ``none`` for a no-fault control; an empty ``target`` is drawn from the app's fault targets."""

    model_config = ConfigDict(frozen=True)

    id: str
    aiopslab_app: str
    app: str
    task: str
    fault: str
    target: str = ""
    overrides: tuple[str, ...] = ()
    analysis: Analysis | None = None

    @property
    def control(self) -> bool:
        return self.fault == NO_FAULT


class Registry(BaseModel):
    """The problems in AIOpsLab's order, its apps mapped to remedlab's, and the faults named here
    that remedlab does not have yet."""

    model_config = ConfigDict(frozen=True)

    problems: tuple[Problem, ...]
    apps: dict[str, str]
    not_in_remedlab: frozenset[str]

    def problem(self, problem_id: str) -> Problem | None:
        return next((p for p in self.problems if p.id == problem_id), None)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apps: dict[str, str]
    not_in_remedlab: list[str] = Field(default_factory=list)
    problems: dict[str, _Entry]


def parse_registry(text: str, where: str = DATA_FILE) -> Registry:
    """The registry in ``text``; SuiteError naming the problem when an entry does not fit."""
    try:
        raw = _File.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()
        raise SuiteError(f"{where} is not a problem registry: {' '.join(first[:3])}") from None
    problems = []
    for problem_id, entry in raw.problems.items():
        if entry.app not in raw.apps:
            raise SuiteError(f"{where}: {problem_id} runs on {entry.app!r}, which `apps` does not map")
        if entry.task not in TASKS:
            raise SuiteError(f"{where}: {problem_id} has task {entry.task!r}: use one of {', '.join(TASKS)}")
        if entry.fault == NO_FAULT and entry.task != "detection":
            raise SuiteError(f"{where}: {problem_id} has no fault, which only a detection problem may")
        problems.append(
            Problem(
                id=problem_id,
                aiopslab_app=entry.app,
                app=raw.apps[entry.app],
                task=entry.task,
                fault=entry.fault,
                target=entry.target,
                overrides=entry.overrides,
                analysis=entry.analysis,
            )
        )
    return Registry(problems=tuple(problems), apps=raw.apps, not_in_remedlab=frozenset(raw.not_in_remedlab))


@cache
def load_registry() -> Registry:
    """The registry shipped with remedlab."""
    text = resources.files("remedlab.bench").joinpath("suites").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_registry(text)
