// Training pages: the launch form's small helpers and a job's live curves.
//
// The curves come from a json_script block (#training-history) that the job page's live part
// carries; every 2 s htmx swaps that part in while the job runs, and the curves are redrawn
// from the new history in place (their card is kept across swaps with hx-preserve).
// Metric names are data: they reach Plotly HTML-escaped and the DOM as textContent only.
(() => {
  "use strict";

  const LOSS_KEYS = ["train_loss", "val_loss"];
  const COLORS = ["#2454d6", "#c0262d", "#17803d", "#b45309", "#7c3aed", "#0e7490"];
  const CONFIG = { displayModeBar: false, responsive: true };
  const BASE_LAYOUT = {
    margin: { l: 52, r: 12, t: 8, b: 36 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11 },
    hovermode: "x unified",
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function readChart() {
    const source = document.getElementById("training-history");
    if (!source) return null;
    try {
      return JSON.parse(source.textContent);
    } catch {
      return null;
    }
  }

  function isNumber(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  // Every numeric key of the history entries other than the epoch, in first-seen order.
  function seriesKeys(history) {
    const keys = [];
    for (const entry of history) {
      for (const [key, value] of Object.entries(entry)) {
        if (key !== "epoch" && isNumber(value) && !keys.includes(key)) keys.push(key);
      }
    }
    return keys;
  }

  function trace(history, key, color) {
    const points = history.filter((entry) => isNumber(entry[key]));
    return {
      type: "scatter",
      mode: points.length > 1 ? "lines+markers" : "markers",
      name: plotlyText(key),
      x: points.map((entry) => entry.epoch),
      y: points.map((entry) => entry[key]),
      line: { color, width: 2 },
      marker: { color, size: 5 },
      hovertemplate: `${plotlyText(key)} %{y:.4g}<extra></extra>`,
    };
  }

  function layout(chart, height, showLegend, maxTicks) {
    const lastEpoch = chart.history.length ? chart.history[chart.history.length - 1].epoch : 1;
    const range = [0.5, Math.max(chart.epochs || 0, lastEpoch, 1) + 0.5];
    return {
      ...BASE_LAYOUT,
      height,
      showlegend: showLegend,
      legend: { orientation: "h", x: 0, y: 1.12 },
      margin: { ...BASE_LAYOUT.margin, t: showLegend ? 28 : 8 },
      xaxis: { title: { text: "epoch" }, range, dtick: range[1] > maxTicks ? undefined : 1, zeroline: false },
      yaxis: { automargin: true, zeroline: false },
    };
  }

  // One figure per plot, created once; later calls only hand Plotly the new data.
  function figure(container, id, title, wide) {
    let plot = container.querySelector(`[data-plot="${id}"]`);
    if (plot) return plot;
    const box = el("figure", wide ? "chart curve wide" : "chart curve");
    const caption = el("figcaption");
    caption.append(el("strong", "", title));
    if (id === `metric:${container.dataset.primary}`) caption.append(el("span", "muted", " primary"));
    plot = el("div", "plot");
    plot.dataset.plot = id;
    box.append(caption, plot);
    container.append(box);
    return plot;
  }

  function draw(container) {
    const chart = readChart();
    if (!chart) return;
    const history = Array.isArray(chart.history) ? chart.history : [];
    if (!history.length) {
      if (!container.querySelector("[data-plot]")) {
        container.replaceChildren(
          el("p", "muted", "The curves appear after the first epoch."),
        );
      }
      return;
    }
    if (!window.Plotly) {
      container.replaceChildren(el("p", "muted", "The chart library did not load."));
      return;
    }
    if (!container.querySelector("[data-plot]")) container.replaceChildren();
    container.dataset.primary = chart.primary || "";
    const keys = seriesKeys(history);
    // Stored as JSONB, the entries' keys come back in no meaningful order: fix one.
    const losses = LOSS_KEYS.filter((key) => keys.includes(key));
    const metrics = keys.filter((key) => !LOSS_KEYS.includes(key)).sort();
    metrics.sort((a, b) => (b === chart.primary) - (a === chart.primary));
    if (losses.length) {
      const plot = figure(container, "loss", "Loss (train and validation)", true);
      const traces = losses.map((key, i) => trace(history, key, COLORS[i % COLORS.length]));
      window.Plotly.react(plot, traces, layout(chart, 260, true, 12), CONFIG);
    }
    metrics.forEach((key, i) => {
      const plot = figure(container, `metric:${key}`, `validation ${key}`, false);
      const color = COLORS[(i + 2) % COLORS.length];
      window.Plotly.react(plot, [trace(history, key, color)], layout(chart, 190, false, 6), CONFIG);
    });
  }

  function scrollLog() {
    const log = document.querySelector("pre[data-log]");
    if (log) log.scrollTop = log.scrollHeight;
  }

  function refresh() {
    document.querySelectorAll("[data-training-curves]").forEach(draw);
    scrollLog();
  }

  // ---- launch form ---------------------------------------------------------------------------

  function initLaunch(form) {
    // The model name defaults to the experiment's: show which name an empty box means.
    const experiment = form.querySelector("input[name=experiment]");
    const modelName = form.querySelector("input[name=model_name]");
    if (experiment && modelName) {
      const sync = () => {
        modelName.placeholder = experiment.value.trim() || "Same as the experiment";
      };
      experiment.addEventListener("input", sync);
      sync();
    }
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) {
        // Disabled after the browser has collected the form: a double click starts one job.
        setTimeout(() => {
          button.disabled = true;
          button.textContent = "Starting…";
        }, 0);
      }
    });
  }

  // Forms that do something hard to undo ask first (no inline handlers: the text is data).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    }
  });

  // The live part was swapped in (htmx): redraw from the history it brought.
  document.addEventListener("htmx:afterSettle", () => {
    if (document.getElementById("training-live")) refresh();
  });

  function init() {
    document.querySelectorAll("form[data-launch-form]").forEach(initLaunch);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
