"""The chaos controller: turns chaos resources into injected faults, and recovers them.

It works like Chaos Mesh's controller: a new resource selects its pods (mode
and value), injects into each selected pod instance and records it in
`status.experiment.containerRecords`; when `duration` runs out, or the
resource is deleted, it recovers exactly what it changed. Faults are bound to
pod instances (by uid): a pod created later is never touched.

It follows a watch of the chaos kinds and of pods (Backend.watch): each
resource is a key on a work queue, synced once per change; a change of a pod
it injected into brings it back (a fault lost with a restarted container is
injected again; a pod gone is recorded so). `duration` ends on a timer, and a
running experiment's faults are checked every FAULT_CHECK_SECONDS, since a
fault process can end without any object changing. A sync that fails is
logged, recorded as a Warning Event on the resource and retried with back-off;
a failed injection also shows in the resource's `Failed` condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any, Literal

from remedlab.api.client import Backend, Watch, WatchEvent
from remedlab.api.durations import parse_duration, parse_percent, parse_rate, parse_size
from remedlab.api.errors import ClusterError, NotFound
from remedlab.api.events import event_key, new_event, repeated
from remedlab.api.fault_runtime import FaultHandle, FaultRuntime, HttpParams, IoParams, NetworkParams, StressParams
from remedlab.api.kinds import BY_KIND
from remedlab.api.quantity import memory_bytes
from remedlab.chaos.functional.registry import ACTIONS
from remedlab.chaos.selection import candidate_pods, choose
from remedlab.chaos.spec import CHAOS_MODELS
from remedlab.cluster.controllers.queue_controller import QueueController

log = logging.getLogger(__name__)

FINALIZER = "chaos.remedlab.io/records"
PAUSE_IMAGE = "remedlab/pause:3.9"
ORIGINAL_IMAGES = "chaos.remedlab.io/original-images"
COMPONENT = "chaos-controller-manager"
FAULT_CHECK_SECONDS = 10.0
"""How often a running experiment checks that its injected faults are still in effect."""
REWATCH_SECONDS = 1.0
"""How soon a watch that ended is opened again."""
REINJECTED = ("stress", "network", "http", "io")
"""The mechanisms whose faults are injected again into their pod when they are lost."""

Obj = dict[str, Any]
ChaosKey = tuple[str, str, str]
"""(kind, namespace, name) of a chaos resource."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _elapsed(since: str | None) -> float:
    if not since:
        return 0.0
    start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    return (datetime.now(UTC) - start).total_seconds()


def _key(obj: Obj) -> ChaosKey:
    meta = obj["metadata"]
    return (str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))


def _record_pods(obj: Obj) -> set[str]:
    records = ((obj.get("status") or {}).get("experiment") or {}).get("containerRecords") or []
    return {str(r["podUID"]) for r in records if r.get("podUID")}


def _container_running(pod: Obj, record: Obj) -> bool:
    """Whether the container a record names (any container, for a pod-wide record) runs, as the pod's
    status says."""
    parts = str(record["id"]).split("/")
    container = parts[2] if len(parts) > 2 else None
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if (container is None or status.get("name") == container) and "running" in (status.get("state") or {}):
            return True
    return False


class BackendEvents:
    """Kubernetes Events recorded through a backend, repeats folded into a count."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def record(
        self,
        obj: Obj,
        reason: str,
        message: str,
        type_: Literal["Normal", "Warning"] = "Normal",
        component: str = COMPONENT,
        field_path: str | None = None,
    ) -> None:
        namespace, name = event_key(obj, reason, message, field_path)
        now = _now()
        try:
            existing = self.backend.get("events", namespace, name)
        except NotFound:
            self.backend.create(new_event(obj, reason, message, type_, {"component": component}, now, field_path))
            return
        self.backend.replace(repeated(existing, now))


class ChaosController(QueueController[ChaosKey]):
    def __init__(self, backend: Backend, runtime: FaultRuntime | None) -> None:
        super().__init__(COMPONENT, BackendEvents(backend))
        self.backend = backend
        self.runtime = runtime
        self.handles: dict[tuple[str, str], list[FaultHandle]] = {}
        self._pods_of: dict[ChaosKey, set[str]] = {}
        self._experiments_of: dict[str, set[ChaosKey]] = {}
        self._watch: Watch | None = None
        self._follow_task: asyncio.Task[None] | None = None
        self.kinds: frozenset[str] = frozenset()
        """The chaos kinds this controller carries out: the backend's (the cluster carries the others out)."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.kinds = self.backend.chaos_kinds()
        if not self.kinds:
            return  # another system (Chaos Mesh) carries the faults out
        self._follow_task = asyncio.create_task(self._follow(), name="chaos-watch")
        super().start()

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.close()
        if self._follow_task is not None:
            self._follow_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow_task
            self._follow_task = None
        await super().stop()
        if self.runtime is not None:
            await self.runtime.recover_all()
        self.handles.clear()

    async def _follow(self) -> None:
        """Queue the chaos resources as they and the pods they injected into change."""
        resources = [BY_KIND[kind].plural for kind in sorted(self.kinds)] + ["pods"]
        while True:
            try:
                self._watch = self.backend.watch(resources)
                async for event in self._watch:
                    self._on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("chaos controller: the watch failed, watching again: %s: %s", type(exc).__name__, exc)
            finally:
                if self._watch is not None:
                    self._watch.close()
            await asyncio.sleep(REWATCH_SECONDS)

    def _on_event(self, event: WatchEvent) -> None:
        obj = event.object
        if obj["kind"] == "Pod":
            for key in self._experiments_of.get(obj["metadata"]["uid"], ()):
                self.queue.add(key)
            return
        key = _key(obj)
        self._index(key, set() if event.type == "DELETED" else _record_pods(obj))
        if event.type != "DELETED":
            self.queue.add(key)

    def _index(self, key: ChaosKey, pods: set[str]) -> None:
        """Remember which pod instances a resource injected into: their changes bring it back."""
        for uid in self._pods_of.pop(key, set()) - pods:
            keys = self._experiments_of.get(uid)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._experiments_of[uid]
        if pods:
            self._pods_of[key] = pods
            for uid in pods:
                self._experiments_of.setdefault(uid, set()).add(key)

    def involved_object(self, key: ChaosKey) -> Obj | None:
        kind, namespace, name = key
        try:
            return self.backend.get(BY_KIND[kind].plural, namespace, name)
        except NotFound:
            return None

    # ------------------------------------------------------------------ one resource

    async def sync(self, key: ChaosKey) -> None:
        obj = self.involved_object(key)
        if obj is None:
            self._index(key, set())
            return
        experiment = (obj.get("status") or {}).get("experiment") or {}
        running = experiment.get("desiredPhase") == "Run" and not obj["metadata"].get("deletionTimestamp")
        try:
            await self._sync(key, obj)
        except Exception as exc:
            if not running:  # a fault that could not be injected (or recovered) fails the experiment
                self._set_failed(obj, exc.message if isinstance(exc, ClusterError) else f"{type(exc).__name__}: {exc}")
            raise

    async def _sync(self, key: ChaosKey, obj: Obj) -> None:
        meta = obj["metadata"]
        status = copy.deepcopy(obj.get("status") or {})
        experiment = status.get("experiment") or {}
        if meta.get("deletionTimestamp"):
            await self._recover(obj, status)
            self._release(obj)
            return
        if not experiment:
            await self._inject(obj)
            return
        if experiment.get("desiredPhase") != "Run":
            return
        left: float | None = None
        duration = obj["spec"].get("duration")
        if duration:
            left = parse_duration(duration) - _elapsed(status.get("startTime"))
            if left <= 0:
                await self._recover(obj, status)
                status = copy.deepcopy(self._fresh(obj).get("status") or status)
                status["experiment"]["desiredPhase"] = "Stop"
                self._write_status(obj, status)
                return
        await self._reinject_lost(obj, status)
        checks = [left] if left is not None else []
        records = status["experiment"].get("containerRecords") or []
        if any(r.get("phase") == "Injected" and r.get("mechanism") in REINJECTED for r in records):
            checks.append(FAULT_CHECK_SECONDS)
        if checks:
            self.queue.add_after(key, min(checks))

    def _fresh(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return self.backend.get(BY_KIND[obj["kind"]].plural, meta["namespace"], meta["name"])

    def _write_status(self, obj: Obj, status: Obj) -> None:
        meta = obj["metadata"]
        with contextlib.suppress(NotFound):
            self.backend.update_status(BY_KIND[obj["kind"]].plural, meta["namespace"], meta["name"], status)

    def _set_failed(self, obj: Obj, message: str) -> None:
        status = copy.deepcopy(obj.get("status") or {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Failed"]
        conditions.append({"type": "Failed", "status": "True", "reason": "InjectionFailed", "message": message})
        status["conditions"] = conditions
        status.setdefault("experiment", {"desiredPhase": "Stop", "containerRecords": []})
        self._write_status(obj, status)

    def _add_finalizer(self, obj: Obj) -> None:
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            self.backend.patch(
                BY_KIND[obj["kind"]].plural,
                meta["namespace"],
                meta["name"],
                "merge",
                {"metadata": {"finalizers": [*finalizers, FINALIZER]}},
            )

    def _release(self, obj: Obj) -> None:
        meta = obj["metadata"]
        plural = BY_KIND[obj["kind"]].plural
        finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
        with contextlib.suppress(NotFound):
            self.backend.patch(
                plural, meta["namespace"], meta["name"], "merge", {"metadata": {"finalizers": finalizers}}
            )
            self.backend.delete(plural, meta["namespace"], meta["name"])
        self.handles.pop((meta["uid"], ""), None)

    # ------------------------------------------------------------------ inject

    async def _inject(self, obj: Obj) -> None:
        meta = obj["metadata"]
        spec = obj["spec"]
        seed = (meta.get("annotations") or {}).get("chaos.remedlab.io/seed")
        rng = random.Random(int(seed) if seed and seed.isdigit() else None)
        if obj["kind"] == "FunctionalChaos":
            pods: list[Obj] = []
        else:
            pods = choose(
                candidate_pods(self.backend, spec.get("selector") or {}, meta["namespace"]),
                spec.get("mode", "one"),
                spec.get("value"),
                rng,
            )
            if not pods:
                raise NotFound("no pod is selected by this experiment's selector")
        self._add_finalizer(obj)
        records: list[Obj] = []
        start = _now()
        if obj["kind"] == "FunctionalChaos":
            records.append(await ACTIONS[spec["action"]].inject(self.backend, obj))
        for pod in pods:
            for record in await self._inject_pod(obj, pod):
                records.append(record)
        status = {
            "conditions": [
                {"type": "Selected", "status": "True"},
                {"type": "AllInjected", "status": "True"},
                {"type": "AllRecovered", "status": "False"},
            ],
            "experiment": {"desiredPhase": "Run", "containerRecords": records},
            "startTime": start,
        }
        self._write_status(obj, status)

    def _record(self, obj: Obj, pod: Obj, container: str | None, handle: FaultHandle | None, **extra: Any) -> Obj:
        pod_meta = pod["metadata"]
        record = {
            "id": f"{pod_meta['namespace']}/{pod_meta['name']}" + (f"/{container}" if container else ""),
            "podUID": pod_meta["uid"],
            "phase": "Injected",
            "injectedCount": 1,
            "recoveredCount": 0,
            "injectedAt": time.time(),
        }
        if handle is not None:
            record["mechanism"] = handle.mechanism
            record["fidelity"] = handle.level
            record["detail"] = handle.detail
            self.handles.setdefault((obj["metadata"]["uid"], record["id"]), []).append(handle)
        record.update(extra)
        return record

    def _containers(self, obj: Obj, pod: Obj) -> list[str | None]:
        names = obj["spec"].get("containerNames") or []
        present = [c["name"] for c in pod["spec"].get("containers") or []]
        chosen = [n for n in names if n in present]
        if names and not chosen:
            raise NotFound(f"pod {pod['metadata']['name']} has none of the containers {', '.join(names)}")
        return list(chosen) if chosen else [present[0] if present else None]

    async def _inject_pod(self, obj: Obj, pod: Obj) -> list[Obj]:
        assert self.runtime is not None
        kind = obj["kind"]
        spec = obj["spec"]
        uid = pod["metadata"]["uid"]
        if kind == "StressChaos":
            params = _stress_params(spec, pod)
            out = []
            for container in self._containers(obj, pod):
                handle = await self.runtime.stress(uid, container, params)
                out.append(self._record(obj, pod, container, handle))
            return out
        if kind == "NetworkChaos":
            handle = await self.runtime.network(uid, self._network_params(obj))
            return [self._record(obj, pod, None, handle)]
        if kind == "HTTPChaos":
            handle = await self.runtime.http(uid, _http_params(spec))
            return [self._record(obj, pod, None, handle)]
        if kind == "IOChaos":
            out = []
            for container in self._containers(obj, pod):
                handle = await self.runtime.io(uid, container, _io_params(spec))
                out.append(self._record(obj, pod, container, handle))
            return out
        if kind == "TimeChaos":
            out = []
            for container in self._containers(obj, pod):
                handle = await self.runtime.time_offset(uid, container, parse_duration(spec["timeOffset"]))
                out.append(self._record(obj, pod, container, handle))
            return out
        if kind == "PodChaos":
            return self._pod_chaos(obj, pod)
        raise NotFound(f"kind {kind} has no injector")

    def _pod_chaos(self, obj: Obj, pod: Obj) -> list[Obj]:
        assert self.runtime is not None
        action = obj["spec"]["action"]
        meta = pod["metadata"]
        if action == "pod-kill":
            self.backend.delete("pods", meta["namespace"], meta["name"], int(obj["spec"].get("gracePeriod", 0)))
            return [self._record(obj, pod, None, None, mechanism="pod-kill", phase="Injected")]
        if action == "container-kill":
            out = []
            for container in self._containers(obj, pod):
                killed = self.runtime.kill_container(meta["uid"], container)
                out.append(self._record(obj, pod, killed, None, mechanism="container-kill"))
            return out
        # pod-failure: the containers' images become a pause image that never serves
        names = obj["spec"].get("containerNames") or []
        original = {c["name"]: c["image"] for c in pod["spec"]["containers"] if not names or c["name"] in names}
        patch = {
            "metadata": {"annotations": {ORIGINAL_IMAGES: ",".join(f"{k}={v}" for k, v in original.items())}},
            "spec": {"containers": [{"name": name, "image": PAUSE_IMAGE} for name in original]},
        }
        self.backend.patch("pods", meta["namespace"], meta["name"], "strategic", patch)
        return [self._record(obj, pod, None, None, mechanism="pod-failure", originalImages=original)]

    def _network_params(self, obj: Obj) -> NetworkParams:
        spec = obj["spec"]
        action = spec["action"]
        peers: frozenset[str] = frozenset()
        target = spec.get("target")
        if target:
            chosen = choose(
                candidate_pods(self.backend, target.get("selector") or {}, obj["metadata"]["namespace"]),
                target.get("mode", "all"),
                target.get("value"),
                random.Random(),
            )
            peers = frozenset(p["metadata"]["uid"] for p in chosen)
        direction = spec.get("direction", "to")
        common: dict[str, Any] = {"action": action, "direction": direction, "peers": peers}
        if action == "delay":
            delay = spec["delay"]
            return NetworkParams(
                latency_s=parse_duration(delay["latency"]),
                jitter_s=parse_duration(delay.get("jitter", "0ms")),
                correlation=parse_percent(delay.get("correlation", "0")),
                **common,
            )
        if action in ("loss", "corrupt", "duplicate"):
            block = spec[action]
            return NetworkParams(
                percent=parse_percent(block[action]),
                correlation=parse_percent(block.get("correlation", "0")),
                **common,
            )
        if action == "bandwidth":
            bw = spec["bandwidth"]
            return NetworkParams(
                rate_bytes_per_s=parse_rate(bw["rate"]),
                limit_bytes=int(bw.get("limit", 20971520)),
                buffer_bytes=int(bw.get("buffer", 10000)),
                **common,
            )
        return NetworkParams(**common)

    # ------------------------------------------------------------------ recover

    async def _reinject_lost(self, obj: Obj, status: Obj) -> None:
        """After a server restart the runtime forgot its faults: put them back on the same pod instances."""
        if self.runtime is None:
            return  # nothing of this experiment lives in a runtime here
        records = status["experiment"].get("containerRecords") or []
        changed = False
        for record in records:
            if record.get("phase") != "Injected" or record.get("mechanism") not in REINJECTED:
                continue
            key = (obj["metadata"]["uid"], record["id"])
            live = [h for h in self.handles.get(key, []) if self.runtime.active(h)]
            if live:
                continue
            pod = self._pod_by_uid(record.get("podUID", ""), record["id"].split("/")[0])
            if pod is None:
                record["phase"] = "NotInjected"
                record["message"] = "the pod instance is gone"
                changed = True
                continue
            if not _container_running(pod, record):
                continue  # the container is restarting: its pod's next change brings the experiment back
            self.handles.pop(key, None)
            await self._inject_pod_record(obj, pod, record)
            record["injectedCount"] = int(record.get("injectedCount", 1)) + 1
            changed = True
        if changed:
            self._write_status(obj, status)

    async def _inject_pod_record(self, obj: Obj, pod: Obj, record: Obj) -> None:
        fresh = await self._inject_pod(obj, pod)
        for new in fresh:
            if new["id"] == record["id"]:
                record["detail"] = new.get("detail", record.get("detail"))

    def _pod_by_uid(self, uid: str, namespace: str) -> Obj | None:
        for pod in self.backend.list_objects("pods", namespace):
            if pod["metadata"]["uid"] == uid and not pod["metadata"].get("deletionTimestamp"):
                return pod
        return None

    async def _recover(self, obj: Obj, status: Obj) -> None:
        experiment = status.get("experiment") or {}
        records = experiment.get("containerRecords") or []
        for record in records:
            if record.get("phase") != "Injected":
                continue
            key = (obj["metadata"]["uid"], record["id"])
            for handle in self.handles.pop(key, []):
                if self.runtime is not None:
                    await self.runtime.recover(handle)
            mechanism = record.get("mechanism")
            if mechanism == "pod-failure":
                self._recover_pod_failure(record)
            elif mechanism in ACTIONS:
                await ACTIONS[mechanism].recover(self.backend, obj, record)
            record["phase"] = "NotInjected"
            record["recoveredCount"] = int(record.get("recoveredCount", 0)) + 1
        status["conditions"] = [
            {"type": "Selected", "status": "True"},
            {"type": "AllInjected", "status": "False"},
            {"type": "AllRecovered", "status": "True"},
        ]
        if experiment:
            experiment["desiredPhase"] = "Stop"
        status["endTime"] = _now()
        self._write_status(obj, status)

    def _recover_pod_failure(self, record: Obj) -> None:
        namespace, name = record["id"].split("/")[:2]
        pod = self._pod_by_uid(record.get("podUID", ""), namespace)
        if pod is None:
            return  # deleted and recreated: the new instance is clean
        original = record.get("originalImages") or {}
        patch = {
            "metadata": {"annotations": {ORIGINAL_IMAGES: None}},
            "spec": {"containers": [{"name": k, "image": v} for k, v in original.items()]},
        }
        self.backend.patch("pods", namespace, name, "strategic", patch)


def _stress_params(spec: Obj, pod: Obj) -> StressParams:
    stressors = spec.get("stressors") or {}
    cpu = stressors.get("cpu") or {}
    memory = stressors.get("memory") or {}
    mem_bytes = 0
    if memory:
        size = str(memory.get("size", "256MiB"))
        if size.endswith("%"):
            limit = (pod["spec"]["containers"][0].get("resources") or {}).get("limits", {}).get("memory")
            base = memory_bytes(limit) if limit else 512 * 2**20
            mem_bytes = int(base * parse_percent(size) / 100)
        else:
            mem_bytes = parse_size(size)
    return StressParams(
        cpu_workers=int(cpu.get("workers", 0)),
        cpu_load=int(cpu.get("load", 100)),
        memory_workers=int(memory.get("workers", 1)) if memory else 0,
        memory_bytes=mem_bytes,
        stressng=spec.get("stressngStressors"),
    )


def _http_params(spec: Obj) -> HttpParams:
    return HttpParams(
        port=int(spec["port"]),
        target=spec.get("target", "Request"),
        path=spec.get("path", "*"),
        method=spec.get("method"),
        abort=bool(spec.get("abort")),
        delay_s=parse_duration(spec["delay"]) if spec.get("delay") else 0.0,
    )


def _io_params(spec: Obj) -> IoParams:
    fault: Obj = {"action": spec["action"], "percent": int(spec.get("percent", 100))}
    if spec.get("path"):
        fault["path"] = spec["path"]
    if spec.get("methods"):
        fault["methods"] = list(spec["methods"])
    if spec.get("delay"):
        fault["delay"] = spec["delay"]
    if spec.get("errno") is not None:
        fault["errno"] = int(spec["errno"])
    if spec.get("attr"):
        fault["attr"] = spec["attr"]
    return IoParams(volume_path=spec["volumePath"], faults=(fault,))


def register_validators() -> None:
    """Teach the cluster to validate the chaos kinds (a CRD's schema, in Kubernetes terms)."""
    from remedlab.cluster.apiserver.validation import register_kind_model

    for kind, model in CHAOS_MODELS.items():
        register_kind_model(kind, model)
