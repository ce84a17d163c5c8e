// Lineage page: draws the graph from the json_script block #lineage-data (built by
// apps/lineage/views.py) as an SVG of links, layered left to right by node type. Each node is
// an <a> to its page, so a click (or Enter on a focused node) opens it; hover lights up its links.
(() => {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const COL_MIN = 175;
  const COL_MAX = 240;
  const LAST = 190; // room for the last column's labels
  const ROW = 46;
  const PAD = { x: 30, top: 46, bottom: 20 };
  const R = 9;
  // Status words of every node type, grouped by meaning; anything else is drawn in OTHER.
  const GROUPS = [
    { color: "#17803d", words: ["ready", "succeeded", "live", "production", "current", "approved", "ok", "resolved"] },
    { color: "#2454d6", words: ["running", "processing", "staging", "canary", "shadow"] },
    { color: "#d97706", words: ["queued", "pending", "uploaded", "validating", "insufficient_data", "acknowledged"] },
    { color: "#c0262d", words: ["failed", "error", "rejected", "drift", "open", "expired"] },
    { color: "#8a8f98", words: ["none", "archived", "superseded", "cancelled", "empty", "killed", "skipped"] },
  ];
  const NEUTRAL = { color: "#475569", words: ["dataset"] };
  const OTHER = "#7c3aed";

  function colorOf(status) {
    const s = String(status || "").toLowerCase();
    const group = [...GROUPS, NEUTRAL].find((g) => g.words.includes(s));
    return group ? group.color : OTHER;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (parent) parent.appendChild(node);
    return node;
  }

  // About 6.5 px per character at 12 px: cut a label before it reaches the next column.
  function short(text, col) {
    const most = Math.max(12, Math.floor((col - R * 2 - 14) / 6.5));
    return text.length > most ? text.slice(0, most - 1) + "…" : text;
  }

  // Order each column by the mean position of its nodes' sources in earlier columns, so that
  // links mostly run straight; the first column keeps the server's order.
  function layout(data, col) {
    const column = new Map(data.layers.map((l, i) => [l.type, i]));
    const columns = data.layers.map(() => []);
    data.nodes.forEach((n) => columns[column.get(n.type) ?? columns.length - 1].push(n));
    const sources = new Map();
    data.edges.forEach((e) => {
      if (!sources.has(e.target)) sources.set(e.target, []);
      sources.get(e.target).push(e.source);
    });
    const pos = new Map();
    columns.forEach((nodes, i) => {
      const weight = (n) => {
        const ys = (sources.get(n.id) || []).filter((s) => pos.has(s)).map((s) => pos.get(s).row);
        return ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : Infinity;
      };
      const keyed = nodes.map((n, k) => ({ n, w: i === 0 ? k : weight(n), k }));
      keyed.sort((a, b) => (a.w === b.w ? a.k - b.k : a.w - b.w));
      keyed.forEach(({ n }, row) => pos.set(n.id, { x: PAD.x + i * col, row }));
    });
    const tallest = Math.max(1, ...columns.map((c) => c.length));
    pos.forEach((p) => { p.y = PAD.top + p.row * ROW + (ROW / 2); });
    return { pos, width: PAD.x * 2 + (data.layers.length - 1) * col + LAST, height: PAD.top + tallest * ROW + PAD.bottom };
  }

  // Columns as wide as the card allows, within bounds: a long chain scrolls sideways rather
  // than squeezing its labels together.
  function columnWidth(host, data) {
    const gaps = Math.max(1, data.layers.length - 1);
    const room = (host.clientWidth || 1000) - PAD.x * 2 - LAST;
    return Math.max(COL_MIN, Math.min(COL_MAX, Math.floor(room / gaps)));
  }

  function draw(host, data) {
    const col = columnWidth(host, data);
    const { pos, width, height } = layout(data, col);
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "lineage-svg" });
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "lineage-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }, marker);

    data.layers.forEach((l, i) => {
      const t = el("text", { x: PAD.x + i * col - R, y: 18, class: "layer-title" }, svg);
      t.textContent = l.label;
    });

    const edgeLayer = el("g", { class: "edges" }, svg);
    const edgesOf = new Map();
    data.edges.forEach((e) => {
      const a = pos.get(e.source);
      const b = pos.get(e.target);
      if (!a || !b) return;
      const x1 = a.x + R;
      const x2 = b.x - R - 2;
      const mid = (x1 + x2) / 2;
      const path = el("path", {
        d: `M ${x1} ${a.y} C ${mid} ${a.y}, ${mid} ${b.y}, ${x2} ${b.y}`,
        class: "edge", "marker-end": "url(#lineage-arrow)",
        "data-source": e.source, "data-target": e.target,
      }, edgeLayer);
      el("title", {}, path).textContent = `${e.source} → ${e.target} (${e.relation.replace(/_/g, " ")})`;
      [e.source, e.target].forEach((id) => {
        if (!edgesOf.has(id)) edgesOf.set(id, []);
        edgesOf.get(id).push(path);
      });
    });

    const nodeLayer = el("g", { class: "nodes" }, svg);
    data.nodes.forEach((n) => {
      const p = pos.get(n.id);
      // A node without a page of its own is drawn the same way but is not a link.
      const attrs = { class: "node" + (n.id === data.start ? " start" : "") + (n.url ? "" : " nolink"),
        "data-node": n.id, "data-status": n.status,
        "aria-label": `${n.label} (${n.type.replace(/_/g, " ")}, ${n.status})` };
      if (n.url) attrs.href = n.url;
      else attrs.tabindex = "0";
      const link = el(n.url ? "a" : "g", attrs, nodeLayer);
      el("title", {}, link).textContent = `${n.label}\n${n.type.replace(/_/g, " ")} · ${n.status}`;
      el("circle", { cx: p.x, cy: p.y, r: n.id === data.start ? R + 2 : R, fill: colorOf(n.status) }, link);
      // The label above the line its links run along, the status below it.
      const label = el("text", { x: p.x + R + 4, y: p.y - 5, class: "label" }, link);
      label.textContent = short(n.label, col);
      const status = el("text", { x: p.x + R + 4, y: p.y + 15, class: "status" }, link);
      status.textContent = n.status;
      const light = (on) => (edgesOf.get(n.id) || []).forEach((e) => e.classList.toggle("lit", on));
      link.addEventListener("mouseenter", () => light(true));
      link.addEventListener("mouseleave", () => light(false));
      link.addEventListener("focus", () => light(true));
      link.addEventListener("blur", () => light(false));
    });
    host.replaceChildren(svg);
  }

  function legend(host, data) {
    const seen = [...new Set(data.nodes.map((n) => n.status))].sort();
    host.replaceChildren(...seen.map((s) => {
      const item = document.createElement("span");
      item.className = "legend-item";
      item.dataset.status = s;
      const dot = document.createElement("i");
      dot.style.background = colorOf(s);
      item.append(dot, document.createTextNode(s));
      return item;
    }));
  }

  function init() {
    const source = document.getElementById("lineage-data");
    const host = document.getElementById("lineage-graph");
    if (!source || !host) return;
    const data = JSON.parse(source.textContent);
    draw(host, data);
    host.dataset.ready = "1";
    const legendHost = document.getElementById("lineage-legend");
    if (legendHost) legend(legendHost, data);
    document.querySelectorAll(".lineage-status[data-status]").forEach((chip) => {
      chip.style.setProperty("--dot", colorOf(chip.dataset.status));
    });
    // Switching direction or depth redraws at once; the Show button stays for keyboard users.
    const form = document.getElementById("lineage-controls");
    if (form) {
      // "all" is the default: leave it out of the address rather than send an empty depth.
      form.addEventListener("submit", () => {
        const depth = form.elements.namedItem("depth");
        if (depth && !depth.value) depth.disabled = true;
      });
      form.addEventListener("change", () => form.requestSubmit());
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
