"""The report's model and its renderings: figures under MicroRemed's and AIOpsLab's names, fault
types per series with intervals and pass@k, episodes with their timelines, and the HTML, Markdown
and JSON reports of one run and of a comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remedlab.bench.intervals import mean_interval, pass_at_k, wilson
from remedlab.bench.report_html import read_episodes_blob, render_html
from remedlab.bench.report_model import build_report, load_run
from remedlab.bench.report_text import json_summary, markdown_report
from remedlab.bench.results import RunDirError
from remedlab.cli.main import app
from tests.report_runs import write_run_dir

SIZE_GOAL = 5_000_000


def _page_text(page: str) -> str:
    """The page without plotly.js (the first script)."""
    head, _, rest = page.partition("</script>")
    assert "plotly.js" in head
    return rest


def test_intervals_and_pass_at_k() -> None:
    ci = wilson(8, 10)
    assert ci is not None and 0.48 < ci.low < 0.5 and 0.94 < ci.high < 0.95
    assert wilson(0, 0) is None
    assert wilson(10, 10) is not None and wilson(10, 10).high == pytest.approx(1.0)  # type: ignore[union-attr]
    interval = mean_interval([10.0, 12.0, 14.0])
    assert interval is not None and interval.low < 12 < interval.high
    assert mean_interval([3.0]) is None
    assert pass_at_k([(3, 1)], 1) == pytest.approx(1 / 3)
    assert pass_at_k([(3, 1)], 3) == pytest.approx(1.0)  # three tries, one success
    assert pass_at_k([(3, 0), (3, 3)], 1) == pytest.approx(0.5)
    assert pass_at_k([(2, 1)], 3) is None  # no problem tried three times


def test_a_run_reports_its_figures_environment_and_episodes(tmp_path: Path) -> None:
    report = build_report([load_run(write_run_dir(tmp_path / "run", episodes=6, seed=0))])
    (run,) = report.runs
    figures = {m.name: m.value for m in run.microremed}
    assert figures["total"] == "6" and figures["successes"] == "4" and figures["success rate"] == "66.7%"
    environment = {m.name: m.value for m in run.environment}
    assert environment["seed"] == "0" and environment["suite"] == "easy"  # seed 0 is a seed, not a blank
    assert environment["remedlab version"] == "0.1.0" and environment["model"] == "-"
    assert [c.level for c in run.isolation] == ["full", "degraded"]
    (task,) = run.aiopslab
    assert task[0].value == "mitigation" and task[3].value.endswith("TTM")
    assert report.series == ["baseline"] and report.repeats  # cpu-stress on time-service, twice
    cell = report.cell("cpu-stress", "baseline")
    assert cell is not None and cell.judged == 2 and cell.success_ci is not None
    episode = report.episodes[2]
    assert episode.status == "failure" and episode.reasons and episode.verdict == "failed (sequential)"
    assert episode.playbooks[0][0] == "playbook-1.yml" and len(episode.conversation) == 4
    assert episode.timeline is not None and {e.kind for e in episode.timeline.events} >= {"inject", "verdict"}


def test_repeats_give_pass_at_k(tmp_path: Path) -> None:
    report = build_report([load_run(write_run_dir(tmp_path / "run", episodes=9, repeats=3))])
    assert report.repeats
    cell = report.cell("cpu-stress", "baseline")
    assert cell is not None and set(cell.pass_at) == {1, 3}
    assert "pass@3" in render_html(report) and "pass@3" in markdown_report(report)


def test_the_html_report_is_self_contained_and_never_says_none(tmp_path: Path) -> None:
    report = build_report([load_run(write_run_dir(tmp_path / "run", episodes=3, seed=0))])
    page = render_html(report)
    text = _page_text(page)
    assert "None" not in text and "<svg" not in text
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)  # nothing loaded from elsewhere
    assert page.count("plotly.js v") == 1
    assert "<td>seed</td><td>0</td>" in text
    blob = re.search(r'id="episodes-data"[^>]*>(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    episodes = read_episodes_blob(blob)
    assert list(episodes) == ["run#0", "run#1", "run#2"]
    assert "playbook-1.yml" in episodes["run#2"]["detail"] and "below the baseline" in episodes["run#2"]["detail"]
    assert all("None" not in e["detail"] for e in episodes.values())
    first = episodes["run#0"]["timeline"]
    assert {e["k"] for e in first["ev"]} >= {"inject", "agent-step", "verdict", "stop"}
    assert len(first["x"]) == len(first["sr"]) == len(first["p95"])


def test_a_comparison_puts_methods_side_by_side(tmp_path: Path) -> None:
    one = write_run_dir(tmp_path / "baseline-run", method="baseline", episodes=4)
    two = write_run_dir(tmp_path / "llm-run", method="ThinkRemed", model="gpt-4o-mini", episodes=4, cost=0.01)
    report = build_report([load_run(one), load_run(two)])
    assert report.series == ["baseline", "ThinkRemed (gpt-4o-mini)"]
    assert report.title.startswith("comparison: baseline vs ThinkRemed (gpt-4o-mini)")
    assert all(report.cell(f, s) is not None for f in report.faults for s in report.series)
    page = render_html(report)
    charts = json.loads(re.search(r'id="charts-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert [t["name"] for t in charts["success"]["data"]] == report.series
    assert "tokens" in charts["cost"]["title"]  # the baseline has no price
    assert "baseline-run" in page and "llm-run" in page
    summary = json_summary(report)
    assert [r["series"] for r in summary["runs"]] == report.series
    assert json.loads(json.dumps(summary)) == summary
    markdown = markdown_report(report)
    assert "| fault type | baseline | ThinkRemed (gpt-4o-mini) |" in markdown


def test_a_hundred_episode_report_stays_small(tmp_path: Path) -> None:
    report = build_report([load_run(write_run_dir(tmp_path / "run", episodes=100))])
    size = len(render_html(report).encode())
    print(f"100-episode report: {size} bytes")
    assert size <= SIZE_GOAL


def test_the_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    one = write_run_dir(tmp_path / "a", episodes=3)
    two = write_run_dir(tmp_path / "b", method="ThinkRemed", model="m", episodes=3)
    runner = CliRunner()
    md = runner.invoke(app, ["report", str(one), "--format", "md"])
    assert md.exit_code == 0 and md.stdout.startswith("# remedlab report: a:")
    js = runner.invoke(app, ["report", str(one), str(two), "--format", "json", "--html"])
    assert js.exit_code == 0, js.output
    assert json.loads(js.stdout)["series"] == ["baseline", "ThinkRemed (m)"]
    assert (one / "report.html").exists() and (two / "report.html").exists() and (tmp_path / "comparison.html").exists()
    bad = runner.invoke(app, ["report", str(one), "--format", "pdf"])
    assert bad.exit_code == 1 and "unknown --format 'pdf'" in bad.output and len(bad.output.splitlines()) == 1
    missing = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "is not a remedlab run" in missing.output


def test_a_directory_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(RunDirError, match="not a remedlab run's plan"):
        load_run(tmp_path)
