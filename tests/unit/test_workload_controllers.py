"""The StatefulSet, DaemonSet and Job controllers on a real store and informers, without a kubelet: the
test plays the kubelet, making pods Running and Ready, or ending them."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from remedlab.api.kinds import Obj
from remedlab.api.times import now_iso
from remedlab.cluster.controllers.daemonset_controller import DaemonSetController
from remedlab.cluster.controllers.garbage_collector import GarbageCollector
from remedlab.cluster.controllers.job_controller import JobController
from remedlab.cluster.controllers.scheduler import Scheduler
from remedlab.cluster.controllers.statefulset_controller import StatefulSetController
from tests.unit.controller_lab import NODE, ControllerLab, running, until

NS = "db"


class Cluster(ControllerLab):
    def __init__(self, home: Path) -> None:
        super().__init__(home, NS, {"disk": "ssd"})
        self.controllers = [
            StatefulSetController(self.informers, self.store, self.api, self.events),
            DaemonSetController(self.informers, self.store, self.api, self.events),
            JobController(self.informers, self.store, self.api, self.events, backoff_seconds=0.05),
            GarbageCollector(self.informers, self.store, self.api, self.events),
            Scheduler(self.informers, self.store, self.events, NODE),
        ]

    def pods(self) -> list[Obj]:
        return sorted(self.store.list_objects("Pod", NS), key=lambda p: p["metadata"]["name"])

    def names(self) -> list[str]:
        return [p["metadata"]["name"] for p in self.pods() if not p["metadata"].get("deletionTimestamp")]

    def get(self, kind: str, name: str) -> Obj:
        return self.store.must_get(kind, NS, name)

    def run(self, name: str, ready: bool = True) -> None:
        """Play the kubelet: the pod runs, Ready or not."""
        pod = self.get("Pod", name)
        pod["status"] = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now_iso()}],
        }
        self.store.update(pod)

    def end(self, name: str, code: int) -> None:
        """Play the kubelet: the pod's container exits with ``code``."""
        pod = self.get("Pod", name)
        pod["status"] = {
            "phase": "Succeeded" if code == 0 else "Failed",
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "busybox",
                    "state": {"terminated": {"exitCode": code, "finishedAt": now_iso()}},
                }
            ],
        }
        self.store.update(pod)

    def finish_deletions(self) -> None:
        """Play the kubelet: pods marked for deletion are gone."""
        for pod in self.pods():
            if pod["metadata"].get("deletionTimestamp"):
                self.store.delete("Pod", NS, pod["metadata"]["name"])


def cluster(home: Path) -> AbstractAsyncContextManager[Cluster]:
    return running(Cluster(home))


async def settle() -> None:
    await asyncio.sleep(0.1)


def template(name: str, image: str = "busybox", **pod: Any) -> Obj:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}], **pod},
    }


def stateful_set(name: str, replicas: int, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": template(name),
            "volumeClaimTemplates": [
                {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
            ],
            **spec,
        },
    }


def test_ordered_ready_starts_pods_one_by_one_and_stops_them_in_reverse(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(stateful_set("web", 3))
            await until(lambda: c.names() == ["web-0"], what="web-0")
            await settle()
            assert c.names() == ["web-0"], "web-1 must wait for web-0 to be Ready"
            c.run("web-0", ready=False)
            await settle()
            assert c.names() == ["web-0"]
            c.run("web-0")
            await until(lambda: c.names() == ["web-0", "web-1"], what="web-1")
            c.run("web-1")
            await until(lambda: c.names() == ["web-0", "web-1", "web-2"], what="web-2")
            c.run("web-2")
            await until(lambda: c.get("StatefulSet", "web")["status"].get("readyReplicas") == 3, what="ready")

            pod = c.get("Pod", "web-1")
            labels = pod["metadata"]["labels"]
            assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "web"
            assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
            assert labels["apps.kubernetes.io/pod-index"] == "1"
            status = c.get("StatefulSet", "web")["status"]
            assert labels["controller-revision-hash"] == status["updateRevision"] == status["currentRevision"]
            assert status["replicas"] == status["currentReplicas"] == status["updatedReplicas"] == 3
            assert status["observedGeneration"] == 1
            volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
            assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "data-web-1"
            claims = sorted(p["metadata"]["name"] for p in c.store.list_objects("PersistentVolumeClaim", NS))
            assert claims == ["data-web-0", "data-web-1", "data-web-2"]
            assert c.get("PersistentVolumeClaim", "data-web-1")["metadata"]["labels"] == {"app": "web"}
            revisions = c.store.list_objects("ControllerRevision", NS)
            assert [r["revision"] for r in revisions] == [1]
            assert revisions[0]["metadata"]["labels"]["app"] == "web"

            c.api.patch("statefulsets", NS, "web", "merge", {"spec": {"replicas": 1}})
            await until(lambda: c.names() == ["web-0", "web-1"], what="web-2 goes first")
            await settle()
            assert c.names() == ["web-0", "web-1"], "web-1 waits for web-2 to be gone"
            c.finish_deletions()
            await until(lambda: c.names() == ["web-0"], what="web-1 goes next")
            c.finish_deletions()
            claims = sorted(p["metadata"]["name"] for p in c.store.list_objects("PersistentVolumeClaim", NS))
            assert claims == ["data-web-0", "data-web-1", "data-web-2"], "claims are retained on scale down"

    asyncio.run(scenario())


def test_a_deleted_pod_comes_back_with_the_same_name_and_claim(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(stateful_set("db", 2, podManagementPolicy="Parallel"))
            await until(lambda: c.names() == ["db-0", "db-1"], what="both at once")
            uid = c.get("PersistentVolumeClaim", "data-db-1")["metadata"]["uid"]
            old = c.get("Pod", "db-1")["metadata"]["uid"]
            c.store.delete("Pod", NS, "db-1")
            await until(lambda: "db-1" in c.names() and c.get("Pod", "db-1")["metadata"]["uid"] != old, what="db-1")
            assert c.get("PersistentVolumeClaim", "data-db-1")["metadata"]["uid"] == uid

    asyncio.run(scenario())


def test_rolling_update_goes_down_from_the_highest_ordinal_to_the_partition_and_rolls_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(stateful_set("web", 3, podManagementPolicy="Parallel"))
            await until(lambda: len(c.names()) == 3, what="pods")
            for name in c.names():
                c.run(name)
            await until(lambda: c.get("StatefulSet", "web")["status"].get("readyReplicas") == 3, what="ready")
            first = c.get("StatefulSet", "web")["status"]["updateRevision"]
            c.api.patch(
                "statefulsets",
                NS,
                "web",
                "merge",
                {
                    "spec": {
                        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
                        "template": {"metadata": {"annotations": {"restartedAt": "now"}}},
                    }
                },
            )
            await until(lambda: c.get("Pod", "web-2")["metadata"].get("deletionTimestamp") is not None, what="web-2")
            assert not c.get("Pod", "web-1")["metadata"].get("deletionTimestamp"), "one pod at a time"
            c.finish_deletions()
            await until(lambda: "web-2" in c.names(), what="web-2 again")
            second = c.get("StatefulSet", "web")["status"]["updateRevision"]
            assert second != first
            assert c.get("Pod", "web-2")["metadata"]["labels"]["controller-revision-hash"] == second
            c.run("web-2")
            await until(lambda: c.get("Pod", "web-1")["metadata"].get("deletionTimestamp") is not None, what="web-1")
            c.finish_deletions()
            await until(lambda: "web-1" in c.names(), what="web-1 again")
            c.run("web-1")
            await until(lambda: c.get("StatefulSet", "web")["status"].get("updatedReplicas") == 2, what="updated")
            await settle()
            status = c.get("StatefulSet", "web")["status"]
            assert c.get("Pod", "web-0")["metadata"]["labels"]["controller-revision-hash"] == first, "below partition"
            assert status["currentRevision"] == first and status["currentReplicas"] == 1

            # kubectl rollout undo: the first revision's data patched back, renumbered as the newest
            revisions = {r["metadata"]["name"]: r for r in c.store.list_objects("ControllerRevision", NS)}
            c.api.patch("statefulsets", NS, "web", "strategic", revisions[first]["data"])
            await until(lambda: c.get("StatefulSet", "web")["status"].get("updateRevision") == first, what="undo")
            renumbered = {r["metadata"]["name"]: r["revision"] for r in c.store.list_objects("ControllerRevision", NS)}
            assert renumbered == {first: 3, second: 2}

    asyncio.run(scenario())


def test_a_daemon_set_runs_one_pod_on_the_node_and_rolls_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "metadata": {"name": "agent", "namespace": NS},
                    "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")},
                }
            )
            await until(lambda: len(c.names()) == 1, what="daemon pod")
            await until(lambda: c.pods()[0]["spec"].get("nodeName") == NODE, what="bound to the node")
            name = c.names()[0]
            c.run(name)
            await until(lambda: c.get("DaemonSet", "agent")["status"].get("numberAvailable") == 1, what="available")
            status = c.get("DaemonSet", "agent")["status"]
            assert status["desiredNumberScheduled"] == status["currentNumberScheduled"] == 1
            assert status["updatedNumberScheduled"] == status["numberReady"] == 1
            c.api.patch(
                "daemonsets", NS, "agent", "merge", {"spec": {"template": {"metadata": {"labels": {"v": "2"}}}}}
            )
            await until(lambda: c.get("Pod", name)["metadata"].get("deletionTimestamp") is not None, what="old goes")
            await until(lambda: len(c.names()) == 1 and c.names()[0] != name, what="new pod")
            c.finish_deletions()
            c.run(c.names()[0])
            await until(lambda: c.get("DaemonSet", "agent")["status"].get("numberAvailable") == 1, what="rolled")
            assert len(c.store.list_objects("ControllerRevision", NS)) == 2
            c.api.patch(
                "daemonsets", NS, "agent", "merge", {"spec": {"template": {"spec": {"nodeSelector": {"disk": "hdd"}}}}}
            )
            await until(lambda: not c.names(), what="no node qualifies")
            assert c.get("DaemonSet", "agent")["status"]["desiredNumberScheduled"] == 0

    asyncio.run(scenario())


def job(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}},
            **spec,
        },
    }


def conditions(obj: Obj) -> dict[str, str]:
    return {c["type"]: str(c.get("reason")) for c in obj["status"].get("conditions") or [] if c["status"] == "True"}


def test_a_job_runs_parallel_pods_until_its_completions(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            created = c.api.create(job("batch", completions=3, parallelism=2))
            uid = created["metadata"]["uid"]
            assert created["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            await until(lambda: len(c.names()) == 2, what="two at once")
            await settle()
            assert len(c.names()) == 2
            labels = c.pods()[0]["metadata"]["labels"]
            assert labels["batch.kubernetes.io/job-name"] == labels["job-name"] == "batch"
            assert labels["batch.kubernetes.io/controller-uid"] == labels["controller-uid"] == uid
            first = c.names()[0]
            c.end(first, 0)
            await until(lambda: len(c.names()) == 3, what="a third pod")
            await settle()
            assert len(c.names()) == 3, "only one more is needed"
            status = c.get("Job", "batch")["status"]
            assert status["succeeded"] == 1 and status["active"] == 2 and status["startTime"]
            for name in c.names():
                if name != first:
                    c.end(name, 0)
            await until(lambda: "Complete" in conditions(c.get("Job", "batch")), what="complete")
            done = c.get("Job", "batch")
            assert conditions(done) == {"SuccessCriteriaMet": "CompletionsReached", "Complete": "CompletionsReached"}
            assert done["status"]["succeeded"] == 3 and "active" not in done["status"]
            assert done["status"]["completionTime"]
            assert "Completed" in c.reasons("Job", "batch")

    asyncio.run(scenario())


def test_a_failing_job_stops_at_its_backoff_limit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(job("flaky", backoffLimit=1))
            for attempt in (1, 2):
                await until(lambda: len(c.pods()) == attempt, what=f"attempt {attempt}")  # noqa: B023
                newest = next(p for p in c.pods() if p["status"].get("phase") not in ("Failed",))
                c.end(newest["metadata"]["name"], 1)
            await until(lambda: "Failed" in conditions(c.get("Job", "flaky")), what="failed")
            failed = c.get("Job", "flaky")
            assert conditions(failed) == {"FailureTarget": "BackoffLimitExceeded", "Failed": "BackoffLimitExceeded"}
            assert failed["status"]["failed"] == 2 and "completionTime" not in failed["status"]
            await settle()
            assert len(c.pods()) == 2, "no pod after the limit"
            assert "BackoffLimitExceeded" in c.reasons("Job", "flaky")

    asyncio.run(scenario())


def test_a_job_past_its_deadline_fails_and_a_finished_job_expires(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(job("slow", activeDeadlineSeconds=1, ttlSecondsAfterFinished=1))
            # made, and maybe stopped already: a busy host may look only after the 1 s deadline
            await until(lambda: len(c.pods()) == 1, what="pod")
            await until(lambda: "FailureTarget" in conditions(c.get("Job", "slow")), timeout=5, what="deadline")
            await until(lambda: c.pods()[0]["metadata"].get("deletionTimestamp") is not None, what="pod stopped")
            c.finish_deletions()
            await until(lambda: "Failed" in conditions(c.get("Job", "slow")), what="failed")
            assert conditions(c.get("Job", "slow"))["Failed"] == "DeadlineExceeded"
            await until(lambda: c.store.get("Job", NS, "slow") is None, timeout=5, what="expired")

    asyncio.run(scenario())


def test_dependents_of_workloads_go_with_them(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as c:
            c.api.create(stateful_set("web", 1, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}))
            c.api.create(job("once"))
            await until(lambda: len(c.names()) == 2, what="pods")
            c.api.delete("statefulsets", NS, "web")
            c.api.delete("jobs", NS, "once")
            await until(lambda: all(p["metadata"].get("deletionTimestamp") for p in c.pods()), what="pods deleted")
            await until(lambda: not c.store.list_objects("ControllerRevision", NS), what="revisions deleted")
            await until(
                lambda: (
                    all(
                        p["metadata"].get("deletionTimestamp")
                        for p in c.store.list_objects("PersistentVolumeClaim", NS)
                    )
                    or not c.store.list_objects("PersistentVolumeClaim", NS)
                ),
                what="claims deleted",
            )

    asyncio.run(scenario())
