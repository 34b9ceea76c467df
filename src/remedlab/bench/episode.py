"""One benchmark episode, as MicroRemed runs them with remedlab's oracle: health gate (redeploy when
unhealthy, and say so), a quiet period (users' requests all succeed again, so that neither the
baseline nor what the agent sees carries the last episode's fault), baseline measurement, injection
and its confirmation within the injection timeout, the agent's turn, grading, then stop the fault,
restore the original manifests and check the app is healthy again."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remedlab.agents.episode import Incident
from remedlab.agents.llm.chat import ChatModel
from remedlab.agents.llm.pricing import PriceTable
from remedlab.agents.llm.session import Budget
from remedlab.agents.run import run_agent
from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.agents.signals import is_ready, is_terminating
from remedlab.api.conditions import is_active
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.answers import ANSWER_TASKS, grade_answer
from remedlab.bench.metrics import episode_metrics
from remedlab.bench.plan import NO_FAULT, EpisodeSpec
from remedlab.bench.timeline import (
    AGENT_END,
    AGENT_START,
    CONFIRM,
    INJECT,
    LEAD_SECONDS,
    STOP,
    TIMELINE_FILE,
    VERDICT,
    Timeline,
    WorkloadPoint,
    agent_steps,
)

SUCCESS, FAILURE, INJECTION_FAILURE, ERROR = "success", "failure", "injection-failure", "error"
QUIET_SUCCESS = 0.99
"""The workload's success rate over the quiet period that counts as clean."""
QUIET_TIMEOUT = 60.0
"""Seconds an episode waits for the quiet period before it goes on (and says it was not clean)."""


@dataclass
class EpisodeSettings:
    method: str
    oracle: str = "remedlab"  # or "microremed"
    model: ChatModel | None = None
    budget: Budget | None = None
    prices: PriceTable | None = None
    seed: int = 0
    rate: float = 10.0
    baseline_seconds: float = 5.0
    wait_interval: float = 1.0
    injection_timeout: float = 30.0
    settle_seconds: float = 15.0
    grade_timeout: float = 120.0
    max_steps: int = 20
    max_attempts: int = 2
    strict_restart: bool = False
    quiet_seconds: float = 10.0
    truths: dict[str, dict[str, str]] = field(default_factory=dict)
    deploy_timeout: float = 180.0
    agent_command: tuple[str, ...] = ()  # the mcp method's outside agent
    agent_timeout: float = 600.0


def _pods_ready(api: AgentApi, namespace: str) -> bool:
    """Every pod Ready or finished (a Job's), and none going."""
    pods = api.objects("pods", namespace)
    return bool(pods) and all(not is_terminating(p) and (is_ready(p) or not is_active(p)) for p in pods)


def wait_ready(api: AgentApi, namespace: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pods_ready(api, namespace):
            return True
        time.sleep(0.5)
    return False


def health_gate(admin: AdminApi, spec: EpisodeSpec, settings: EpisodeSettings) -> bool:
    """Make sure the app is up and healthy; True when it had to be (re)deployed."""
    if not settings.strict_restart and _pods_ready(admin, spec.namespace):
        return False
    if admin.objects("deployments", spec.namespace):
        admin.delete_app(spec.app, spec.namespace)
    answer = admin.deploy(spec.app, spec.namespace, settings.deploy_timeout)
    if not answer.get("ready"):
        raise AgentApiError(f"{spec.app} did not get Ready in {spec.namespace} within {settings.deploy_timeout:g}s")
    admin.start_workload(spec.namespace, settings.rate, settings.seed)
    time.sleep(settings.baseline_seconds)
    return True


def wait_quiet(admin: AdminApi, spec: EpisodeSpec, settings: EpisodeSettings) -> dict[str, Any]:
    """Wait (``QUIET_TIMEOUT`` at most) until users' requests have all but all succeeded for
    ``quiet_seconds`` and every pod of the namespace is Ready: the last episode's fault no longer shows
    in what an agent looks at, also on a service the users' requests do not reach."""
    started = time.monotonic()
    while True:
        window = admin.workload(spec.namespace, settings.quiet_seconds)["window"]
        clean = bool(window.get("requests")) and float(window.get("success_rate") or 0.0) >= QUIET_SUCCESS
        clean = clean and _pods_ready(admin, spec.namespace)
        waited = time.monotonic() - started
        if clean or waited >= QUIET_TIMEOUT:
            return {"clean": clean, "seconds": round(waited, 3)}
        time.sleep(1.0)


def confirm_injection(admin: AdminApi, spec: EpisodeSpec, name: str, settings: EpisodeSettings) -> dict[str, Any]:
    """Poll until the fault shows, or the injection timeout ends; the last confirmation."""
    deadline = time.monotonic() + settings.injection_timeout
    while True:
        seen = dict(admin.chaos(spec.namespace, name).get("confirm") or {})
        if seen.get("observable") or time.monotonic() >= deadline:
            return seen
        time.sleep(settings.wait_interval)


def grade(
    admin: AdminApi, spec: EpisodeSpec, chaos: str | None, baseline: dict[str, Any], settings: EpisodeSettings
) -> dict[str, Any]:
    if settings.oracle == "microremed":
        passed = admin.check_status(spec.namespace, spec.target, spec.fault, timeout=settings.grade_timeout)
        return {"passed": passed, "oracle": "microremed", "reasons": [] if passed else ["check_status said no"]}
    body = {
        "namespace": spec.namespace,
        "target": spec.target,
        "chaos": chaos,
        "baseline": {"successRate": baseline["success_rate"], "p95Ms": baseline["p95_ms"]},
        "settleSeconds": settings.settle_seconds,
        "timeoutSeconds": settings.grade_timeout,
    }
    return {**admin.grade(body), "oracle": "remedlab"}


def run_episode(
    admin: AdminApi, agent_api: AgentApi, spec: EpisodeSpec, settings: EpisodeSettings, folder: Path
) -> dict[str, Any]:
    started = time.monotonic()
    timeline = Timeline()
    if folder.exists():
        shutil.rmtree(folder)  # a resumed run redoes an unfinished episode from scratch
    folder.mkdir(parents=True)
    record: dict[str, Any] = {**spec.to_dict(), "method": settings.method, "seed": settings.seed, "agent": None}
    chaos_name: str | None = None
    agent_seconds = 0.0
    phases: dict[str, float] = {}
    record["phases"] = phases
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 3)
        mark = now

    try:
        record["redeployed"] = health_gate(admin, spec, settings)
        record["quiet"] = wait_quiet(admin, spec, settings)
        window = admin.workload(spec.namespace, settings.baseline_seconds)["window"]
        record["baseline"] = {k: window[k] for k in ("requests", "success_rate", "p50_ms", "p95_ms")}
        phase("gate")
        if spec.fault == NO_FAULT:
            seen: dict[str, Any] = {"injected": False, "observable": True, "detail": "a no-fault control"}
        else:
            timeline.mark(INJECT, f"inject {spec.fault} on {spec.target}")
            injected = admin.inject(
                spec.fault, spec.target, spec.namespace, settings.seed + spec.index, list(spec.overrides)
            )
            chaos_name = str(injected["metadata"]["name"])
            seen = confirm_injection(admin, spec, chaos_name, settings)
        record["confirm"] = seen
        if spec.fault != NO_FAULT:
            timeline.mark(CONFIRM, "fault shows" if seen.get("observable") else "fault did not show")
        record["confirm_seconds"] = round(time.monotonic() - started, 3)
        phase("inject")
        if not seen.get("observable"):
            record["status"] = INJECTION_FAILURE
        else:
            if spec.task == "mitigation" and settings.method != "ReAct" and not spec.problem:
                incident = Incident(spec.namespace, spec.app, service=spec.target, fault_category=spec.fault)
            else:  # AIOpsLab's tasks tell the agent the namespace only
                incident = Incident(spec.namespace, spec.app, task=spec.task)
            timeline.mark(AGENT_START, f"{settings.method} starts")
            result = run_agent(
                settings.method,
                incident,
                agent_api,
                model=settings.model,
                budget=settings.budget,
                prices=settings.prices,
                out_dir=folder,
                max_steps=settings.max_steps,
                max_attempts=settings.max_attempts,
                agent_command=tuple(settings.agent_command),
                agent_timeout=settings.agent_timeout,
            )
            agent_seconds = result.seconds
            timeline.events.extend(agent_steps(folder))
            timeline.mark(AGENT_END, f"{settings.method} ends: {result.ended}", result.ended)
            record["agent"] = result.to_dict()
            phase("agent")
            if spec.task in ANSWER_TASKS:
                truth = settings.truths.get(spec.fault, {})
                verdict = grade_answer(spec.task, result.answer, spec.fault, spec.target, truth)
            elif spec.fault == NO_FAULT:
                verdict = {"passed": True, "reasons": [], "oracle": "no fault: nothing to mitigate"}
            else:
                verdict = grade(admin, spec, chaos_name, record["baseline"], settings)
                _mark_verdict(timeline, verdict)
            record["verdict"] = verdict
            phase("grade")
            record["status"] = SUCCESS if verdict.get("passed") else FAILURE
    except AgentApiError as exc:
        record["status"] = ERROR
        record["error"] = str(exc)
    finally:
        record["cleanup"] = _clean_up(admin, spec, chaos_name, timeline)
        phase("cleanup")
        record["timeline"] = _save_timeline(admin, spec, timeline, folder)
    total = time.monotonic() - started
    record["total_seconds"] = round(total, 3)
    record["remediation_seconds"] = round(agent_seconds, 3)
    record["harness_seconds"] = round(total - agent_seconds, 3)
    agent = record.get("agent") or {}
    record["metadata"] = {  # MicroRemed's per-experiment metadata
        "final_status": record["status"] == SUCCESS,
        "retries": max(int(agent.get("attempts", 0)) - 1, 0),
        "token_count": int((agent.get("usage") or {}).get("total_tokens", 0)),
        "remediation_time": record["remediation_seconds"],
    }
    record["metrics"] = episode_metrics(record)  # AIOpsLab's: TTD/TTL/TTA/TTM, steps, tokens in and out
    return record


def _mark_verdict(timeline: Timeline, verdict: dict[str, Any]) -> None:
    """The window the oracle judged: the seconds the fix held, up to its verdict."""
    end = time.time()
    held = float(verdict.get("heldSeconds") or verdict.get("seconds") or 0.0)
    outcome = "ok" if verdict.get("passed") else "failed"
    label = f"verdict: {'passed' if verdict.get('passed') else 'failed'} ({verdict.get('decidedBy') or 'judged'})"
    timeline.window(VERDICT, label, end - held, end, outcome)


def _save_timeline(admin: AdminApi, spec: EpisodeSpec, timeline: Timeline, folder: Path) -> str | None:
    """Add the workload's points over the episode to its timeline and save it beside the conversation;
    its path from the run's directory (None when the workload could not be read)."""
    if not timeline.events:
        return None
    since = min(e.t for e in timeline.events) - LEAD_SECONDS
    try:
        points = admin.workload_seconds(spec.namespace, since, time.time())
    except AgentApiError:
        return None
    timeline.points = [WorkloadPoint.from_dict(p) for p in points]
    timeline.save(folder / TIMELINE_FILE)
    return f"{folder.parent.name}/{folder.name}/{TIMELINE_FILE}"


def _clean_up(admin: AdminApi, spec: EpisodeSpec, chaos_name: str | None, timeline: Timeline) -> dict[str, Any]:
    """Stop the fault, restore the app's original manifests, and check it is healthy again."""
    outcome: dict[str, Any] = {}
    try:
        if chaos_name is not None:
            timeline.mark(STOP, "fault stopped")
            admin.stop_chaos(spec.namespace, chaos_name)
        outcome["restore"] = admin.restore(spec.namespace, spec.target)
        outcome["healthy"] = wait_ready(admin, spec.namespace, 60.0)
    except AgentApiError as exc:
        outcome["error"] = str(exc)
        outcome["healthy"] = False
    return outcome
