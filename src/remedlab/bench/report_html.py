"""The HTML report: one self-contained page rendered from the templates beside this module, with
plotly.js inline (it works offline) and the charts' data as JSON: success, time to mitigate and cost
per fault type side by side per series, and each episode's timeline drawn when its row is opened."""

from __future__ import annotations

import base64
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from plotly.offline import get_plotlyjs

from remedlab.bench.report import num, pct
from remedlab.bench.report_model import AIOPSLAB_COLUMNS, FaultCell, Report
from remedlab.bench.timeline import Timeline

TEMPLATE = "report.html.j2"
EPISODE_TEMPLATE = "episode_detail.html.j2"
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("remedlab.bench", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = pct
    env.filters["num"] = num
    return env


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def timeline_data(timeline: Timeline) -> dict[str, Any]:
    """A timeline as its chart draws it: seconds from its first point or event, columns of values."""
    starts = [p.t for p in timeline.points] + [e.t for e in timeline.events]
    t0 = min(starts) if starts else 0.0
    return {
        "x": [round(p.t - t0, 1) for p in timeline.points],
        "sr": [_round(None if p.success_rate is None else 100 * p.success_rate) for p in timeline.points],
        "p50": [_round(p.p50_ms) for p in timeline.points],
        "p95": [_round(p.p95_ms) for p in timeline.points],
        "req": [p.requests for p in timeline.points],
        "ev": [
            {
                "x": round(e.t - t0, 2),
                "k": e.kind,
                "l": e.label,
                **({"o": e.outcome} if e.outcome else {}),
                **({"e": round(e.end - t0, 2)} if e.end is not None else {}),
            }
            for e in sorted(timeline.events, key=lambda e: e.t)
        ],
    }


def _bars(report: Report, title: str, unit: str, value: Any, interval: Any) -> dict[str, Any]:
    """A grouped bar chart: a bar per fault type for each series, with its interval as error bars."""
    traces = []
    for i, series in enumerate(report.series):
        xs: list[str] = []
        ys: list[float | None] = []
        plus: list[float] = []
        minus: list[float] = []
        texts: list[str] = []
        for fault in report.faults:
            cell = report.cell(fault, series)
            y = value(cell) if cell is not None else None
            ci = interval(cell) if cell is not None else None
            xs.append(fault)
            ys.append(y)
            plus.append(0.0 if y is None or ci is None else max(0.0, ci[1] - y))
            minus.append(0.0 if y is None or ci is None else max(0.0, y - ci[0]))
            texts.append("" if cell is None else f"{cell.successes}/{cell.judged} judged")
        traces.append(
            {
                "type": "bar",
                "name": series,
                "x": xs,
                "y": ys,
                "text": texts,
                "textposition": "none",
                "hovertemplate": f"%{{x}}<br>%{{y:.1f}}{unit}<br>%{{text}}<extra>{series}</extra>",
                "marker": {"color": COLOURS[i % len(COLOURS)]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "visible": any(plus) or any(minus),
                },
            }
        )
    layout = {
        "barmode": "group",
        "yaxis": {"title": {"text": unit.strip() or "value"}, "rangemode": "tozero"},
        "margin": {"t": 30, "b": 80, "l": 60, "r": 10},
        "height": 320,
        "legend": {"orientation": "h"},
    }
    return {"title": title, "data": traces, "layout": layout}


def _success(cell: FaultCell) -> float | None:
    rate = cell.success_rate
    return None if rate is None else 100 * rate


def _success_ci(cell: FaultCell) -> tuple[float, float] | None:
    ci = cell.success_ci
    return None if ci is None else (100 * ci.low, 100 * ci.high)


def _ttm_ci(cell: FaultCell) -> tuple[float, float] | None:
    return None if cell.ttm_ci is None else (cell.ttm_ci.low, cell.ttm_ci.high)


def charts(report: Report) -> dict[str, dict[str, Any]]:
    """The charts by fault type: success, time to mitigate, and cost (tokens where a price is unknown;
    neither where no episode used a model)."""
    out = {
        "success": _bars(report, "success rate by fault type (95% Wilson interval)", " %", _success, _success_ci),
        "ttm": _bars(report, "mean time to mitigate (TTM) by fault type (95% interval)", " s", _mean_ttm, _ttm_ci),
    }
    if all(c.mean_cost is not None for c in report.cells):
        out["cost"] = _bars(report, "mean cost per episode by fault type", " $", _mean_cost, _no_interval)
    elif any(c.mean_tokens for c in report.cells):
        out["cost"] = _bars(
            report, "mean tokens per episode by fault type (no price known)", " tokens", _tokens, _no_interval
        )
    return out


def _mean_ttm(cell: FaultCell) -> float | None:
    return cell.mean_ttm


def _mean_cost(cell: FaultCell) -> float | None:
    return cell.mean_cost


def _tokens(cell: FaultCell) -> float | None:
    return cell.mean_tokens


def _no_interval(_: FaultCell) -> None:
    return None


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def episodes_blob(report: Report) -> str:
    """Each episode's details (HTML) and timeline (its chart's data), by key, as gzipped JSON in
    base64: the page opens them when their row does, and stays small with many episodes."""
    detail = _environment().get_template(EPISODE_TEMPLATE)
    episodes = {
        e.key: {
            "detail": detail.render(e=e),
            **({"timeline": timeline_data(e.timeline)} if e.timeline is not None else {}),
        }
        for e in report.episodes
    }
    raw = json.dumps(episodes, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def read_episodes_blob(blob: str) -> dict[str, Any]:
    """What :func:`episodes_blob` packed."""
    value: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(blob)))
    return value


def render_html(report: Report) -> str:
    template = _environment().get_template(TEMPLATE)
    drawn = charts(report)
    return template.render(
        report=report,
        aiopslab_columns=AIOPSLAB_COLUMNS,
        plotly_js=get_plotlyjs(),
        chart_titles={name: chart["title"] for name, chart in drawn.items()},
        charts_json=_script_json(drawn),
        episodes_blob=episodes_blob(report),
    )


def write_html(path: Path, report: Report) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
