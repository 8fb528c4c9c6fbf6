/* Small SVG and HTML charts drawn with the design tokens (no chart library needed):
 * stacked daily bars, a donut, and horizontal bars. Every mark has a text title. */

import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** A round upper bound for an axis and its step: 7 -> [8, 2], 130 -> [150, 50]. */
export function niceScale(max, ticks = 4) {
  if (max <= 0) return [ticks, 1];
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((c) => c >= raw && (c >= 1 || power < 1)) || power * 10;
  const unit = Math.max(step, max < ticks ? 1 : step);
  return [Math.ceil(max / unit) * unit, unit];
}

/**
 * Stacked bars per day: `series` is [{key, label, className}], `rows` [{label, title, values: {key: n}}].
 */
export function stackedBars({ rows, series, height = 240, width = 760, ariaLabel }) {
  const pad = { top: 12, right: 8, bottom: 28, left: 36 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const totals = rows.map((r) => series.reduce((sum, x) => sum + (r.values[x.key] || 0), 0));
  const [max, step] = niceScale(Math.max(0, ...totals));
  const slot = innerW / Math.max(rows.length, 1);
  const barW = Math.max(2, Math.min(28, slot * 0.62));
  const y = (v) => pad.top + innerH - (v / max) * innerH;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": ariaLabel });
  for (let v = 0; v <= max; v += step) {
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: pad.left - 8, y: y(v) + 4, class: "axis", "text-anchor": "end" }, v));
  }
  const labelEvery = Math.ceil(rows.length / 10);
  rows.forEach((row, i) => {
    const x = pad.left + slot * i + (slot - barW) / 2;
    let base = 0;
    const group = s("g", { class: "bar" }, s("title", {}, row.title || `${row.label}: ${totals[i]}`));
    for (const part of series) {
      const value = row.values[part.key] || 0;
      if (!value) continue;
      const top = y(base + value);
      group.append(s("rect", { x, y: top, width: barW, height: Math.max(0, y(base) - top), rx: Math.min(4, barW / 2), class: part.className }));
      base += value;
    }
    if (!totals[i]) group.append(s("rect", { x, y: y(0) - 2, width: barW, height: 2, rx: 1, class: "empty" }));
    svg.append(group);
    if (i % labelEvery === 0) svg.append(s("text", { x: x + barW / 2, y: height - 8, class: "axis", "text-anchor": "middle" }, row.label));
  });
  return svg;
}

/** A donut of `parts` [{label, value, className}] with a big figure in the middle. */
export function donut({ parts, center, caption, size = 180 }) {
  const r = 70;
  const c = 2 * Math.PI * r;
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const svg = s("svg", { viewBox: "0 0 180 180", width: size, height: size, class: "chart donut", role: "img", "aria-label": parts.map((p) => `${p.label}: ${p.value}`).join(", ") });
  svg.append(s("circle", { cx: 90, cy: 90, r, class: "track" }));
  let offset = 0;
  for (const part of parts) {
    if (!total || !part.value) continue;
    const length = (part.value / total) * c;
    svg.append(s("circle", {
      cx: 90, cy: 90, r, class: `arc ${part.className}`, "stroke-dasharray": `${length} ${c - length}`,
      "stroke-dashoffset": -offset, transform: "rotate(-90 90 90)",
    }, s("title", {}, `${part.label}: ${part.value}`)));
    offset += length;
  }
  svg.append(s("text", { x: 90, y: 92, class: "donut-figure", "text-anchor": "middle" }, center),
    s("text", { x: 90, y: 114, class: "donut-caption", "text-anchor": "middle" }, caption));
  return svg;
}

/** Horizontal bars as HTML rows: [{label, value, display, className}]. */
export function hbars(items, { max } = {}) {
  const top = max || Math.max(1, ...items.map((i) => i.value));
  return h("ul.hbars", items.map((item) => {
    const fill = h(`span.hbar-fill.${item.className || "accent"}`);
    fill.style.width = `${Math.max(2, (item.value / top) * 100)}%`;
    return h("li", { title: `${item.label}: ${item.display ?? item.value}` },
      h("div.hbar-label", h("span", item.label), h("strong", item.display ?? item.value)),
      h("span.hbar-track", fill));
  }));
}

export function legend(series) {
  return h("ul.legend", series.map((x) => h("li", h(`span.swatch.${x.className}`), x.label)));
}
