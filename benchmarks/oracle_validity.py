"""How often the oracle is wrong, and how fast it decides: for every MicroRemed fault on an app,
repeated no-op episodes (the fault left in place: a pass is a false pass), repeated correct fixes
(the documented human fix, scripted: a failure is a false failure) and healthy controls (no fault).

Each case is graded twice at once on the same system: by the sequential oracle (the default) and
by the fixed settle window alone (``sequential: false``), so the table compares the two on the same
episodes. Rates come with Wilson 95 % intervals; times to a verdict are mean and p95.

    .venv/bin/python benchmarks/oracle_validity.py --app simple-micro --reps 20
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.kubectl_harness import real_kubectl
from tests.integration.server_harness import ServerProcess, running_server

from remedlab.apps.catalog import AppInfo, get_app
from remedlab.bench.intervals import wilson
from remedlab.bench.plan import MICROREMED_FAULTS

CASES = ("no-op", "fix", "control")
ROW = "{:<17} {:<8} {:<11} {:>3} {:>6} {:>22} {:>7} {:>6}"


@dataclass
class Tally:
    verdicts: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def wrong(self, case: str) -> int:
        """False passes of no-ops; false failures of fixes and controls."""
        return sum(self.verdicts) if case == "no-op" else sum(not v for v in self.verdicts)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0


def clean_window(server: ServerProcess, namespace: str) -> dict[str, Any]:
    """The workload's last 3 s, once they are clean (after the previous case)."""
    deadline = time.monotonic() + 90
    while True:
        window = server.ok("GET", f"/v1/workloads/{namespace}?seconds=3")["window"]
        pods = server.pods(namespace)
        settled = pods and all(
            not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
            for p in pods
        )
        if settled and window["success_rate"] == 1.0 and window["requests"] > 0:
            return {"successRate": window["success_rate"], "p95Ms": window["p95_ms"]}
        if time.monotonic() > deadline:
            raise RuntimeError(f"{namespace} did not get healthy again")
        time.sleep(0.5)


def fix(server: ServerProcess, namespace: str, fault: str, target: str) -> None:
    """The documented human fix: roll back a bad configuration, else replace the target's pods."""
    # HOME: kubectl keeps its discovery cache under it (without one, in the working directory)
    env = {"KUBECONFIG": str(server.home / "kubeconfig"), "PATH": "/usr/bin:/bin", "HOME": str(server.home)}
    if fault == "pod-config-error":
        command = [real_kubectl(), "rollout", "undo", f"deployment/{target}", "-n", namespace]
    else:
        command = [real_kubectl(), "delete", "pod", "-l", f"app={target}", "-n", namespace, "--wait=false"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)


def grade_both(server: ServerProcess, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    with ThreadPoolExecutor(2) as pool:
        sequential = pool.submit(server.ok, "POST", "/v1/grade", {**body, "sequential": True}, 400)
        fixed = pool.submit(server.ok, "POST", "/v1/grade", {**body, "sequential": False}, 400)
        return sequential.result(), fixed.result()


def play(server: ServerProcess, namespace: str, fault: str, target: str, case: str, timeout: float) -> tuple[Any, Any]:
    base = clean_window(server, namespace)
    body: dict[str, Any] = {"namespace": namespace, "target": target, "baseline": base, "timeoutSeconds": timeout}
    if case == "control":
        return grade_both(server, body)
    injected = {"fault": fault, "target": target, "namespace": namespace}
    name = server.ok("POST", "/v1/chaos", injected)["metadata"]["name"]
    try:
        deadline = time.monotonic() + 30
        while not server.ok("GET", f"/v1/chaos/{namespace}/{name}")["confirm"]["observable"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{fault} on {target} did not show")
            time.sleep(0.5)
        if case == "fix":
            fix(server, namespace, fault, target)
        return grade_both(server, {**body, "chaos": name})
    finally:
        server.ok("DELETE", f"/v1/chaos/{namespace}/{name}?wait=true", timeout=120)


def play_repetition(
    server: ServerProcess, app: AppInfo, rep: int, args: argparse.Namespace, tallies: dict[tuple[str, str, str], Tally]
) -> None:
    """One repetition: for every fault, a no-op and a correct fix on a target drawn in turn, and a control."""
    for fault in args.faults:
        target = sorted(app.targets_for(fault))[rep % len(app.targets_for(fault))]
        for case in CASES:
            if case == "control" and fault != args.faults[0]:
                continue  # controls have no fault: one set per repetition
            label = "-" if case == "control" else fault
            sequential, fixed = play(server, app.namespace, fault, target, case, args.timeout)
            for oracle, verdict in (("sequential", sequential), ("fixed", fixed)):
                tally = tallies.setdefault((label, case, oracle), Tally())
                tally.verdicts.append(bool(verdict["passed"]))
                tally.seconds.append(float(verdict["seconds"]))
            print(
                f"rep {rep + 1}/{args.reps} {case:<7} {label:<17} sequential "
                f"{'pass' if sequential['passed'] else 'fail'} in {sequential['seconds']:.1f}s, fixed "
                f"{'pass' if fixed['passed'] else 'fail'} in {fixed['seconds']:.1f}s",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", default="simple-micro")
    parser.add_argument("--reps", type=int, default=20, help="repetitions of each case per fault type")
    parser.add_argument("--timeout", type=float, default=45.0, help="the grading timeout (a no-op fails after it)")
    parser.add_argument(
        "--faults",
        type=lambda text: text.split(","),
        default=list(MICROREMED_FAULTS),
        help=f"the fault types to play, comma-separated (default: all of {','.join(MICROREMED_FAULTS)})",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.faults) - set(MICROREMED_FAULTS))
    if unknown:
        parser.error(f"unknown fault types {', '.join(unknown)}: choose among {', '.join(MICROREMED_FAULTS)}")
    app = get_app(args.app)
    tallies: dict[tuple[str, str, str], Tally] = {}
    started = time.monotonic()
    done = 0
    try:
        with running_server(args.app) as server:
            server.ok("POST", "/v1/workloads", {"namespace": app.namespace, "rate": 10})
            time.sleep(3)
            for rep in range(args.reps):
                play_repetition(server, app, rep, args, tallies)
                done = rep + 1
    except KeyboardInterrupt:  # the table of the repetitions played so far
        print(f"\ninterrupted during repetition {done + 1}: the table counts every case graded until then")
    print(f"\n{args.app}: {done} of {args.reps} repetitions, {time.monotonic() - started:.0f}s in all")
    print(ROW.format("fault", "case", "oracle", "n", "wrong", "rate (95% CI)", "mean s", "p95 s"))
    for case in CASES:
        for oracle in ("sequential", "fixed"):
            rows = [(k, t) for k, t in tallies.items() if k[1] == case and k[2] == oracle]
            everything = Tally()
            for (label, _, _), tally in sorted(rows):
                everything.verdicts += tally.verdicts
                everything.seconds += tally.seconds
                _row(label, case, oracle, tally)
            if len(rows) > 1:
                _row("all", case, oracle, everything)
    fixes = [s for (_, c, o), t in tallies.items() if c == "fix" and o == "sequential" for s in t.seconds]
    fixed_fixes = [s for (_, c, o), t in tallies.items() if c == "fix" and o == "fixed" for s in t.seconds]
    if fixes:
        print(
            f"time to a verdict on correct fixes: median {statistics.median(fixes):.1f}s sequential, "
            f"{statistics.median(fixed_fixes):.1f}s with the fixed window (goals: median <= 5 s; "
            "false passes and false failures <= 1 %)"
        )


def _row(label: str, case: str, oracle: str, tally: Tally) -> None:
    n, wrong = len(tally.verdicts), tally.wrong(case)
    interval = wilson(wrong, n)
    low, high = (interval.low, interval.high) if interval else (0.0, 1.0)
    rate = f"{wrong / n:.1%} ({low:.1%}-{high:.1%})" if n else "-"
    print(
        f"{label:<17} {case:<8} {oracle:<11} {n:>3} {wrong:>6} {rate:>22} "
        f"{statistics.mean(tally.seconds):>7.1f} {p95(tally.seconds):>6.1f}"
    )


if __name__ == "__main__":
    main()
