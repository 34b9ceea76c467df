"""What a pod's own mount namespace adds to its start-up (as root).

Per pod: setting up the namespaces (the holder's fork, the new root, private /tmp and /dev/shm, the
runtime exposed, resolv.conf and hosts, two volumes, one of them at a mount point missing from the
host) and making the volume directories shared mount points; per process: joining the namespaces in
the pre-exec step, against the same start without. With ``--live``, a real server started twice
(REMEDLAB_POD_NAMESPACES on and off) starts the same pods through the API: the wall time from
creating them to all Ready, per pod. Prints a table; the goal is at most 20 ms per pod.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.server_harness import ServerProcess

from remedlab.cluster.node.isolation.mount_namespace import SWITCH_ENV, namespaces_unavailable, runtime_paths
from remedlab.cluster.node.isolation.pod_filesystem import PodFilesystem, VolumeMount
from remedlab.cluster.node.pod_dns import write_pod_dns_files
from remedlab.cluster.node.pod_namespace import PodNamespace
from remedlab.cluster.node.volume_mounts import share
from remedlab.mounts import unmount_all

GOAL_MS = 20.0


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def pod_set_up(home: Path, pods: int) -> tuple[list[float], list[float]]:
    """(namespace set-up, volume sharing) per pod, in seconds."""
    namespaces: list[float] = []
    sharing: list[float] = []
    exposed = runtime_paths()
    for i in range(pods):
        pod_dir = home / "pods" / str(i)
        files = write_pod_dns_files(pod_dir, f"127.81.0.{i % 250 + 1}", f"pod-{i}", "bench", {}, None)
        volumes = [pod_dir / "volumes" / "logs", pod_dir / "volumes" / "data"]
        started = time.perf_counter()
        for volume in volumes:
            volume.mkdir(parents=True)
            share(volume)
        sharing.append(time.perf_counter() - started)
        plan = PodFilesystem(
            staging=str(pod_dir / "rootfs"),
            hostname=f"pod-{i}",
            volumes=(VolumeMount("/var/log/mysql", str(volumes[0])), VolumeMount("/data", str(volumes[1]))),
            files=(
                VolumeMount("/etc/resolv.conf", str(files.resolv_conf)),
                VolumeMount("/etc/hosts", str(files.hosts)),
            ),
            exposed=(*exposed, str(pod_dir)),
            run_as=None,
        )
        started = time.perf_counter()
        ns = PodNamespace.create(f"bench-{i}", plan)
        namespaces.append(time.perf_counter() - started)
        ns.close()
        unmount_all(pod_dir)
    return namespaces, sharing


def process_start(preexec: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["/bin/true"], preexec_fn=preexec, check=True)
        times.append(time.perf_counter() - started)
    return times


def _pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"bench-{i}", "namespace": "default"},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "command": ["sleep", "3600"],
                    "volumeMounts": [{"name": "logs", "mountPath": "/var/log/mysql"}],
                }
            ],
            "volumes": [{"name": "logs", "emptyDir": {}}],
        },
    }


def live(pods: int, namespaces: bool) -> float:
    """Seconds per pod from creating `pods` pods to all Ready, on a fresh server."""
    os.environ[SWITCH_ENV] = "on" if namespaces else "off"
    server = ServerProcess()
    try:
        server.start()
        started = time.perf_counter()
        server.apply(*[_pod(i) for i in range(pods)])

        def ready() -> bool:
            items = server.pods("default")
            return len(items) == pods and all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
                for p in items
            )

        server.wait_for(ready, timeout=120, interval=0.02, what="pods ready")
        return (time.perf_counter() - started) / pods
    finally:
        server.cleanup()
        os.environ.pop(SWITCH_ENV, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--live", action="store_true", help="also start pods on a real server, with and without")
    parser.add_argument("--live-pods", type=int, default=10)
    args = parser.parse_args()
    reason = namespaces_unavailable()
    if reason is not None:
        raise SystemExit(f"pod namespace benchmark: no mount namespaces here ({reason})")
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        set_up, sharing = pod_set_up(Path(tmp), args.pods)
        per_pod = _ms(set_up) + _ms(sharing)
        rows.append(("namespace set-up (holder, root, mounts)", _ms(set_up), f"p95 {_p95(set_up):.2f} ms"))
        rows.append(("two volumes made shared mount points", _ms(sharing), "on the host"))
        rows.append(("added per pod", per_pod, "goal <= 20 ms: " + ("met" if per_pod <= GOAL_MS else "MISSED")))
        pod_dir = Path(tmp) / "join"
        plan = PodFilesystem(staging=str(pod_dir / "rootfs"), hostname="join", exposed=runtime_paths())
        ns = PodNamespace.create("join", plan)
        try:
            plain = process_start(lambda: None, 200)
            joined = process_start(ns.entry("/", "/"), 200)
        finally:
            ns.close()
        rows.append(("process start, fork + exec", _ms(plain), "/bin/true, median"))
        rows.append(("process start, joining the namespaces", _ms(joined), f"+{_ms(joined) - _ms(plain):.3f} ms"))
    if args.live:
        without = live(args.live_pods, namespaces=False)
        with_ns = live(args.live_pods, namespaces=True)
        rows.append(("live: pod start without namespaces", without * 1e3, f"{args.live_pods} pods, creation to Ready"))
        rows.append(("live: pod start with namespaces", with_ns * 1e3, f"+{(with_ns - without) * 1e3:.1f} ms per pod"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'ms':>8}  note")
    for label, ms, what in rows:
        print(f"{label:<{width}}  {ms:>8.3f}  {what}")
    print(f"({args.pods} pods set up one after another)")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1e3


if __name__ == "__main__":
    main()
