"""`remedlab load` against simple-micro on a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.server_harness import ServerProcess

pytestmark = pytest.mark.integration


def test_load_reaches_simple_micro_at_the_requested_rate(tmp_path: Path) -> None:
    server = ServerProcess()
    try:
        server.start()
        assert server.ok("POST", "/v1/apps/simple-micro/deploy", {"timeoutSeconds": 60})["ready"]
        out = tmp_path / "out.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "remedlab.cli.main",
                "load",
                "simple-micro",
                "--rate",
                "50",
                "--duration",
                "3",
                "--seed",
                "1",
                "--json",
                str(out),
            ],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert "p50" in result.stdout and "success" in result.stdout

        report = json.loads(out.read_text())
        summary = report["summary"]
        assert report["app"] == "simple-micro" and report["service"] == "hello-service"
        assert report["target"].startswith("127.") and report["target"].endswith(":5000")
        assert 145 <= summary["sent"] <= 155, summary
        assert summary["requests"] == summary["sent"] and summary["in_flight"] == 0
        assert summary["success_rate"] >= 0.99, summary
        assert summary["p50_ms"] is not None and summary["p50_ms"] < 1000
        seconds = report["seconds"]
        assert [row["t"] for row in seconds] == [0, 1, 2]
        assert all(row["sent"] == 50 for row in seconds)

        missing = subprocess.run(
            [sys.executable, "-m", "remedlab.cli.main", "load", "simple-micro", "-n", "nowhere", "--duration", "1"],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert missing.returncode == 1
        assert missing.stderr.count("\n") == 1 and "remedlab up simple-micro" in missing.stderr
    finally:
        server.cleanup()
