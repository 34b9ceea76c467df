"""Planning AIOpsLab's problems on one app: ``aiopslab`` selects them all, ``aiopslab:SELECTOR[,...]``
those of a task (``detection``), one id, or a glob of ids (``revoke_auth_mongodb-*``). A problem whose
app or fault this remedlab lacks, or that runs on another app than the run's, is skipped and reported.

Each episode carries its problem's task and id, so one run mixes tasks. Detection is balanced: unless
told how many, no-fault controls are added at seeded places until there are as many no-fault
detection episodes (AIOpsLab's own noop problems count) as faulty ones, so answering "Yes" to
everything scores 50%."""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass
from typing import Any

from remedlab.agents.episode import TASKS
from remedlab.bench.aiopslab_problems import Problem, Registry
from remedlab.bench.plan import NO_FAULT, EpisodeSpec, SuiteError, draw_target, insert_controls, namespaces_for

SUITE = "aiopslab"
APP_MISSING = "app not in this remedlab"
FAULT_MISSING = "fault not in this remedlab"
OTHER_APP = "runs on another app"
SKIP_REASONS = (APP_MISSING, FAULT_MISSING, OTHER_APP)


@dataclass(frozen=True)
class SkippedProblem:
    problem: str
    app: str
    fault: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> SkippedProblem:
        return cls(str(entry["problem"]), str(entry["app"]), str(entry["fault"]), str(entry["reason"]))


@dataclass(frozen=True)
class ProblemPlan:
    episodes: list[EpisodeSpec]
    skipped: list[SkippedProblem]
    selected: int


def is_aiopslab_suite(suite: str) -> bool:
    return suite == SUITE or suite.startswith(SUITE + ":")


def select_problems(registry: Registry, suite: str, task: str | None = None) -> list[Problem]:
    """The problems ``suite`` names, in the registry's order. ``task`` (the run's ``--task``) keeps
    those of that task from the whole registry, and must agree with any narrower selection."""
    selector = suite[len(SUITE) + 1 :] if suite.startswith(SUITE + ":") else ""
    parts = [part.strip() for part in selector.split(",") if part.strip()]
    if task is not None and task not in TASKS:
        raise SuiteError(f"unknown --task {task!r}: choose one of {', '.join(TASKS)}")
    if not parts:
        return [p for p in registry.problems if task is None or p.task == task]
    wanted: set[str] = set()
    for part in parts:
        matched = [p.id for p in registry.problems if _matches(p, part)]
        if not matched:
            raise SuiteError(
                f"no AIOpsLab problem matches {part!r}: give a task ({', '.join(TASKS)}), a problem id "
                f"such as revoke_auth_mongodb-detection-1, or a glob such as 'revoke_auth_mongodb-*'"
            )
        wanted.update(matched)
    chosen = [p for p in registry.problems if p.id in wanted]
    if task is not None:
        other = [p for p in chosen if p.task != task]
        if other:
            raise SuiteError(
                f"--suite {suite} selects {other[0].task} problems ({other[0].id}) but --task is {task}: "
                f"leave --task out (each AIOpsLab problem carries its task) or select {SUITE}:{task}"
            )
    return chosen


def _matches(problem: Problem, part: str) -> bool:
    if part in TASKS:
        return problem.task == part
    return problem.id == part or fnmatch.fnmatchcase(problem.id, part)


def plan_problems(
    problems: list[Problem],
    *,
    app: str,
    namespace: str,
    known_apps: set[str],
    known_faults: set[str],
    targets: dict[str, list[str]],
    seed: int,
    limit: int | None = None,
    parallel: int = 1,
    controls: int | None = None,
) -> ProblemPlan:
    """An episode per problem that runs on ``app`` (the first ``limit`` of them), plus the no-fault
    detection controls (``controls``; None: as many as balance detection), at seeded places; every
    other problem is skipped with its reason. SuiteError when none runs here."""
    runnable: list[Problem] = []
    skipped: list[SkippedProblem] = []
    for problem in problems:
        reason = _skip_reason(problem, app, known_apps, known_faults)
        if reason is None:
            runnable.append(problem)
        else:
            skipped.append(SkippedProblem(problem.id, problem.app, problem.fault, reason))
    if not runnable:
        raise SuiteError(_nothing_runs(problems, skipped, app))
    if limit:
        runnable = runnable[:limit]
    if controls is None:
        controls = balancing_controls(runnable)
    rng = random.Random(seed)
    lanes = namespaces_for(namespace, parallel)
    ordered: list[Problem | None] = list(runnable)
    episodes = []
    for index, entry in enumerate(insert_controls(rng, ordered, controls, None)):
        lane = lanes[index % len(lanes)]
        if entry is None:
            episodes.append(EpisodeSpec(index, NO_FAULT, "", lane, app, "detection"))
            continue
        target = entry.target
        if not target and not entry.control:
            target = draw_target(rng, targets, entry.fault, app)
        episodes.append(EpisodeSpec(index, entry.fault, target, lane, app, entry.task, entry.id, entry.overrides))
    return ProblemPlan(episodes, skipped, len(problems))


def balancing_controls(problems: list[Problem]) -> int:
    """No-fault detection episodes to add so there are as many as faulty detection episodes."""
    faulty = sum(1 for p in problems if p.task == "detection" and not p.control)
    controls = sum(1 for p in problems if p.task == "detection" and p.control)
    return max(0, faulty - controls)


def _skip_reason(problem: Problem, app: str, known_apps: set[str], known_faults: set[str]) -> str | None:
    if problem.app not in known_apps:
        return APP_MISSING
    if problem.app != app:
        return OTHER_APP
    if not problem.control and problem.fault not in known_faults:
        return FAULT_MISSING
    return None


def _nothing_runs(problems: list[Problem], skipped: list[SkippedProblem], app: str) -> str:
    counts = "; ".join(describe_skips(skipped, with_ids=False))
    elsewhere = sorted({s.app for s in skipped if s.reason == OTHER_APP})
    advice = f"choose --env {' or --env '.join(elsewhere)}" if elsewhere else "choose other problems"
    return f"none of the {len(problems)} AIOpsLab problems selected runs on {app} ({counts}): {advice}"


def describe_skips(skipped: list[SkippedProblem], with_ids: bool = True) -> list[str]:
    """One line per reason: how many problems were skipped for it, what was missing, and (``with_ids``)
    which problems."""
    lines = []
    for reason in SKIP_REASONS:
        these = [s for s in skipped if s.reason == reason]
        if not these:
            continue
        names = sorted({s.fault if reason == FAULT_MISSING else s.app for s in these})
        line = f"{len(these)} {reason} ({', '.join(names)})"
        if with_ids:
            line += ": " + ", ".join(s.problem for s in these)
        lines.append(line)
    return lines
