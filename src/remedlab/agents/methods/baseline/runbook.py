"""The baseline agent: a rule-based SRE runbook. It needs no model and gets no ground truth: it is
not told the faulty service or the fault, only the namespace. It looks at the namespace (see
``agents/diagnosis.py`` for the rules), acts on the strongest finding through a playbook sent to the
server (the same channel and policy as any agent), one deployment per round, then looks again until
the namespace looks clean twice in a row. Set an AIOpsLab question (detection, localization,
analysis) instead, it answers it from the same diagnosis and changes nothing (``answers.py``).
"""

from __future__ import annotations

import json
import time

import yaml

from remedlab.agents.confirmation import Confirmation
from remedlab.agents.diagnosis import diagnose
from remedlab.agents.diagnosis_config import load_thresholds
from remedlab.agents.episode import DONE, NO_ACTION, REFUSED, UNVERIFIED, AgentContext, AgentResult
from remedlab.agents.findings import (
    DROP_NODE_SELECTOR,
    PATCH_TARGET_PORT,
    RESTART,
    RUN_SCRIPT,
    SCALE_UP,
    UNDO,
    Finding,
)
from remedlab.agents.methods.baseline.answers import answer_question
from remedlab.agents.methods.playbooks import run_playbook
from remedlab.agents.signals import observe

NAME = "baseline"


def playbook_for(finding: Finding, namespace: str, wait_s: float) -> str:
    if finding.action == UNDO:
        step = {
            "name": f"roll back {finding.deployment}",
            "command": f"kubectl rollout undo deployment/{finding.deployment} -n {namespace}",
        }
    elif finding.action == PATCH_TARGET_PORT:
        path = f"/spec/ports/{finding.port_index}/targetPort"
        op = json.dumps([{"op": "replace", "path": path, "value": finding.port}])
        step = {
            "name": f"point service {finding.service} at the pods' port {finding.port}",
            "command": f"kubectl patch service {finding.service} -n {namespace} --type=json -p '{op}'",
        }
    elif finding.action == SCALE_UP:
        step = {
            "name": f"scale {finding.deployment} to 1 replica",
            "command": f"kubectl scale deployment/{finding.deployment} -n {namespace} --replicas=1",
        }
    elif finding.action == DROP_NODE_SELECTOR:
        op = json.dumps([{"op": "remove", "path": "/spec/template/spec/nodeSelector"}])
        step = {
            "name": f"remove the nodeSelector of {finding.deployment}",
            "command": f"kubectl patch deployment {finding.deployment} -n {namespace} --type=json -p '{op}'",
        }
    elif finding.action == RUN_SCRIPT:
        step = {
            "name": f"run the repair script {finding.script} in the pod of {finding.deployment}",
            "command": f"kubectl exec -n {namespace} deployment/{finding.deployment} -- sh /scripts/{finding.script}",
        }
    elif finding.action == RESTART:
        step = {
            "name": f"replace the pods of {finding.deployment}",
            "command": f"kubectl rollout restart deployment/{finding.deployment} -n {namespace}",
        }
    else:
        step = {
            "name": f"delete the sick pod {finding.pod}",
            "command": f"kubectl delete pod {finding.pod} -n {namespace} --wait=false",
        }
    wait = {
        "name": f"wait for {finding.deployment} to be available again",
        "command": f"kubectl rollout status deployment/{finding.deployment} -n {namespace} --timeout={wait_s:g}s",
    }
    play = {
        "name": f"baseline runbook: {finding.rule} on {finding.deployment} ({finding.evidence})",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [step, wait],
    }
    return str(yaml.safe_dump([play], sort_keys=False, width=200))


class Baseline:
    name = NAME
    needs_model = False

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        self.limits = {**load_thresholds(), **(thresholds or {})}

    def run(self, ctx: AgentContext) -> AgentResult:
        if ctx.incident.task != "mitigation":
            return answer_question(ctx, NAME, self.limits)
        namespace = ctx.incident.namespace
        limits = self.limits
        acted: dict[str, float] = {}
        clean = 0
        confirmation = Confirmation(limits["confirm_seconds"])
        started = time.time()
        deadline = started + limits["observe_seconds"]
        while True:
            ctx.steps += 1
            snap = observe(
                ctx.api,
                namespace,
                seconds=int(max(limits["service_window_seconds"], 20)),
                log_seconds=int(limits["log_window_seconds"]),
            )
            findings = diagnose(snap, limits, acted, since=started)
            ctx.log.add("observation", step=ctx.steps, findings=[f.__dict__ for f in findings])
            actionable = confirmation.actionable(findings, snap.taken)
            if findings:
                clean = 0
            if actionable:
                if len(acted) >= limits["max_actions"] or ctx.attempts >= limits["max_actions"]:
                    return ctx.finish(
                        NAME, UNVERIFIED, f"still wrong after {ctx.attempts} actions: {actionable[0].evidence}"
                    )
                top = actionable[0]
                why = f"{top.rule} on {top.deployment}: {top.evidence}"
                play = playbook_for(top, namespace, limits["rollout_wait_seconds"])
                answer = run_playbook(ctx, play, why=why, timeout=limits["playbook_seconds"])
                if answer.get("refused"):
                    return ctx.finish(NAME, REFUSED, str(answer["refused"]))
                acted[top.deployment] = time.time()
                confirmation.reset()
                time.sleep(limits["settle_seconds"])
                continue
            if not findings and acted:
                clean += 1
                if clean >= limits["settle_checks"]:
                    return ctx.finish(NAME, DONE, f"{ctx.attempts} action(s); the namespace looks healthy again")
            elif not findings and time.time() >= deadline:
                return ctx.finish(NAME, NO_ACTION, f"nothing looked wrong for {limits['observe_seconds']:.0f}s")
            time.sleep(limits["interval_seconds"])
