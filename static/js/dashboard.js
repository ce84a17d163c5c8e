// Dashboard: hourly traffic and error-rate sparklines per live deployment, and spend against
// budget per project, from the json_script block #dashboard-data (apps/core/dashboard.py).
// Names are data: HTML-escaped before Plotly renders them.
(() => {
  "use strict";

  const CONFIG = { displayModeBar: false, responsive: true, staticPlot: false };
  const BLUE = "#2454d6";
  const RED = "#c0262d";
  const AMBER = "#b45309";
  const GREEN = "#17803d";
  const GREY = "#d5dae3";

  function esc(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function hourLabel(iso) {
    return iso.slice(11, 16) + " UTC";
  }

  function sparkline(el, line, series) {
    const requests = series === "requests";
    const y = requests ? line.requests : line.errors;
    const colour = requests ? BLUE : RED;
    window.Plotly.newPlot(el, [{
      type: "scatter",
      // Error rate is undefined in hours without requests: join the hours that have one.
      mode: requests ? "lines" : "lines+markers",
      marker: { size: 3, color: colour },
      x: line.hours,
      y,
      line: { color: colour, width: 1.5, shape: "spline", smoothing: 0.4 },
      fill: requests ? "tozeroy" : "none",
      fillcolor: "rgba(36,84,214,0.12)",
      connectgaps: !requests,
      text: line.hours.map(hourLabel),
      hovertemplate: requests ? "%{text}: %{y} requests<extra></extra>"
        : "%{text}: %{y:.1f}% errors<extra></extra>",
    }], {
      height: 34,
      margin: { l: 0, r: 0, t: 2, b: 2 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      xaxis: { visible: false, fixedrange: true },
      yaxis: { visible: false, fixedrange: true, rangemode: "tozero",
        range: requests ? undefined : [0, Math.max(5, ...y.filter((v) => v !== null))] },
      showlegend: false,
      hoverlabel: { font: { size: 11 } },
    }, CONFIG);
  }

  function spendColour(row) {
    if (row.budget === null || row.budget <= 0) return BLUE;
    const used = row.spent / row.budget;
    if (used >= 1) return RED;
    if (used >= 0.8) return AMBER;
    return GREEN;
  }

  // A bullet per project: the budget as a wide grey bar, the spend as a narrow bar inside it.
  function spend(el, rows) {
    const names = rows.map((r) => esc(r.name));
    const money = (v, r) => `${v.toFixed(2)} ${esc(r.currency)}`;
    const traces = [{
      type: "bar",
      orientation: "h",
      y: names,
      x: rows.map((r) => (r.budget === null ? 0 : r.budget)),
      width: 0.7,
      marker: { color: GREY },
      name: "budget",
      text: rows.map((r) => (r.budget === null ? "no budget" : money(r.budget, r))),
      hovertemplate: "%{y}: budget %{text}<extra></extra>",
      textposition: "none",
    }, {
      type: "bar",
      orientation: "h",
      y: names,
      x: rows.map((r) => r.spent),
      width: 0.35,
      marker: { color: rows.map(spendColour) },
      name: "spent",
      text: rows.map((r) => money(r.spent, r)),
      hovertemplate: "%{y}: spent %{text}<extra></extra>",
      textposition: "none",
    }];
    window.Plotly.newPlot(el, traces, {
      barmode: "overlay",
      height: Math.max(120, 40 * rows.length + 50),
      margin: { l: 110, r: 16, t: 8, b: 32 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 11 },
      showlegend: false,
      // Money in plain decimals: Plotly's SI suffixes would print 0.0004 as "400µ".
      xaxis: { rangemode: "tozero", fixedrange: true, gridcolor: "#eef1f6", tickformat: ",.3~g",
        title: { text: rows.length ? esc(rows[0].currency) : "", standoff: 4 } },
      yaxis: { type: "category", automargin: true, autorange: "reversed", fixedrange: true },
    }, CONFIG);
  }

  function draw() {
    const source = document.getElementById("dashboard-data");
    if (!source || !window.Plotly) return;
    const data = JSON.parse(source.textContent);
    const lines = new Map(data.sparklines.map((line) => [line.slug, line]));
    document.querySelectorAll(".sparkline[data-slug]").forEach((el) => {
      const line = lines.get(el.dataset.slug);
      if (line) sparkline(el, line, el.dataset.series);
    });
    const chart = document.getElementById("spend-chart");
    if (chart && data.spend && data.spend.length) spend(chart, data.spend);
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
      select.addEventListener("change", () => select.form.requestSubmit());
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    autosubmit();
    draw();
  });
})();
