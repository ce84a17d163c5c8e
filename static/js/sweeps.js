// A sweep's page: the metric of every trial as a Plotly scatter.
//
// The points come from a json_script block (#sweep-chart) in the page's live part; every 3 s
// htmx swaps that part in while the sweep runs and the chart is redrawn in place (its card is
// kept across swaps with hx-preserve). Parameter text is data: it reaches Plotly HTML-escaped.
(() => {
  "use strict";

  const COLORS = { succeeded: "#17803d", failed: "#c0262d", cancelled: "#8a8f98", running: "#2454d6", queued: "#b45309" };
  const CONFIG = { displayModeBar: false, responsive: true };

  function escape(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function readChart() {
    const source = document.getElementById("sweep-chart");
    if (!source) return null;
    try {
      return JSON.parse(source.textContent);
    } catch {
      return null;
    }
  }

  function draw() {
    const chart = readChart();
    const container = document.querySelector("[data-sweep-chart]");
    if (!chart || !container) return;
    if (!chart.points.length) {
      container.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "No trial has reported the metric yet." }));
      return;
    }
    if (!window.Plotly) return;
    const byStatus = {};
    for (const point of chart.points) (byStatus[point.status] ||= []).push(point);
    const traces = Object.entries(byStatus).map(([status, points]) => ({
      type: "scatter",
      mode: "markers",
      name: escape(status),
      x: points.map((p) => p.trial),
      y: points.map((p) => p.value),
      text: points.map((p) => escape(p.params)),
      marker: { color: COLORS[status] || "#555", size: points.map((p) => (p.rank === 1 ? 14 : 9)), line: { width: 1, color: "#fff" } },
      hovertemplate: `trial %{x}<br>${escape(chart.metric)} %{y:.4g}<br>%{text}<extra>${escape(status)}</extra>`,
    }));
    let plot = container.querySelector(".sweep-plot");
    if (!plot) {
      plot = Object.assign(document.createElement("div"), { className: "sweep-plot" });
      container.replaceChildren(plot);
    }
    window.Plotly.react(plot, traces, {
      height: 300,
      margin: { l: 56, r: 12, t: 28, b: 40 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11 },
      legend: { orientation: "h", x: 0, y: 1.15 },
      // Half a trial of room either side, so the first and last markers are not cut in half.
      xaxis: { title: { text: "trial" }, zeroline: false, range: [-0.5, Math.max(...chart.points.map((p) => p.trial), 0) + 0.5], dtick: chart.points.length > 20 ? undefined : 1 },
      yaxis: { title: { text: `${escape(chart.metric)} (${chart.direction === "min" ? "lower" : "higher"} is better)` }, zeroline: false },
    }, CONFIG);
  }

  document.addEventListener("htmx:afterSettle", () => {
    if (document.getElementById("sweep-live")) draw();
  });
  // Forms that do something hard to undo ask first (no inline handlers: the text is data).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // plotly.js loads deferred too, before this script (document order).
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
