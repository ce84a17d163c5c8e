// Model compare page: a grouped bar chart, one group per metric and a bar per version, from the
// json_script block #version-compare ({labels: [a, b], metrics: [...], a: [...], b: [...]}).
// Names are data: they reach Plotly HTML-escaped, never as markup.
(() => {
  "use strict";

  const COLORS = ["#2454d6", "#c0262d"];
  const CONFIG = { displayModeBar: false, responsive: true };

  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw() {
    const source = document.getElementById("version-compare");
    const target = document.getElementById("version-chart");
    if (!source || !target || !window.Plotly) return;
    let chart;
    try {
      chart = JSON.parse(source.textContent);
    } catch {
      return;
    }
    if (!chart.metrics || !chart.metrics.length) return;
    target.replaceChildren();
    const metrics = chart.metrics.map(plotlyText);
    const traces = ["a", "b"].map((key, index) => ({
      type: "bar",
      name: plotlyText(chart.labels[index]),
      x: metrics,
      y: chart[key],
      marker: { color: COLORS[index] },
      hovertemplate: `${plotlyText(chart.labels[index])} %{y:.4g}<extra></extra>`,
    }));
    window.Plotly.newPlot(target, traces, {
      barmode: "group",
      height: 300,
      margin: { l: 52, r: 12, t: 28, b: 48 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 11 },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    }, CONFIG);
    target.dataset.drawn = String(chart.metrics.length);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
