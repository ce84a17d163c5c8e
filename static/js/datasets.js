// Dataset pages: the upload widget, the rule form's params hints and the profile charts.
//
// Every name shown here (file, column, category value) is user data. It goes into the DOM as
// textContent only, and into Plotly (which reads a little HTML in labels) HTML-escaped.
(() => {
  "use strict";

  const FIELD_LABELS = { file: "File", note: "Note" };
  // Keys of a 409 answer that are data for the page, not messages for people.
  const NOT_MESSAGES = new Set(["version", "id"]);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatBytes(n) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }

  // ---- upload ------------------------------------------------------------------------------

  function csrfToken(form) {
    // The cookie holds the current token; the data attribute (rendered with the page) is the
    // fallback for when the cookie is HttpOnly or missing.
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === "csrftoken") return decodeURIComponent(rest.join("="));
    }
    return form.dataset.csrf || "";
  }

  // The API's error body ({"file": [...]}, {"detail": "..."}, ...) as sentences for people.
  function errorMessages(status, body) {
    const out = [];
    if (body && typeof body === "object" && !Array.isArray(body)) {
      for (const [field, value] of Object.entries(body)) {
        if (NOT_MESSAGES.has(field)) continue;
        for (const item of Array.isArray(value) ? value : [value]) {
          if (typeof item !== "string") continue;
          const label = field === "detail" || field === "non_field_errors" ? "" : FIELD_LABELS[field] || field;
          out.push(label ? `${label}: ${item}` : item);
        }
      }
    } else if (Array.isArray(body)) {
      out.push(...body.filter((item) => typeof item === "string"));
    }
    if (out.length) return out;
    if (status === 413) return ["The file is larger than the upload limit."];
    if (status === 403) return ["Your role in this project does not allow uploads."];
    if (status === 401) return ["Your session has ended; sign in again."];
    return [`The upload failed (HTTP ${status}). Try again, or ask an administrator.`];
  }

  function initUpload(form) {
    const input = form.querySelector("[data-file-input]");
    const zone = form.querySelector("[data-dropzone]");
    const fileName = form.querySelector("[data-file-name]");
    const button = form.querySelector("[data-upload-button]");
    const progressBox = form.querySelector("[data-progress]");
    const bar = progressBox.querySelector("progress");
    const label = form.querySelector("[data-progress-label]");
    const errors = form.querySelector("[data-upload-errors]");
    const versionUrl = (id) => form.dataset.versionUrl.replace("{id}", encodeURIComponent(id));
    let file = null;
    let busy = false;

    function showErrors(lines, existing) {
      errors.replaceChildren(...lines.map((line) => el("p", "", line)));
      if (existing) {
        // 409: the same bytes are already a version of this dataset; offer to open it.
        const p = el("p");
        const link = el("a", "", `Open version ${existing.version} →`);
        link.href = versionUrl(existing.id);
        p.append(link);
        errors.append(p);
      }
      errors.hidden = false;
    }

    function clearErrors() {
      errors.replaceChildren();
      errors.hidden = true;
    }

    function setBusy(value) {
      busy = value;
      button.disabled = value || !file;
      input.disabled = value;
      form.classList.toggle("busy", value);
    }

    function setProgress(fraction) {
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      label.textContent = `${percent}%`;
    }

    function choose(chosen) {
      if (busy) return;
      file = chosen || null;
      fileName.textContent = file ? `${file.name} (${formatBytes(file.size)})` : "No file chosen.";
      button.disabled = !file;
      progressBox.hidden = true;
      clearErrors();
    }

    function send() {
      const data = new FormData();
      data.append("file", file, file.name);
      data.append("note", form.elements.note.value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) setProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null; // an HTML error page or an empty body: fall back to a generic message
        }
        if (xhr.status === 201 && body && body.id) {
          setProgress(1);
          label.textContent = `Uploaded as version ${body.version}; opening it…`;
          window.location.assign(versionUrl(body.id));
          return;
        }
        setBusy(false);
        progressBox.hidden = true;
        const existing =
          xhr.status === 409 && body && body.id && body.version
            ? { id: body.id, version: body.version }
            : null;
        showErrors(errorMessages(xhr.status, body), existing);
      };
      xhr.onerror = () => {
        setBusy(false);
        progressBox.hidden = true;
        showErrors([
          "The upload was interrupted: the connection closed before the server answered " +
            "(a file over the size limit is cut off this way, too).",
        ]);
      };
      clearErrors();
      setProgress(0);
      progressBox.hidden = false;
      setBusy(true);
      xhr.send(data);
    }

    input.addEventListener("change", () => choose(input.files[0]));
    // A file picked before this deferred script ran fired its change event unheard.
    if (input.files.length) choose(input.files[0]);
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        if (!busy) zone.classList.add("over");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      zone.addEventListener(type, (event) => {
        event.preventDefault();
        zone.classList.remove("over");
      });
    }
    zone.addEventListener("drop", (event) => {
      const files = event.dataTransfer ? event.dataTransfer.files : [];
      if (!files.length) return;
      choose(files[0]);
      if (files.length > 1) showErrors(["One file per version: only the first file was taken."]);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (file && !busy) send();
    });
  }

  // ---- validation rule form ----------------------------------------------------------------

  function initRuleForm(form) {
    const source = document.getElementById("params-hints");
    if (!source) return;
    const hints = JSON.parse(source.textContent);
    const kind = form.querySelector("select[name=kind]");
    const column = form.querySelector("input[name=column]");
    const params = form.querySelector("textarea[name=params]");
    const hint = form.querySelector("[data-params-hint]");
    const tableWide = new Set(["required_columns", "row_count_range"]);

    function update() {
      const text = hints[kind.value] || "";
      const example = text.split("  ")[0];
      hint.replaceChildren(el("span", "", `Expected: ${text} `));
      if (example && example !== "{}") {
        const use = el("button", "link-button", "use this example");
        use.type = "button";
        use.addEventListener("click", () => {
          params.value = example;
          params.focus();
        });
        hint.append(use);
      }
      params.placeholder = example;
      column.placeholder = tableWide.has(kind.value) ? "not used by this kind" : "column name";
    }

    kind.addEventListener("change", update);
    update();
  }

  // ---- profile charts ----------------------------------------------------------------------

  // Plotly renders a few tags (<b>, <br>, <a>) inside labels; escaped text shows literally.
  function plotlyText(value, max) {
    let text = String(value);
    if (max && text.length > max) text = `${text.slice(0, max - 1)}…`;
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  const BASE_LAYOUT = {
    height: 190,
    margin: { l: 48, r: 8, t: 8, b: 32 },
    bargap: 0.05,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11 },
    showlegend: false,
  };
  const CONFIG = { displayModeBar: false, responsive: true };

  function drawHistogram(node, histogram) {
    const { edges, counts } = histogram;
    const centers = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
    const widths = counts.map((_, i) => edges[i + 1] - edges[i]);
    const trace = {
      type: "bar",
      x: centers,
      y: counts,
      width: widths,
      customdata: counts.map((_, i) => [edges[i], edges[i + 1]]),
      hovertemplate: "%{customdata[0]:.4g} – %{customdata[1]:.4g}<br>%{y:,} rows<extra></extra>",
      marker: { color: "#2454d6" },
    };
    const layout = {
      ...BASE_LAYOUT,
      xaxis: { automargin: true },
      yaxis: { automargin: true, rangemode: "tozero" },
    };
    window.Plotly.newPlot(node, [trace], layout, CONFIG);
  }

  function drawTop(node, top) {
    // Positions, not category names, on the axis: values such as "1" and "01" stay apart, and
    // two long values that share a truncated label do not merge into one bar.
    const positions = top.map((_, i) => i);
    const trace = {
      type: "bar",
      orientation: "h",
      x: top.map((item) => item.count),
      y: positions,
      text: top.map((item) => plotlyText(item.value, 200)),
      textposition: "none",
      hovertemplate: "%{text}<br>%{x:,} rows<extra></extra>",
      marker: { color: "#17803d" },
    };
    const layout = {
      ...BASE_LAYOUT,
      height: Math.max(120, 40 + top.length * 18),
      margin: { l: 8, r: 8, t: 8, b: 28 },
      xaxis: { automargin: true, rangemode: "tozero" },
      yaxis: {
        tickvals: positions,
        ticktext: top.map((item) => plotlyText(item.value, 18)),
        autorange: "reversed",
        automargin: true,
      },
    };
    window.Plotly.newPlot(node, [trace], layout, CONFIG);
  }

  function initCharts(container) {
    const source = document.getElementById("profile-data");
    if (!source) return;
    const charts = JSON.parse(source.textContent);
    container.replaceChildren();
    if (!charts.length) {
      container.append(el("p", "muted", "No columns to draw."));
      return;
    }
    if (!window.Plotly) {
      container.append(el("p", "muted", "The chart library did not load."));
      return;
    }
    for (const chart of charts) {
      const figure = el("figure", "chart");
      const caption = el("figcaption");
      caption.append(el("code", "", chart.name), el("span", "muted", ` ${chart.type}`));
      const plot = el("div", "plot");
      figure.append(caption, plot);
      container.append(figure);
      if (chart.histogram) {
        drawHistogram(plot, chart.histogram);
      } else if (chart.top) {
        drawTop(plot, chart.top);
      } else {
        plot.classList.add("noplot");
        plot.textContent = "No distribution to draw for this column.";
      }
    }
  }

  function init() {
    document.querySelectorAll("form[data-upload]").forEach(initUpload);
    document.querySelectorAll("form[data-rule-form]").forEach(initRuleForm);
    document.querySelectorAll("[data-profile-charts]").forEach(initCharts);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
