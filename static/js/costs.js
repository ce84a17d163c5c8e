// Cost page: spend against budget by project, spend by kind and by model, from the json_script
// block #cost-data (built by apps/costs/views/pages.py). Names are data: escaped for Plotly.
(() => {
  "use strict";

  const CONFIG = { displayModeBar: false, responsive: true };
  const COLORS = { training: "#2454d6", sweeps: "#7c3aed", serving: "#17803d" };

  function esc(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function layout(extra) {
    return Object.assign({
      height: 280,
      margin: { l: 56, r: 16, t: 12, b: 64 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { size: 11 },
    }, extra);
  }

  function empty(el, text) {
    el.replaceChildren(Object.assign(document.createElement("p"), { className: "noplot muted", textContent: text }));
  }

  function byProject(el, rows, currency) {
    if (!rows.length) return empty(el, "No project.");
    const names = rows.map((r) => esc(r.project));
    window.Plotly.react(el, [
      { type: "bar", name: "spent", x: names, y: rows.map((r) => r.spent), marker: { color: "#2454d6" } },
      { type: "bar", name: "budget", x: names, y: rows.map((r) => r.budget), marker: { color: "#d6d3d1" } },
    ], layout({ barmode: "group", yaxis: { title: { text: currency } }, legend: { orientation: "h" } }), CONFIG);
  }

  function byKind(el, rows) {
    if (!rows.some((r) => r.cost > 0)) return empty(el, "Nothing spent this month.");
    window.Plotly.react(el, [{
      type: "pie",
      labels: rows.map((r) => r.kind),
      values: rows.map((r) => r.cost),
      marker: { colors: rows.map((r) => COLORS[r.kind]) },
      hole: 0.45,
      sort: false,
    }], layout({ margin: { l: 16, r: 16, t: 12, b: 12 } }), CONFIG);
  }

  function byModel(el, rows, currency) {
    if (!rows.length) return empty(el, "No model cost this month.");
    const names = rows.map((r) => `${esc(r.project)}/${esc(r.model)}`);
    window.Plotly.react(el, ["training", "serving"].map((kind) => ({
      type: "bar", name: kind, x: names, y: rows.map((r) => r[kind]), marker: { color: COLORS[kind] },
    })), layout({ barmode: "stack", yaxis: { title: { text: currency } }, legend: { orientation: "h" } }), CONFIG);
  }

  function draw() {
    const source = document.getElementById("cost-data");
    if (!source || !window.Plotly) return;
    const data = JSON.parse(source.textContent);
    byProject(document.getElementById("chart-project"), data.by_project, data.currency);
    byKind(document.getElementById("chart-kind"), data.by_kind);
    byModel(document.getElementById("chart-model"), data.by_model, data.currency);
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
