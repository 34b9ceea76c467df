(function () {
  "use strict";
  var charts = JSON.parse(document.getElementById("charts-data").textContent);
  var episodes = unpack(document.getElementById("episodes-data").textContent.trim());

  function unpack(blob) {
    var bytes = Uint8Array.from(atob(blob), function (c) { return c.charCodeAt(0); });
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).json();
  }
  var config = { responsive: true, displaylogo: false };

  Object.keys(charts).forEach(function (name) {
    var el = document.getElementById("chart-" + name);
    if (el) { Plotly.newPlot(el, charts[name].data, charts[name].layout, config); }
  });

  var MARKS = {
    "inject": { colour: "#d62728", dash: "solid", text: "inject" },
    "confirm": { colour: "#ff7f0e", dash: "dot", text: "confirmed" },
    "agent-start": { colour: "#1f77b4", dash: "dash", text: "agent" },
    "agent-end": { colour: "#1f77b4", dash: "dash", text: "agent ends" },
    "stop": { colour: "#7f7f7f", dash: "solid", text: "stop" }
  };
  var OUTCOME_COLOURS = { ok: "#2ca02c", failed: "#d62728", refused: "#9467bd" };

  function drawTimeline(el, t) {
    var traces = [
      { x: t.x, y: t.sr, name: "success rate (%)", mode: "lines", line: { color: "#2ca02c" }, yaxis: "y" },
      { x: t.x, y: t.p50, name: "p50 latency (ms)", mode: "lines", line: { color: "#1f77b4", width: 1 }, yaxis: "y2" },
      { x: t.x, y: t.p95, name: "p95 latency (ms)", mode: "lines", line: { color: "#9467bd" }, yaxis: "y2" }
    ];
    var shapes = [], annotations = [], steps = { x: [], text: [], colour: [] };
    t.ev.forEach(function (ev) {
      if (ev.k === "verdict") {
        var end = ev.e === undefined ? ev.x : ev.e;
        shapes.push({ type: "rect", xref: "x", yref: "paper", x0: ev.x, x1: Math.max(end, ev.x + 0.5), y0: 0, y1: 1,
                      fillcolor: ev.o === "ok" ? "rgba(44,160,44,0.15)" : "rgba(214,39,40,0.15)", line: { width: 0 }, name: "verdict" });
        annotations.push({ x: end, y: 0.97, xref: "x", yref: "paper", text: ev.l, showarrow: false, xanchor: "right", yanchor: "top", bgcolor: "rgba(255,255,255,0.8)", font: { size: 11 } });
      } else if (ev.k === "agent-step") {
        steps.x.push(ev.x); steps.text.push(ev.l + (ev.o ? " (" + ev.o + ")" : "")); steps.colour.push(OUTCOME_COLOURS[ev.o] || "#1f77b4");
      } else {
        var mark = MARKS[ev.k] || { colour: "#444", dash: "dot", text: ev.k };
        shapes.push({ type: "line", xref: "x", yref: "paper", x0: ev.x, x1: ev.x, y0: 0, y1: 1, line: { color: mark.colour, dash: mark.dash, width: 1.5 }, name: ev.k });
        annotations.push({ x: ev.x, y: 0, xref: "x", yref: "paper", text: mark.text, hovertext: ev.l, showarrow: false, textangle: -90, xanchor: "right", yanchor: "bottom", font: { size: 11, color: mark.colour } });
      }
    });
    if (steps.x.length) {
      traces.push({ x: steps.x, y: steps.x.map(function () { return 104; }), text: steps.text, name: "agent steps", mode: "markers",
                    marker: { symbol: "diamond", size: 10, color: steps.colour }, hovertemplate: "%{x:.1f} s: %{text}<extra></extra>", yaxis: "y" });
    }
    var layout = {
      margin: { t: 30, b: 40, l: 55, r: 60 }, height: 340, shapes: shapes, annotations: annotations,
      xaxis: { title: { text: "seconds" } },
      yaxis: { title: { text: "success rate (%)" }, range: [0, 110] },
      yaxis2: { title: { text: "latency (ms)" }, overlaying: "y", side: "right", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.2 }
    };
    return Plotly.newPlot(el, traces, layout, config);
  }

  function toggle(body) {
    var detail = body.querySelector("tr.detail");
    var open = detail.hidden;
    detail.hidden = !open;
    body.classList.toggle("open", open);
    if (!open || body.dataset.filled) { return Promise.resolve(); }
    body.dataset.filled = "1";
    return episodes.then(function (all) {
      var episode = all[body.dataset.key];
      var cell = detail.querySelector("td");
      cell.innerHTML = episode.detail;
      var el = cell.querySelector(".timeline");
      if (el && episode.timeline) { return drawTimeline(el, episode.timeline); }
    });
  }

  var table = document.getElementById("episode-table");
  Array.prototype.forEach.call(table.querySelectorAll("tbody.episode"), function (body) {
    var row = body.querySelector("tr.row");
    row.addEventListener("click", function () { toggle(body); });
    row.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(body); } });
  });

  function cellValue(body, column, type) {
    var text = body.querySelector("tr.row").children[column].textContent.trim();
    if (type !== "num") { return text.toLowerCase(); }
    var n = parseFloat(text);
    return isNaN(n) ? -Infinity : n;
  }
  Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (th, column) {
    th.addEventListener("click", function () {
      var ascending = !th.classList.contains("asc");
      Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(ascending ? "asc" : "desc");
      var bodies = Array.prototype.slice.call(table.querySelectorAll("tbody.episode"));
      bodies.sort(function (a, b) {
        var x = cellValue(a, column, th.dataset.type), y = cellValue(b, column, th.dataset.type);
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      bodies.forEach(function (body) { table.appendChild(body); });
    });
  });
  window.remedlabReport = { toggle: toggle, episodes: episodes };
})();
