// A promotion request's page: candidate vs champion metrics as a grouped bar chart, from the
// json_script block #promotion-metrics ({metrics: [name], series: [{label, values}]}).
// Labels are data: they reach Plotly HTML-escaped.
(() => {
  "use strict";

  const COLORS = ["#2454d6", "#9aa4b2"];

  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw() {
    const source = document.getElementById("promotion-metrics");
    const target = document.getElementById("promotion-chart");
    if (!source || !target || !window.Plotly) return;
    let chart;
    try {
      chart = JSON.parse(source.textContent);
    } catch {
      return;
    }
    if (!chart.metrics || !chart.metrics.length) return;
    const names = chart.metrics.map(plotlyText);
    const traces = chart.series.map((s, i) => ({
      type: "bar",
      name: plotlyText(s.label),
      x: names,
      y: s.values,
      marker: { color: COLORS[i % COLORS.length] },
      hovertemplate: `${plotlyText(s.label)} %{x}: %{y:.4g}<extra></extra>`,
    }));
    window.Plotly.newPlot(target, traces, {
      barmode: "group",
      height: 260,
      margin: { l: 48, r: 12, t: 28, b: 48 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 11 },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    }, { displayModeBar: false, responsive: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
