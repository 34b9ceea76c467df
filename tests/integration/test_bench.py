"""The benchmark on a real server: the oracle never passes a no-op (every MicroRemed fault type) but
passes a real fix and a healthy control; a run is seeded, resumes after a kill without redoing or
losing an episode, and reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedlab.apps.catalog import get_app
from remedlab.bench.plan import MICROREMED_FAULTS, draw_plan, read_suite
from remedlab.bench.results import RESULTS_FILE, RUN_FILE
from tests.integration.server_harness import ServerProcess, running_server

pytestmark = pytest.mark.integration

NS = "simple-micro"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(NS) as server:
        server.ok("POST", "/v1/workloads", {"namespace": NS, "rate": 10})
        time.sleep(3)
        yield server


def baseline(server: ServerProcess) -> dict[str, Any]:
    """The workload's last 3 s once they are clean again (after an earlier fault)."""
    window = server.wait_for(
        lambda: (w := server.ok("GET", f"/v1/workloads/{NS}?seconds=3")["window"])["success_rate"] == 1.0 and w,
        timeout=30,
        interval=0.5,
        what="a clean workload window",
    )
    return {"successRate": window["success_rate"], "p95Ms": window["p95_ms"]}


def grade(server: ServerProcess, chaos: str | None, base: dict[str, Any], settle: float, timeout: float) -> Any:
    body = {
        "namespace": NS,
        "target": "time-service",
        "chaos": chaos,
        "baseline": base,
        "settleSeconds": settle,
        "timeoutSeconds": timeout,
    }
    return server.ok("POST", "/v1/grade", body, timeout=timeout + 30)


def wait_ready(server: ServerProcess) -> None:
    server.wait_for(
        lambda: all(
            not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
            for p in server.pods(NS)
        ),
        timeout=60,
        what="simple-micro Ready again",
    )


def test_a_no_op_is_never_judged_a_success(server: ServerProcess) -> None:
    for fault in MICROREMED_FAULTS:
        base = baseline(server)
        chaos = server.ok("POST", "/v1/chaos", {"fault": fault, "target": "time-service", "namespace": NS})
        name = chaos["metadata"]["name"]
        try:
            server.wait_for(
                lambda: server.ok("GET", f"/v1/chaos/{NS}/{name}")["confirm"]["observable"],  # noqa: B023
                timeout=20,
                what=f"{fault} to show",
            )
            verdict = grade(server, name, base, settle=2, timeout=4)
            assert not verdict["passed"], f"{fault}: a no-op passed: {verdict}"
            assert verdict["reasons"], verdict
        finally:
            server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)
            wait_ready(server)


def test_the_oracle_passes_a_healthy_control_and_a_real_fix(server: ServerProcess) -> None:
    base = baseline(server)
    control = grade(server, None, base, settle=15, timeout=30)
    # the workload's evidence decides before the 15 s window: at 10 req/s, a few clean seconds
    assert control["passed"] and control["decidedBy"] == "sequential", control
    assert 2 <= control["heldSeconds"] < 10 and control["evidence"]["requests"] >= 15, control
    assert control["evidence"]["statistic"] <= control["evidence"]["threshold"], control
    chaos = server.ok("POST", "/v1/chaos", {"fault": "cpu-stress", "target": "time-service", "namespace": NS})
    name = chaos["metadata"]["name"]
    try:
        (pod,) = server.pods(NS, "app=time-service")
        server.delete("pods", NS, pod["metadata"]["name"])
        verdict = grade(server, name, base, settle=3, timeout=60)
        assert verdict["passed"], verdict
    finally:
        server.ok("DELETE", f"/v1/chaos/{NS}/{name}?wait=true", timeout=90)
        wait_ready(server)


def test_grading_and_workloads_are_the_admins(server: ServerProcess) -> None:
    status, _ = server.request("POST", "/v1/grade", {"namespace": NS, "target": "time-service"}, scope="agent")
    assert status == 403
    status, _ = server.request("GET", f"/v1/workloads/{NS}", scope="agent")
    assert status == 403
    status, body = server.request("GET", "/v1/workloads/nowhere")
    assert status == 404 and "POST /v1/workloads" in body["message"]


def _results(folder: Path) -> list[dict[str, Any]]:
    path = folder / RESULTS_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_run_is_seeded_resumes_after_a_kill_and_reports(server: ServerProcess, tmp_path: Path) -> None:
    suite = tmp_path / "suite.txt"
    suite.write_text("# two episodes\npod-fail\ncpu-stress\n")
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "remedlab.cli.main", "run", "--env", NS, "--suite", str(suite),
        "--method", "baseline", "--seed", "5", "--out", str(out), "--settle", "3", "--grade-timeout", "60",
        "--quiet-seconds", "3",
    ]  # fmt: skip
    env = {**server.env, "COLUMNS": "200"}
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not _results(out):
            assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
            assert time.monotonic() < deadline, "no episode finished in time"
            time.sleep(0.2)
        while not list((out / "episodes").glob("001-*")):  # the second episode has begun
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    assert len(_results(out)) == 1
    resumed = subprocess.run(
        [sys.executable, "-m", "remedlab.cli.main", "run", "--resume", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    records = _results(out)
    assert sorted(r["index"] for r in records) == [0, 1]  # each exactly once
    run = json.loads((out / RUN_FILE).read_text())
    targets = get_app(NS).targets
    plan = draw_plan(read_suite(str(suite)), targets, NS, NS, seed=5)
    assert run["plan"] == [s.to_dict() for s in plan]  # the same seed gives the same plan
    for record in records:
        assert record["status"] == "success", record
        assert record["agent"]["ended"] == "done" and record["harness_seconds"] > 0
        assert record["metadata"]["final_status"] is True
        assert record["cleanup"]["healthy"], record["cleanup"]
    assert "success rate" in resumed.stdout and "100.0%" in resumed.stdout
    assert (out / "report.html").exists()
    report = server.cli("report", str(out), "--html")
    assert "success rate" in report and "plotly.js" in (out / "report.html").read_text()
    assert all(r["timeline"] and (out / r["timeline"]).exists() for r in records)


def test_parallel_episodes_run_in_their_own_app_instances(server: ServerProcess, tmp_path: Path) -> None:
    suite = tmp_path / "suite.txt"
    suite.write_text("cpu-stress\npod-fail\n")
    out = tmp_path / "run"
    try:
        text = server.cli(
            "run", "--env", NS, "--suite", str(suite), "--method", "baseline", "--seed", "2",
            "--parallel", "2", "--settle", "3", "--grade-timeout", "60", "--quiet-seconds", "3", "--out", str(out),
            timeout=300,
        )  # fmt: skip
        records = sorted(_results(out), key=lambda r: r["index"])
        assert [r["namespace"] for r in records] == [f"{NS}-1", f"{NS}-2"]
        for record in records:
            assert record["status"] == "success", record
            assert record["baseline"]["success_rate"] == 1.0  # the other instance's fault did not reach it
        assert json.loads((out / RUN_FILE).read_text())["parallel"] == 2
        assert re.search(r"episodes at once\s*│\s*2\s*│", text), text
    finally:
        for lane in ("1", "2"):
            server.request("DELETE", f"/v1/apps/{NS}?namespace={NS}-{lane}")


def test_a_detection_task_with_a_no_fault_control(server: ServerProcess, tmp_path: Path) -> None:
    from tests.scripted_llm import Reply, scripted_llm

    def look(_: dict[str, Any]) -> dict[str, Any]:
        return {"content": f'```\nexec_shell("kubectl get pods -n {NS}")\n```'}

    def decide(request: dict[str, Any]) -> dict[str, Any]:
        seen = str(request["messages"][-1]["content"])
        return {"content": f'```\nsubmit("{"Yes" if "0/1" in seen else "No"}")\n```'}

    suite = tmp_path / "suite.txt"
    suite.write_text("pod-fail\n")
    replies: list[Reply] = [look, decide, look, decide]
    out = tmp_path / "run"
    with scripted_llm(replies) as (_, url):
        server.cli(
            "run", "--env", NS, "--suite", str(suite), "--method", "ReAct", "--task", "detection",
            "--model", "gpt-4o-mini", "--base-url", url, "--seed", "1", "--out", str(out), timeout=240,
        )  # fmt: skip
    records = sorted(_results(out), key=lambda r: r["index"])
    assert sorted(r["fault"] for r in records) == ["none", "pod-fail"]
    for record in records:
        assert record["status"] == "success", record
        assert record["verdict"]["expected"] == ("No" if record["fault"] == "none" else "Yes")
        assert record["agent"]["usage"]["total_tokens"] > 0
