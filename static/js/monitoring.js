// Monitoring page: drift heatmap, drift share, performance and prediction charts from the
// json_script block #monitoring-series (built by apps/monitoring/selectors/charts.py). Column
// names, class labels and errors are data: HTML-escaped before Plotly renders them.
(() => {
  "use strict";

  const CONFIG = { displayModeBar: false, responsive: true };
  const RED = "#c0262d";
  const BLUE = "#2454d6";
  const GREY = "#78716c";
  const CLASS_COLORS = ["#2454d6", "#f59e0b", "#17803d", "#7c3aed", "#0e7490", "#db2777",
    "#65a30d", "#ea580c", "#4338ca", "#0f766e", "#a8a29e"];
  const PENDING_RELOAD_MS = 5000;

  function esc(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function layout(extra) {
    return Object.assign({
      height: 260,
      margin: { l: 56, r: 16, t: 12, b: 48 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 11 },
      showlegend: false,
    }, extra);
  }

  // A category axis with one column per run, labelled with its time; at most `most` labels.
  function runAxis(ids, labels, most = 8) {
    const step = Math.max(1, Math.ceil(ids.length / most));
    const keep = ids.map((_, i) => i).filter((i) => i % step === 0);
    return {
      type: "category",
      tickmode: "array",
      tickvals: keep.map((i) => ids[i]),
      ticktext: keep.map((i) => labels[i]),
      title: { text: "run (UTC)", standoff: 6 },
    };
  }

  function heatmap(el, data) {
    if (!data.y.length) {
      el.replaceChildren(Object.assign(document.createElement("p"), {
        className: "noplot", textContent: "No run with a verdict yet.",
      }));
      return;
    }
    const cap = data.cap || 2;
    const edge = 1 / cap; // where strength 1 (the threshold) sits on the colour scale
    window.Plotly.react(el, [{
      type: "heatmap",
      x: data.x,
      y: data.y.map(esc),
      z: data.z,
      text: data.text.map((row) => row.map(esc)),
      zmin: 0,
      zmax: cap,
      xgap: 1,
      ygap: 1,
      colorscale: [[0, "#eef6f0"], [edge * 0.999, "#f6e27a"], [edge, "#f08c4a"], [1, "#9f1239"]],
      colorbar: {
        thickness: 12,
        tickvals: [0, 1, cap],
        ticktext: ["none", "threshold", `≥${cap}×`],
        title: { text: "drift", side: "right" },
      },
      hovertemplate: "<b>%{y}</b> · run %{x}<br>%{text}<extra></extra>",
    }], layout({
      height: Math.max(260, 26 * data.y.length + 90),
      margin: { l: 120, r: 16, t: 12, b: 56 },
      xaxis: runAxis(data.x, data.labels),
      yaxis: { type: "category", automargin: true, autorange: "reversed" },
    }), CONFIG);
  }

  function share(el, data) {
    const top = 1.06;
    const traces = [{
      type: "scatter",
      mode: "lines+markers",
      name: "drift share",
      x: data.x,
      y: data.y,
      text: data.text.map(esc),
      connectgaps: false,
      line: { color: BLUE, width: 2 },
      hovertemplate: "%{x} UTC<br>%{y:.0%} drifted<br>%{text}<extra></extra>",
    }];
    const gaps = [
      ["insufficient data (no verdict)", data.insufficient, GREY, "x-thin-open"],
      ["failed", data.failed, RED, "x"],
    ];
    for (const [name, gap, color, symbol] of gaps) {
      if (!gap.x.length) continue;
      traces.push({
        type: "scatter",
        mode: "markers",
        name,
        x: gap.x,
        y: gap.x.map(() => top),
        text: gap.text.map(esc),
        marker: { color, symbol, size: 10, line: { color, width: 2 } },
        hovertemplate: `%{x} UTC<br>${name}<br>%{text}<extra></extra>`,
      });
    }
    window.Plotly.react(el, traces, layout({
      showlegend: traces.length > 1,
      legend: { orientation: "h", x: 0, y: -0.3 },
      margin: { l: 56, r: 16, t: 12, b: traces.length > 1 ? 72 : 48 },
      height: traces.length > 1 ? 290 : 260,
      xaxis: { type: "date", title: { text: "UTC", standoff: 6 } },
      yaxis: { range: [0, top + 0.06], tickformat: ".0%", tickvals: [0, 0.25, 0.5, 0.75, 1] },
      shapes: [{
        type: "line", xref: "paper", x0: 0, x1: 1, y0: data.threshold, y1: data.threshold,
        line: { color: RED, width: 1.5, dash: "dash" },
      }],
      annotations: [{
        xref: "paper", x: 1, xanchor: "right", y: data.threshold, yanchor: "bottom",
        text: `threshold ${Math.round(data.threshold * 100)}%`, showarrow: false,
        font: { size: 10, color: RED },
      }],
    }), CONFIG);
  }

  function performance(el, data) {
    const percent = data.metric === "accuracy";
    const format = percent ? ".1%" : ".4g";
    window.Plotly.react(el, [
      {
        type: "scatter", mode: "lines+markers", name: `current ${data.metric}`,
        x: data.x, y: data.current, customdata: data.rows, line: { color: BLUE, width: 2 },
        hovertemplate: `%{x} UTC<br>current ${data.metric} %{y:${format}}<br>%{customdata} labelled rows<extra></extra>`,
      },
      {
        type: "scatter", mode: "lines", name: `reference ${data.metric}`,
        x: data.x, y: data.reference, line: { color: GREY, width: 1.5, dash: "dot" },
        hovertemplate: `reference ${data.metric} %{y:${format}}<extra></extra>`,
      },
    ], layout({
      showlegend: true,
      legend: { orientation: "h", x: 0, y: -0.3 },
      margin: { l: 56, r: 16, t: 12, b: 72 },
      height: 290,
      xaxis: { type: "date", title: { text: "UTC", standoff: 6 } },
      yaxis: percent
        ? { tickformat: ".0%", range: [0, 1.02], title: { text: "accuracy" } }
        : { rangemode: "tozero", title: { text: data.metric } },
    }), CONFIG);
  }

  function predictions(el, data) {
    if (data.kind === "classes") {
      window.Plotly.react(el, data.classes.map((cls, i) => ({
        type: "bar",
        name: esc(cls.label),
        x: data.x,
        y: cls.share,
        marker: { color: CLASS_COLORS[i % CLASS_COLORS.length] },
        hovertemplate: `${esc(cls.label)}: %{y:.1%}<extra>run %{x}</extra>`,
      })), layout({
        barmode: "stack",
        bargap: 0.15,
        showlegend: true,
        legend: { orientation: "h", x: 0, y: -0.3 },
        margin: { l: 56, r: 16, t: 12, b: 80 },
        height: 300,
        xaxis: Object.assign(runAxis(data.x, data.labels, 4), { tickangle: 0 }),
        yaxis: { tickformat: ".0%", range: [0, 1] },
      }), CONFIG);
      return;
    }
    const bins = data.latest.bins;
    window.Plotly.react(el, [
      {
        type: "scatter", mode: "lines+markers", name: "mean prediction",
        x: data.x, y: data.mean, line: { color: BLUE, width: 2 },
        hovertemplate: "%{x} UTC<br>mean %{y:.4g}<extra></extra>",
      },
      {
        type: "bar", name: "latest run", xaxis: "x2", yaxis: "y2",
        x: bins.map((b) => b.mid), y: bins.map((b) => b.count), width: bins.map((b) => b.width),
        marker: { color: "#93c5fd", line: { color: BLUE, width: 1 } },
        hovertemplate: "%{x:.4g}: %{y} predictions<extra>latest run</extra>",
      },
    ], layout({
      xaxis: { domain: [0, 0.55], type: "date", title: { text: "mean over time (UTC)", standoff: 6 } },
      yaxis: { title: { text: "prediction" } },
      xaxis2: { domain: [0.65, 1], anchor: "y2", title: { text: `histogram, latest run`, standoff: 6 } },
      yaxis2: { anchor: "x2", rangemode: "tozero" },
    }), CONFIG);
  }

  function draw() {
    const source = document.getElementById("monitoring-series");
    if (!source || !window.Plotly) return;
    let series;
    try {
      series = JSON.parse(source.textContent);
    } catch {
      return;
    }
    const charts = [
      ["chart-heatmap", heatmap, series.heatmap],
      ["chart-share", share, series.share],
      ["chart-performance", performance, series.performance],
      ["chart-predictions", predictions, series.predictions],
    ];
    for (const [id, fn, data] of charts) {
      const el = document.getElementById(id);
      if (!el || !data) continue;
      try {
        fn(el, data);
        el.dataset.drawn = "1";
      } catch (error) {
        // One bad series must not blank the other charts.
        console.error(`monitoring chart ${id}`, error);
      }
    }
  }

  function reloadWhilePending() {
    if (!document.getElementById("pending-note")) return;
    setTimeout(() => {
      if (document.hidden) reloadWhilePending();
      else window.location.reload();
    }, PENDING_RELOAD_MS);
  }

  function start() {
    draw();
    reloadWhilePending();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
