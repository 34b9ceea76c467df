"""Episodes played on Ray actors: one lane per actor, each holding one unit of the ``remedlab_lane``
resource (so a node runs at most as many lanes as it advertises) and a remedlab server of its own.

The driver keeps the plan and ``results.jsonl``: it appends each result as it arrives and writes the
episode's files into the run's directory. An episode whose lane died (its worker or node was lost) is
queued again and its record counts how often (``requeued``)."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remedlab.agents.server_api import AgentApi, AgentApiError
from remedlab.bench.admin_api import AdminApi
from remedlab.bench.episode import EpisodeSettings, run_episode
from remedlab.bench.lane_server import LaneServer
from remedlab.bench.plan import EpisodeSpec
from remedlab.bench.results import append_result, episode_dir, read_results, read_run
from remedlab.bench.runner import RunRequest, plan_run, prepare, settings_of

LANE_RESOURCE = "remedlab_lane"
REQUEUE_FILE = "requeued.log"
INSTALL_HINT = "the ray executor needs Ray: pip install remedlab[ray]"
MAX_RESTARTS = 3


class RayUnavailable(RuntimeError):
    """Ray is not installed, or no cluster could be reached; the message says what to do."""


class LaneError(RuntimeError):
    """An episode failed on its lane, or every lane is gone; the run stops (``--resume`` continues it)."""


@dataclass(frozen=True)
class EpisodeOutcome:
    """What a lane sends back: the result record and the episode folder's files (path from the run's
    directory, base64 content)."""

    record: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)


class LaneWorker:
    """A Ray actor's state: its own server, the namespaces it has prepared, a local run folder."""

    def __init__(self) -> None:
        self.server = LaneServer()
        self.admin = AdminApi(self.server.url, self.server.token("admin"), timeout=60.0)
        self.agent_api = AgentApi(self.server.url, self.server.token("agent"))
        self.out = self.server.home / "run"
        self.prepared: set[str] = set()
        self.settings: EpisodeSettings | None = None

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def pid(self) -> int:
        return os.getpid()

    def plan(self, request: RunRequest, settings: EpisodeSettings) -> dict[str, Any]:
        return plan_run(self.admin, request, settings)

    def play(self, run: dict[str, Any], entry: dict[str, Any]) -> EpisodeOutcome:
        spec = EpisodeSpec.from_dict(entry, run.get("task", "mitigation"))
        if self.settings is None:
            self.settings = settings_of(run)
        if spec.namespace not in self.prepared:
            prepare(self.admin, run, spec.namespace, self.settings)
            self.prepared.add(spec.namespace)
        folder = episode_dir(self.out, spec.index, spec.fault, spec.target)
        record = run_episode(self.admin, self.agent_api, spec, self.settings, folder)
        record["node_id"] = self.node_id()
        files = {
            str(path.relative_to(self.out)): base64.b64encode(path.read_bytes()).decode()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        shutil.rmtree(folder, ignore_errors=True)
        return EpisodeOutcome(record, files)

    def close(self) -> None:
        for namespace in self.prepared:
            with contextlib.suppress(AgentApiError):
                self.admin.stop_workload(namespace)
        self.server.stop()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(INSTALL_HINT) from None
    return ray


def require_ray() -> None:
    _ray()


class RayLanes:
    """The lane actors of one run, on a Ray cluster (``address``) or on a local one it starts."""

    def __init__(self, lanes: int, address: str | None = None) -> None:
        ray = self.ray = _ray()
        if not ray.is_initialized():
            if address:
                try:
                    ray.init(address=address, logging_level="WARNING", log_to_driver=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    raise RayUnavailable(f"cannot reach the Ray cluster at {address}: {first}") from None
            else:  # a new local instance, never another cluster found on this host
                ray.init(
                    address="local",
                    resources={LANE_RESOURCE: lanes},
                    logging_level="WARNING",
                    log_to_driver=False,
                    include_dashboard=False,
                )
        available = float(ray.cluster_resources().get(LANE_RESOURCE, 0))
        if available < 1:
            raise RayUnavailable(
                f"no Ray node advertises {LANE_RESOURCE}: start nodes with "
                f"ray start --resources '{{\"{LANE_RESOURCE}\": N}}'"
            )
        actor = ray.remote(LaneWorker).options(
            resources={LANE_RESOURCE: 1}, num_cpus=0, max_restarts=MAX_RESTARTS, max_task_retries=0
        )
        self.actors: list[Any] = [actor.remote() for _ in range(min(lanes, int(available)))]

    def plan(self, request: RunRequest, settings: EpisodeSettings) -> dict[str, Any]:
        return dict(self.ray.get(self.actors[0].plan.remote(request, settings)))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ray.get([a.close.remote() for a in self.actors], timeout=60)
        for a in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(a)


def write_outcome(out: Path, outcome: EpisodeOutcome) -> None:
    """The episode's files in the run's directory (an earlier try's replaced), then its result line."""
    record = outcome.record
    folder = episode_dir(out, int(record["index"]), str(record["fault"]), str(record["target"]))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in outcome.files.items():
        target = (out / name).resolve()
        if not target.is_relative_to(out.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(content))
    append_result(out, record)


def note_requeue(out: Path, index: int, reason: str) -> None:
    with (out / REQUEUE_FILE).open("a", encoding="utf-8") as log:
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} episode {index} requeued: {reason}\n")


def run_plan_on_ray(
    lanes: RayLanes,
    out: Path,
    on_episode: Callable[[EpisodeSpec, dict[str, Any] | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Play every planned episode without a result on the lanes; all results, in plan order."""
    ray = lanes.ray
    run = read_run(out)
    task = run.get("task", "mitigation")
    done = {int(r["index"]) for r in read_results(out)}
    queue = deque(e for e in run["plan"] if int(e["index"]) not in done)
    requeued = requeue_counts(out)
    idle = list(lanes.actors)
    running: dict[Any, tuple[Any, dict[str, Any]]] = {}
    while queue or running:
        while queue and idle:
            actor, entry = idle.pop(0), queue.popleft()
            if on_episode is not None:
                on_episode(EpisodeSpec.from_dict(entry, task), None)
            running[actor.play.remote(run, entry)] = (actor, entry)
        if not running:
            raise LaneError("every Ray lane died: the run stops; continue it later with --resume")
        (ref,), _ = ray.wait(list(running), num_returns=1)
        actor, entry = running.pop(ref)
        index = int(entry["index"])
        try:
            outcome: EpisodeOutcome = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            requeued[index] = requeued.get(index, 0) + 1
            note_requeue(out, index, _first_line(exc))
            queue.appendleft(entry)
            if _lane_alive(ray, actor):
                idle.append(actor)
            continue
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if exc.cause is not None else exc
            raise LaneError(f"episode {index} failed on its lane: {_first_line(cause)}") from None
        record = {**outcome.record, "requeued": requeued.get(index, 0)}
        write_outcome(out, EpisodeOutcome(record, outcome.files))
        if on_episode is not None:
            on_episode(EpisodeSpec.from_dict(entry, task), record)
        idle.append(actor)
    return sorted(read_results(out), key=lambda r: int(r["index"]))


def _first_line(exc: BaseException) -> str:
    """The exception's type and the first line of what it says."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def requeue_counts(out: Path) -> dict[int, int]:
    """How often each episode was queued again, from the run's requeue log (earlier drivers' too)."""
    counts: dict[int, int] = {}
    path = out / REQUEUE_FILE
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) >= 3 and words[1] == "episode" and words[2].isdigit():
                counts[int(words[2])] = counts.get(int(words[2]), 0) + 1
    return counts


def _lane_alive(ray: Any, actor: Any, timeout: float = 180.0) -> bool:
    """True when the actor answers again (restarted after its worker died), False when it is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ray.get(actor.pid.remote(), timeout=60)
        except ray.exceptions.ActorUnavailableError:  # restarting: ask again
            time.sleep(1)
            continue
        except Exception:  # a lane that cannot answer is dropped
            return False
        return True
    return False
