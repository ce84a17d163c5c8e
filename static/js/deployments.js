// Deployment page: live traffic charts (requests/min, p50/p95 latency, error rate) with one line
// per model version, from the json_script block #deployment-traffic, refreshed every 5 s from
// the chart element's data-url. Labels are data: HTML-escaped for Plotly, textContent for DOM.
(() => {
  "use strict";

  const ROLE_COLORS = { stable: "#2454d6", candidate: "#c0262d", shadow: "#7c3aed", earlier: "#78716c" };
  const CONFIG = { displayModeBar: false, responsive: true };
  const CHARTS = [
    { key: "requests", title: "Requests per minute", lines: [["requests", "solid"]] },
    { key: "latency", title: "Latency (ms): p50 solid, p95 dotted", lines: [["p50", "solid"], ["p95", "dot"]] },
    { key: "errors", title: "Error rate", lines: [["error_rate", "solid"]], percent: true },
  ];
  const POLL_MS = 5000;

  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function figures(target) {
    if (target.dataset.ready) return;
    target.replaceChildren();
    for (const chart of CHARTS) {
      const figure = document.createElement("figure");
      figure.className = "chart";
      figure.dataset.chart = chart.key;
      const caption = document.createElement("figcaption");
      caption.textContent = chart.title;
      const plot = document.createElement("div");
      plot.className = "plot";
      figure.append(caption, plot);
      target.append(figure);
    }
    target.dataset.ready = "1";
  }

  function draw(target, traffic) {
    const series = (traffic && traffic.series) || [];
    if (!series.length || !window.Plotly) return;
    figures(target);
    for (const chart of CHARTS) {
      const plot = target.querySelector(`figure[data-chart="${chart.key}"] .plot`);
      const traces = [];
      for (const line of series) {
        for (const [field, dash] of chart.lines) {
          const name = chart.lines.length > 1 ? `${line.label} ${field}` : line.label;
          traces.push({
            type: "scatter",
            mode: line.points.length > 1 ? "lines+markers" : "markers",
            name: plotlyText(name),
            x: line.points.map((p) => p.t),
            y: line.points.map((p) => p[field]),
            line: { color: ROLE_COLORS[line.role] || "#0e7490", width: 2, dash },
            hovertemplate: `${plotlyText(name)} %{y:.4g}<extra></extra>`,
          });
        }
      }
      window.Plotly.react(plot, traces, {
        height: 220,
        margin: { l: 52, r: 12, t: 28, b: 36 },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        font: { size: 11 },
        showlegend: true,
        legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
        yaxis: chart.percent ? { tickformat: ".0%", rangemode: "tozero" } : { rangemode: "tozero" },
        hovermode: "x unified",
      }, CONFIG);
    }
    target.dataset.drawn = String(series.length);
  }

  async function refresh(target) {
    try {
      const response = await fetch(target.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) draw(target, await response.json());
    } catch {
      // The next poll tries again; a network blip must not break the page.
    }
  }

  function start() {
    const source = document.getElementById("deployment-traffic");
    const target = document.getElementById("deployment-charts");
    if (!source || !target) return;
    try {
      draw(target, JSON.parse(source.textContent));
    } catch {
      // A malformed block only means no first paint; polling fills the charts.
    }
    if (target.dataset.url) setInterval(() => { if (!document.hidden) refresh(target); }, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
