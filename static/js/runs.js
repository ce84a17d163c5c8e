// Runs pages: one Plotly chart per metric, a line per run, from the json_script block
// #run-histories ({metrics: {name: [{run, label, points: [[step, value], ...]}]}}).
// Names are data: they reach Plotly HTML-escaped and the DOM as textContent only.
(() => {
  "use strict";

  const COLORS = ["#2454d6", "#c0262d", "#17803d", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f", "#1e3a8a", "#78350f"];
  const CONFIG = { displayModeBar: false, responsive: true };

  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function draw() {
    const source = document.getElementById("run-histories");
    const target = document.getElementById("run-charts");
    if (!source || !target || !window.Plotly) return;
    let chart;
    try {
      chart = JSON.parse(source.textContent);
    } catch {
      return;
    }
    const names = Object.keys(chart.metrics || {});
    if (!names.length) return;
    target.replaceChildren();
    const runs = [];
    for (const name of names) {
      for (const line of chart.metrics[name]) if (!runs.includes(line.run)) runs.push(line.run);
    }
    for (const name of names) {
      const figure = document.createElement("figure");
      figure.className = "chart";
      figure.dataset.metric = name;
      const caption = document.createElement("figcaption");
      caption.textContent = name;
      const plot = document.createElement("div");
      plot.className = "plot";
      figure.append(caption, plot);
      target.append(figure);
      const traces = chart.metrics[name].map((line) => {
        const color = COLORS[runs.indexOf(line.run) % COLORS.length];
        return {
          type: "scatter",
          mode: line.points.length > 1 ? "lines" : "markers",
          name: plotlyText(line.label),
          x: line.points.map((p) => p[0]),
          y: line.points.map((p) => p[1]),
          line: { color, width: 2 },
          hovertemplate: `${plotlyText(line.label)} %{y:.4g}<extra></extra>`,
        };
      });
      window.Plotly.newPlot(plot, traces, {
        height: 240,
        margin: { l: 52, r: 12, t: traces.length > 1 ? 28 : 8, b: 36 },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        font: { size: 11 },
        showlegend: traces.length > 1,
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
        xaxis: { title: { text: "step" }, zeroline: false },
        hovermode: "x unified",
      }, CONFIG);
    }
    target.dataset.drawn = String(names.length);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
