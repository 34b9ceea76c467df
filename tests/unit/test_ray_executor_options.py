"""`--executor ray`'s one-line errors, and how a lane's result and files land in the run's directory."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedlab.bench.ray_executor import INSTALL_HINT, EpisodeOutcome, RayUnavailable, require_ray, write_outcome
from remedlab.cli.main import app


def test_without_ray_the_executor_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match=r"pip install remedlab\[ray\]"):
        require_ray()
    result = CliRunner().invoke(app, ["run", "--env", "simple-micro", "--suite", "easy", "--executor", "ray"])
    assert result.exit_code != 0 and INSTALL_HINT in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unknown_executor_is_a_one_line_error() -> None:
    result = CliRunner().invoke(app, ["run", "--env", "simple-micro", "--suite", "easy", "--executor", "dask"])
    assert result.exit_code != 0 and "unknown --executor 'dask'" in result.output


def test_an_outcome_replaces_an_earlier_try_and_appends_one_line(tmp_path: Path) -> None:
    stale = tmp_path / "episodes" / "002-pod-fail-time-service"
    stale.mkdir(parents=True)
    (stale / "old.json").write_text("{}")
    record = {"index": 2, "fault": "pod-fail", "target": "time-service", "status": "success"}
    files = {
        "episodes/002-pod-fail-time-service/conversation.json": base64.b64encode(b"[]").decode(),
        "../outside.txt": base64.b64encode(b"no").decode(),
    }
    write_outcome(tmp_path / ".", EpisodeOutcome(record, files))
    assert sorted(p.name for p in stale.iterdir()) == ["conversation.json"]
    assert not (tmp_path.parent / "outside.txt").exists()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [2]
