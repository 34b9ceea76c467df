"""A benchmark run: plan a suite against an app, then play its episodes one after another, appending
each result as it ends; a run that was interrupted resumes where it stopped, never redoing or losing
a finished episode."""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from remedlab.agents.episode import TASKS
from remedlab.agents.llm.models import ModelOptions, build_model
from remedlab.agents.llm.pricing import PriceTable
from remedlab.agents.llm.session import Budget
from remedlab.agents.methods.registry import METHODS, method_info
from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.aiopslab_plan import SkippedProblem, is_aiopslab_suite, plan_problems, select_problems
from remedlab.bench.aiopslab_problems import load_registry
from remedlab.bench.episode import EpisodeSettings, run_episode
from remedlab.bench.plan import EpisodeSpec, draw_plan, read_suite
from remedlab.bench.results import append_result, episode_dir, read_results, read_run, write_run

SETTING_KEYS = (
    "oracle",
    "seed",
    "rate",
    "baseline_seconds",
    "wait_interval",
    "injection_timeout",
    "settle_seconds",
    "grade_timeout",
    "max_steps",
    "max_attempts",
    "strict_restart",
    "quiet_seconds",
    "agent_command",
    "agent_timeout",
)


@dataclass(frozen=True)
class RunRequest:
    app: str
    suite: str
    method: str
    namespace: str | None = None
    seed: int = 0
    experiments: int | None = None
    model: ModelOptions | None = None
    max_tokens: int | None = None
    max_dollars: float | None = None
    prices: str | None = None
    manifest_path: str | None = None
    parallel: int = 1
    task: str | None = None  # None: mitigation, or each AIOpsLab problem's own task
    controls: int | None = None  # no-fault detection episodes; None: as many as balance the faulty ones


def plan_run(admin: AdminApi, request: RunRequest, settings: EpisodeSettings) -> dict[str, Any]:
    """The run's record: what was asked, the settings, the seeded plan, and the AIOpsLab problems
    skipped (their app or fault is not in this remedlab, or they run on another app)."""
    apps = {a["name"]: a for a in admin.apps()}
    if request.app not in apps:
        raise ValueError(f"unknown app {request.app!r}: choose one of {', '.join(sorted(apps))}")
    app = apps[request.app]
    catalog = admin.request("GET", "/v1/faults").get("faults") or []
    known = {str(f["name"]) for f in catalog}
    namespace = request.namespace or str(app["namespace"])
    targets = dict(app.get("targets") or {})
    skipped: list[SkippedProblem] = []
    selected = 0
    if is_aiopslab_suite(request.suite):
        problems = select_problems(load_registry(), request.suite, request.task)
        planned = plan_problems(
            problems,
            app=request.app,
            namespace=namespace,
            known_apps=set(apps),
            known_faults=known,
            targets=targets,
            seed=request.seed,
            limit=request.experiments,
            parallel=request.parallel,
            controls=request.controls,
        )
        plan, skipped, selected = planned.episodes, planned.skipped, planned.selected
    else:
        task = request.task or "mitigation"
        if task not in TASKS:
            raise ValueError(f"unknown --task {task!r}: choose one of {', '.join(TASKS)}")
        faults = read_suite(request.suite, known)
        count = min(len(faults), request.experiments or len(faults))
        controls = request.controls if request.controls is not None else (count if task == "detection" else 0)
        plan = draw_plan(
            faults, targets, request.app, namespace, request.seed, request.experiments, request.parallel, controls, task
        )
    tasks = [t for t in TASKS if any(s.task == t for s in plan)]
    _check_method_tasks(request.method, tasks)
    model = asdict(request.model) if request.model is not None else None
    if model is not None:
        model.pop("api_key", None)  # keys stay in the environment, never in the run's files
    return {
        "app": request.app,
        "namespace": namespace,
        "suite": request.suite,
        "method": request.method,
        "model": model,
        "budget": {"max_tokens": request.max_tokens, "max_dollars": request.max_dollars},
        "prices": request.prices,
        "manifest_path": request.manifest_path,
        "settings": {k: getattr(settings, k) for k in SETTING_KEYS},
        "task": tasks[0] if len(tasks) == 1 else "mixed",
        "truths": {f["name"]: f["truth"] for f in catalog},
        "parallel": request.parallel,
        "created": time.time(),
        "environment": environment(admin),
        "selected": selected,
        "skipped": [s.to_dict() for s in skipped],
        "plan": [s.to_dict() for s in plan],
    }


def environment(admin: AdminApi) -> dict[str, Any]:
    """What the run ran on: the versions of remedlab, Python and the host, and the isolation level of
    each mechanism the server's cluster relies on (its doctor's checks; none for a server without)."""
    try:
        checks = list(admin.request("GET", "/v1/doctor").get("checks") or [])
    except AgentApiError:
        checks = []
    return {
        "versions": {
            "remedlab": importlib.metadata.version("remedlab"),
            "python": platform.python_version(),
            "host": f"{platform.system()} {platform.release()} {platform.machine()}",
        },
        "isolation": [{k: str(c.get(k) or "") for k in ("mechanism", "level", "detail")} for c in checks],
    }


def _check_method_tasks(method: str, tasks: list[str]) -> None:
    """A method set a task it does not take on is a user's error, said before anything runs."""
    info = method_info(method)
    missing = [t for t in tasks if t not in info.tasks]
    if missing:
        able = [m.name for m in METHODS.values() if all(t in m.tasks for t in tasks)]
        raise ValueError(
            f"{info.name} does not answer {' or '.join(missing)} questions: use --method {' or '.join(able)}, "
            "or select only mitigation problems"
        )


def settings_of(run: dict[str, Any]) -> EpisodeSettings:
    """The episode settings a run was planned with, and its model (built anew: the key is in the env)."""
    model_options = run.get("model")
    model = build_model(ModelOptions(**model_options)) if model_options else None
    budget = run.get("budget") or {}
    prices = PriceTable.load(Path(run["prices"])) if run.get("prices") else None
    return EpisodeSettings(
        method=run["method"],
        truths=dict(run.get("truths") or {}),
        model=model,
        budget=Budget(budget.get("max_tokens"), budget.get("max_dollars")),
        prices=prices,
        **run["settings"],
    )


def prepare(admin: AdminApi, run: dict[str, Any], namespace: str, settings: EpisodeSettings) -> None:
    """The app deployed in ``namespace`` (when it is not), no fault left from an interrupted run, and
    the workload running, warmed up for a baseline."""
    leftovers = admin.chaos_list(namespace)
    for chaos in leftovers:
        admin.stop_chaos(namespace, chaos["metadata"]["name"])
    if leftovers:
        admin.restore(namespace, "")
    if not admin.objects("deployments", namespace):
        answer = admin.deploy(run["app"], namespace, settings.deploy_timeout)
        if not answer.get("ready"):
            raise RuntimeError(f"{run['app']} did not get Ready in {namespace}")
    admin.start_workload(namespace, settings.rate, settings.seed)
    time.sleep(settings.baseline_seconds)


def run_plan(
    admin: AdminApi,
    agent_api: AgentApi,
    out: Path,
    on_episode: Callable[[EpisodeSpec, dict[str, Any] | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Play every planned episode that has no result yet; all results, in plan order."""
    run = read_run(out)
    settings = settings_of(run)
    done = {int(r["index"]) for r in read_results(out)}
    lanes: dict[str, list[EpisodeSpec]] = {}
    for entry in run["plan"]:
        if int(entry["index"]) not in done:
            spec = EpisodeSpec.from_dict(entry, run.get("task", "mitigation"))
            lanes.setdefault(spec.namespace, []).append(spec)
    lock = threading.Lock()

    def play_lane(namespace: str, specs: list[EpisodeSpec]) -> None:
        lane_settings = settings_of(run) if len(lanes) > 1 else settings  # a model client per lane
        prepare(admin, run, namespace, lane_settings)
        try:
            for spec in specs:
                if on_episode is not None:
                    with lock:
                        on_episode(spec, None)
                folder = episode_dir(out, spec.index, spec.fault, spec.target)
                record = run_episode(admin, agent_api, spec, lane_settings, folder)
                with lock:
                    append_result(out, record)
                    if on_episode is not None:
                        on_episode(spec, record)
        finally:
            with contextlib.suppress(AgentApiError):
                admin.stop_workload(namespace)

    if len(lanes) <= 1:
        for namespace, specs in lanes.items():
            play_lane(namespace, specs)
    else:
        with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="remedlab-lane") as pool:
            for future in [pool.submit(play_lane, ns, specs) for ns, specs in lanes.items()]:
                future.result()
    return sorted(read_results(out), key=lambda r: int(r["index"]))


def start_run(admin: AdminApi, out: Path, request: RunRequest, settings: EpisodeSettings) -> dict[str, Any]:
    run = plan_run(admin, request, settings)
    write_run(out, run)
    return run
