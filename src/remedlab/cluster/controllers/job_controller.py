"""Jobs → pods that run to completion, as Kubernetes' Job controller runs them.

- Up to `parallelism` pods run at once, until `completions` of them succeeded
  (without `completions`: until one succeeded and the others ended). Then the
  Job gets `SuccessCriteriaMet`, its remaining pods are stopped, and once none
  is left running it gets `Complete` and a `completionTime`.
- A failed pod counts in `status.failed` (with restartPolicy OnFailure, each
  container restart counts against the limit instead). Once more pods failed
  than `backoffLimit`, or the Job ran longer than `activeDeadlineSeconds`, it
  gets `FailureTarget`, its pods are stopped, then `Failed` (reason
  `BackoffLimitExceeded` or `DeadlineExceeded`). A replacement for a failed
  pod waits 10 s, doubling with each failure, up to 6 minutes.
- Pods are named `<job>-<suffix>` and labelled with the job's selector labels
  (`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name` and
  their legacy forms, added to the template when the Job was created).
- A finished Job with `ttlSecondsAfterFinished` is deleted, with its pods,
  that long after it finished.

Triggered by its Job's changes and by every change of a pod it controls; a
running deadline, a back-off and a TTL bring the Job back on time.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from remedlab.api.conditions import is_ready, is_terminating
from remedlab.api.errors import NotFound
from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso, parse_time
from remedlab.api.workloads import JobSpec
from remedlab.cluster.apiserver.registry import ObjectAPI
from remedlab.cluster.apiserver.store import Store
from remedlab.cluster.controllers.change_feed import clone
from remedlab.cluster.controllers.event_recorder import EventRecorder
from remedlab.cluster.controllers.informer import EventHandler, InformerFactory, key_of
from remedlab.cluster.controllers.queue_controller import QueueController
from remedlab.cluster.controllers.replicaset_controller import pod_suffix
from remedlab.cluster.controllers.revisions import controller_ref, owned_by, owner_reference

DEFAULT_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 360.0
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"
FINISHED = ("Complete", "Failed")


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def _restarts(pod: Obj) -> int:
    status = pod.get("status") or {}
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def _finished_at(pod: Obj) -> datetime | None:
    """When a pod's last container ended."""
    ends = [
        parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    ]
    found = [e for e in ends if e is not None]
    return max(found) if found else None


def _has(job: Obj, type_: str) -> bool:
    return any(
        c.get("type") == type_ and c.get("status") == "True" for c in (job.get("status") or {}).get("conditions") or []
    )


def _condition(type_: str, reason: str, message: str, now: str) -> dict[str, str]:
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


class JobController(QueueController[str]):
    def __init__(
        self,
        informers: InformerFactory,
        store: Store,
        api: ObjectAPI,
        events: EventRecorder,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    ) -> None:
        super().__init__("job-controller", events)
        self.store = store
        self.api = api
        self.backoff_seconds = backoff_seconds
        self.jobs = informers.informer("Job")
        self.pods = informers.informer("Pod")
        self.jobs.add_handler(EventHandler(self._enqueue, lambda _old, new: self._enqueue(new)))
        self.pods.add_handler(EventHandler.each(self._enqueue_owner))

    def _enqueue(self, job: Obj) -> None:
        self.queue.add(key_of(job))

    def _enqueue_owner(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == "Job":
            self.queue.add(f"{pod['metadata']['namespace']}/{ref['name']}")

    def involved_object(self, key: str) -> Obj | None:
        return self.jobs.get(key)

    def _owned_pods(self, job: Obj) -> list[Obj]:
        return [p for p in self.pods.objects(job["metadata"]["namespace"]) if owned_by(p, job)]

    async def sync(self, key: str) -> None:
        job = self.jobs.get(key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec = JobSpec.model_validate(job["spec"])
        if any(_has(job, t) for t in FINISHED):
            self._stop_all(job, self._owned_pods(job))
            self._expire(job, spec)
            return
        status: dict[str, Any] = clone(job.get("status") or {})
        now = now_iso()
        status.setdefault("startTime", now)
        conditions: list[dict[str, str]] = list(status.get("conditions") or [])
        pods = self._owned_pods(job)
        active = [p for p in pods if _phase(p) not in ("Succeeded", "Failed") and not is_terminating(p)]
        terminating = [p for p in pods if is_terminating(p) and _phase(p) not in ("Succeeded", "Failed")]
        succeeded = max(int(status.get("succeeded") or 0), sum(1 for p in pods if _phase(p) == "Succeeded"))
        failed_pods = [p for p in pods if _phase(p) == "Failed"]
        failed = max(int(status.get("failed") or 0), len(failed_pods))

        targets = {c["type"] for c in conditions if c.get("status") == "True"}
        if "FailureTarget" not in targets and "SuccessCriteriaMet" not in targets:
            failure = self._failure(job, spec, active, failed, status)
            if failure is not None:
                conditions.append(_condition("FailureTarget", *failure, now))
            elif (spec.completions is not None and succeeded >= spec.completions) or (
                spec.completions is None and succeeded > 0
            ):
                conditions.append(_condition("SuccessCriteriaMet", "CompletionsReached", COMPLETIONS_MESSAGE, now))
            targets = {c["type"] for c in conditions if c.get("status") == "True"}

        if targets & {"FailureTarget", "SuccessCriteriaMet"} or spec.suspend:
            self._stop_all(job, active)
            active = []
        else:
            active = self._fill(job, spec, active, succeeded, failed, failed_pods)

        remaining = [p for p in self._owned_pods(job) if _phase(p) not in ("Succeeded", "Failed")]
        if not remaining and "FailureTarget" in targets:
            target = next(c for c in conditions if c["type"] == "FailureTarget")
            conditions.append(_condition("Failed", target["reason"], target["message"], now))
            self.events.record(job, target["reason"], target["message"], "Warning", component=self.name)
        elif not remaining and "SuccessCriteriaMet" in targets:
            conditions.append(_condition("Complete", "CompletionsReached", COMPLETIONS_MESSAGE, now))
            status["completionTime"] = now
            self.events.record(job, "Completed", "Job completed", component=self.name)
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "terminating": len(terminating),
                "ready": sum(1 for p in active if is_ready(p)),
                "uncountedTerminatedPods": {},
            }
        )
        if conditions:
            status["conditions"] = conditions
        for field in ("succeeded", "failed", "active"):
            if not status[field]:
                status.pop(field)
        if job.get("status") != status:
            updated = clone(job)
            updated["status"] = status
            self.store.update(updated, check_rv=True)
        self._watch_deadline(job, spec, status)

    # ------------------------------------------------------------------

    def _failure(
        self, job: Obj, spec: JobSpec, active: list[Obj], failed: int, status: dict[str, Any]
    ) -> tuple[str, str] | None:
        """(reason, message) of the failure the job has reached, if any."""
        policy = job["spec"]["template"]["spec"].get("restartPolicy")
        restarts = sum(_restarts(p) for p in active) if policy == "OnFailure" else 0
        if failed > spec.backoff_limit or (
            policy == "OnFailure" and spec.backoff_limit and restarts >= spec.backoff_limit
        ):
            return "BackoffLimitExceeded", BACKOFF_LIMIT_MESSAGE
        started = parse_time(status.get("startTime"))
        deadline = spec.active_deadline_seconds
        if deadline is not None and started is not None and (datetime.now(UTC) - started).total_seconds() >= deadline:
            return "DeadlineExceeded", DEADLINE_MESSAGE
        return None

    def _fill(
        self, job: Obj, spec: JobSpec, active: list[Obj], succeeded: int, failed: int, failed_pods: list[Obj]
    ) -> list[Obj]:
        """Create pods up to what the job still needs at once; the active pods afterwards."""
        if spec.completions is not None:
            wanted = min(spec.parallelism, spec.completions - succeeded)
        else:
            wanted = spec.parallelism if succeeded == 0 else 0
        missing = wanted - len(active)
        if missing <= 0:
            oldest_first = sorted(active, key=lambda p: p["metadata"].get("creationTimestamp") or "")
            for pod in oldest_first[max(0, wanted) :]:
                self._delete(job, pod)
            return oldest_first[: max(0, wanted)]
        if spec.pod_replacement_policy == "Failed" and any(is_terminating(p) for p in self._owned_pods(job)):
            return active
        wait = self._backoff_remaining(failed, failed_pods)
        if wait > 0:
            self.queue.add_after(key_of(job), wait + 0.05)
            return active
        for _ in range(missing):
            active.append(self._create(job))
        return active

    def _backoff_remaining(self, failed: int, failed_pods: list[Obj]) -> float:
        if failed == 0:
            return 0.0
        delay = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2.0 ** (failed - 1))
        last = max((t for p in failed_pods if (t := _finished_at(p)) is not None), default=None)
        if last is None:
            return 0.0
        return max(0.0, delay - (datetime.now(UTC) - last).total_seconds())

    def _create(self, job: Obj) -> Obj:
        template = clone(job["spec"]["template"])
        meta = template.get("metadata") or {}
        name = f"{job['metadata']['name']}-{pod_suffix()}"
        pod = self.store.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": job["metadata"]["namespace"],
                    "labels": dict(meta.get("labels") or {}),
                    "annotations": dict(meta.get("annotations") or {}),
                    "ownerReferences": [owner_reference(job)],
                },
                "spec": template["spec"],
                "status": {"phase": "Pending"},
            }
        )
        self.events.record(job, "SuccessfulCreate", f"Created pod: {name}", component=self.name)
        return pod

    def _delete(self, job: Obj, pod: Obj) -> None:
        if is_terminating(pod):
            return
        with contextlib.suppress(NotFound):
            self.api.delete_pod(clone(pod))
        self.events.record(job, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component=self.name)

    def _stop_all(self, job: Obj, pods: list[Obj]) -> None:
        for pod in pods:
            if _phase(pod) not in ("Succeeded", "Failed"):
                self._delete(job, pod)

    def _watch_deadline(self, job: Obj, spec: JobSpec, status: dict[str, Any]) -> None:
        """A running job with activeDeadlineSeconds is looked at again when its deadline passes."""
        started = parse_time(status.get("startTime"))
        if spec.active_deadline_seconds is None or started is None or status.get("conditions"):
            return
        remaining = spec.active_deadline_seconds - (datetime.now(UTC) - started).total_seconds()
        self.queue.add_after(key_of(job), max(0.0, remaining) + 0.05)

    def _expire(self, job: Obj, spec: JobSpec) -> None:
        """A finished job with ttlSecondsAfterFinished is deleted (with its pods) once that much time passed."""
        if spec.ttl_seconds_after_finished is None:
            return
        conditions = (job.get("status") or {}).get("conditions") or []
        finished = max(
            (t for c in conditions if c.get("type") in FINISHED and (t := parse_time(c.get("lastTransitionTime")))),
            default=None,
        )
        if finished is None:
            return
        remaining = spec.ttl_seconds_after_finished - (datetime.now(UTC) - finished).total_seconds()
        if remaining > 0:
            self.queue.add_after(key_of(job), remaining + 0.05)
            return
        with contextlib.suppress(NotFound):
            self.store.delete("Job", job["metadata"]["namespace"], job["metadata"]["name"])
