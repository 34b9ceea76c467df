"""Episodes' workload and grading (scope admin): a steady workload per namespace run by the server,
its windows (the baseline before a fault, what users see after a fix), and the oracle's verdict."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from remedlab.api.errors import BadRequest, NotFound
from remedlab.apps.catalog import get_app
from remedlab.observe.workload.generator import LoadProfile, Target, TargetRefused, WorkloadRunner
from remedlab.observe.workload.mix import MixError, app_workload_file, load_app_mix
from remedlab.observe.workload.rounds import ROUNDS_KIND, RoundsSpecError, RoundWorkload, parse_rounds_spec
from remedlab.observe.workload.running import Workload
from remedlab.oracle.judge import Baseline, GradeSettings, judge, target_deployment
from remedlab.server.app_routes import app_of_namespace
from remedlab.server.chaos_routes import find_chaos
from remedlab.server.cluster_routes import backend_of

router = APIRouter(prefix="/v1")


class WorkloadRequest(BaseModel):
    namespace: str = Field(min_length=1, max_length=63)
    rate: float = Field(default=10.0, gt=0, le=500)
    duration_seconds: float = Field(default=6 * 3600, gt=0, le=7 * 24 * 3600, alias="durationSeconds")
    seed: int | None = None

    model_config = {"populate_by_name": True}


class BaselineBody(BaseModel):
    success_rate: float = Field(ge=0, le=1, alias="successRate")
    p95_ms: float | None = Field(default=None, ge=0, alias="p95Ms")

    model_config = {"populate_by_name": True}


class GradeRequest(BaseModel):
    namespace: str = Field(min_length=1, max_length=63)
    target: str = Field(min_length=1, max_length=253)
    chaos: str | None = Field(default=None, description="the chaos object's name; none for a no-fault control")
    baseline: BaselineBody | None = None
    settle_seconds: float = Field(default=15.0, ge=1, le=600, alias="settleSeconds")
    timeout_seconds: float = Field(default=120.0, ge=1, le=3600, alias="timeoutSeconds")
    success_tolerance: float = Field(default=0.05, ge=0, le=1, alias="successTolerance")
    latency_factor: float = Field(default=1.5, ge=1, le=100, alias="latencyFactor")
    latency_slack_ms: float = Field(default=50.0, ge=0, le=60000, alias="latencySlackMs")
    sequential: bool = Field(default=True, description="pass as soon as the workload's evidence decides")
    false_pass: float = Field(default=0.01, gt=0, lt=0.5, alias="falsePass")
    false_fail: float = Field(default=0.01, gt=0, lt=0.5, alias="falseFail")

    model_config = {"populate_by_name": True}


def workloads_of(request: Request) -> dict[str, Workload]:
    return workloads_of_app(request.app)


def workloads_of_app(app: Any) -> dict[str, Workload]:
    """The workloads the server runs, by namespace."""
    state = app.state
    if not hasattr(state, "workloads"):
        state.workloads = {}
    workloads: dict[str, Workload] = state.workloads
    return workloads


async def stop_workloads(workloads: dict[str, Workload]) -> None:
    for runner in list(workloads.values()):
        with contextlib.suppress(Exception):
            await runner.stop(drain=False)
    workloads.clear()


@router.post("/workloads", status_code=201)
async def start_workload(request: Request, body: WorkloadRequest) -> dict[str, Any]:
    """Start the app's workload in the namespace: requests to its entry at ``rate``, or, for an app whose
    workload is its rounds of training, following them (``rate`` does not apply)."""
    backend = backend_of(request)
    app = get_app(app_of_namespace(backend, body.namespace))
    runner: Workload
    try:
        data = app_workload_file(app)
        if data is not None and data.get("kind") == ROUNDS_KIND:
            spec = parse_rounds_spec(data, f"{app.name}'s workload")
            host, port = await backend.service_address(body.namespace, spec.service, spec.port)
            runner, service, rate = RoundWorkload(Target(host, port), spec), spec.service, None
        else:
            mix = load_app_mix(app)
            if mix.service is None or mix.port is None:
                raise BadRequest(f"the workload of {app.name} names no entry service")
            host, port = await backend.service_address(body.namespace, mix.service, mix.port)
            profile = LoadProfile(rate=body.rate, duration=body.duration_seconds, poisson=False, seed=body.seed)
            runner, service, rate = WorkloadRunner(Target(host, port), mix, profile), mix.service, body.rate
    except (MixError, RoundsSpecError, TargetRefused, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    workloads = workloads_of(request)
    old = workloads.pop(body.namespace, None)
    if old is not None:
        await old.stop(drain=False)
    await runner.start()
    workloads[body.namespace] = runner
    return {"namespace": body.namespace, "app": app.name, "service": service, "rate": rate, "kind": runner.kind}


def _runner(request: Request, namespace: str) -> Workload:
    runner = workloads_of(request).get(namespace)
    if runner is None:
        raise NotFound(f"no workload runs in namespace {namespace}: start one with POST /v1/workloads")
    return runner


@router.get("/workloads/{namespace}")
async def workload_window(request: Request, namespace: str, seconds: float = 10.0) -> dict[str, Any]:
    runner = _runner(request, namespace)
    if not 0 < seconds <= 24 * 3600:
        raise BadRequest("seconds must be between 0 and 86400")
    seconds = max(seconds, runner.min_window_seconds)  # a window of rounds of training holds a few of them
    return {
        "namespace": namespace,
        "seconds": seconds,
        "runSeconds": runner.complete_seconds(),
        "window": asdict(runner.window(seconds)),
        "byKind": {k: asdict(v) for k, v in runner.window_by_kind(seconds).items()},
    }


@router.get("/workloads/{namespace}/seconds")
async def workload_seconds(
    request: Request, namespace: str, since: float, until: float | None = None
) -> dict[str, Any]:
    """Each second's requests, success rate and latency between two Unix times (until: now)."""
    runner = _runner(request, namespace)
    end = time.time() if until is None else until
    if end < since or end - since > 24 * 3600:
        raise BadRequest("until must be after since, by at most 86400 seconds")
    return {"namespace": namespace, "points": [asdict(p) for p in runner.stats.series(since, end)]}


@router.delete("/workloads/{namespace}")
async def stop_workload(request: Request, namespace: str) -> dict[str, Any]:
    runner = _runner(request, namespace)
    workloads_of(request).pop(namespace, None)
    summary = await runner.stop(drain=False)
    return {"namespace": namespace, "summary": asdict(summary)}


@router.post("/grade")
async def grade(request: Request, body: GradeRequest) -> dict[str, Any]:
    backend = backend_of(request)
    if target_deployment(backend, body.namespace, body.target) is None:
        raise NotFound(f"no deployment or service {body.target} in namespace {body.namespace}")
    chaos = find_chaos(backend, body.namespace, body.chaos) if body.chaos else None
    baseline = Baseline(body.baseline.success_rate, body.baseline.p95_ms) if body.baseline else None
    workload = workloads_of(request).get(body.namespace)
    if baseline is not None and workload is None:
        raise BadRequest(f"a baseline needs the workload running in {body.namespace}: POST /v1/workloads first")
    settings = GradeSettings(
        settle_seconds=body.settle_seconds,
        timeout_seconds=body.timeout_seconds,
        success_tolerance=body.success_tolerance,
        latency_factor=body.latency_factor,
        latency_slack_ms=body.latency_slack_ms + (workload.latency_slack_ms if workload is not None else 0.0),
        sequential=body.sequential,
        false_pass=body.false_pass,
        false_fail=body.false_fail,
    )

    def fetch() -> dict[str, Any] | None:
        if not body.chaos:
            return None
        try:
            return find_chaos(backend, body.namespace, body.chaos)
        except NotFound:
            return None

    verdict = await judge(backend, body.namespace, body.target, chaos, workload, baseline, settings, fetch)
    return verdict.to_dict()
