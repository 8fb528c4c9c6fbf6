/* DOM building (text is always set as text, never parsed as HTML), formatting, toasts,
 * dialogs and the loading / empty / error states every page uses. */

import { icon } from "./icons.js";

/** h("button.btn.ghost", {onclick, type: "button"}, "Save") -> element. */
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    if (attrs !== undefined && attrs !== null) children.unshift(attrs);
    attrs = {};
  }
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = [el.className, value].filter(Boolean).join(" ");
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- formatting ----------------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export const fmtDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
const shortThisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
/** Compact date and time for tables (the year only when it is not this year). */
export function fmtWhen(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.getFullYear() === new Date().getFullYear() ? shortThisYear.format(date) : dateTime.format(date);
}
export const fmtTime = (iso) => (iso ? timeOnly.format(new Date(iso)) : "");
export const fmtDay = (iso) => dayOnly.format(new Date(`${iso}T00:00:00`));
export const fmtNumber = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());
export const fmtPercent = (r) => (r === null || r === undefined ? "—" : `${Math.round(r * 1000) / 10}%`);

export function fmtAgo(iso) {
  if (!iso) return "never";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? "just now" : "in a moment";
  const [unit, size] = abs < 3600 ? ["minute", 60] : abs < 86400 ? ["hour", 3600] : ["day", 86400];
  return relative.format(Math.round(seconds / size), unit);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export const since = (iso) => fmtDuration((Date.now() - new Date(iso).getTime()) / 1000);

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Who a caller is: phone callers by number, website callers by the site they called from. */
export function callerName(caller, channel) {
  if (!caller) return channel === "browser" ? "Website visitor" : "Unknown caller";
  if (/^https?:\/\//.test(caller)) {
    try { return `Visitor on ${new URL(caller).host}`; } catch (_) { return caller; }
  }
  return caller;
}

export const initials = (text) => (text || "?").split(/[\s@._-]+/).filter(Boolean).slice(0, 2).map((w) => w[0]).join("");

const CHANNEL_NAMES = { browser: "Website", twilio: "Phone", connect: "Amazon Connect", chat: "Text chat" };
export const channelName = (channel) => CHANNEL_NAMES[channel] || channel;

// ---- small components ------------------------------------------------------------------------

export function badge(status, label) {
  const text = label || String(status).replace(/_/g, " ");
  return h(`span.badge.${status}`, { "data-status": status }, text[0].toUpperCase() + text.slice(1));
}

export function loading(text = "Loading…") {
  return h("div.state", { role: "status", "data-state": "loading" }, h("span.spinner"), h("p", text));
}

export function emptyState({ iconName = "inbox", title, text, action }) {
  return h("div.state", { "data-state": "empty" },
    h("div.state-icon", icon(iconName)), h("h3", title), text ? h("p", text) : null, action || null);
}

export function errorState(error, retry, title) {
  return h("div.state.error", { role: "alert", "data-state": "error" },
    h("div.state-icon", icon("alert")),
    h("h3", title || (error && error.status === 404 ? "Not found" : "Something went wrong")),
    h("p", error && error.message ? error.message : String(error)),
    retry ? h("button.btn.ghost.sm", { type: "button", onclick: retry }, icon("refresh"), "Try again") : null);
}

export function pageHead(title, subtitle, ...actions) {
  return h("header.page-head",
    h("div", h("h1", title), subtitle ? h("p", subtitle) : null),
    actions.length ? h("div.actions", actions) : null);
}

/** A button that shows a spinner and is disabled while `work` runs. */
export async function busy(button, work) {
  const previous = [...button.childNodes];
  button.disabled = true;
  button.replaceChildren(h("span.spinner"), ...previous.filter((n) => n.nodeType === Node.TEXT_NODE));
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.replaceChildren(...previous);
  }
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const area = h("textarea", { class: "sr-only" }, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    const label = button.querySelector("span");
    if (label) {
      const before = label.textContent;
      label.textContent = "Copied";
      setTimeout(() => { label.textContent = before; }, 1600);
    }
  }
}

// ---- toasts and dialogs ------------------------------------------------------------------------

const TOAST_ICONS = { info: "bell", handoff: "queue", error: "alert", success: "check" };

/** A toast at the top right; `actions` are [label, fn] pairs. Closes after `timeout` ms (0: stays). */
export function toast({ title, text = "", kind = "info", actions = [], timeout = 6000 }) {
  const region = document.getElementById("toasts");
  const close = () => {
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 200);
  };
  const el = h(`div.toast.${kind}`, { role: kind === "error" ? "alert" : "status", "data-kind": kind },
    h("div.toast-icon", icon(TOAST_ICONS[kind] || "bell")),
    h("div.toast-body", h("strong", title), text ? h("p", text) : null,
      actions.length ? h("div.toast-actions", actions.map(([label, fn], i) =>
        h(`button.btn.sm${i ? ".ghost" : ""}`, { type: "button", onclick: () => { close(); fn(); } }, label))) : null),
    h("button.close", { type: "button", "aria-label": "Dismiss", onclick: close }, "×"));
  region.prepend(el);
  while (region.children.length > 4) region.lastElementChild.remove();
  if (timeout) setTimeout(close, timeout);
  return close;
}

/** A modal dialog; resolves with the value passed to `done` (undefined when dismissed). */
export function modal(build) {
  return new Promise((resolve) => {
    const previousFocus = document.activeElement;
    const backdrop = h("div.modal-backdrop");
    const box = h("div.modal", { role: "dialog", "aria-modal": "true" });
    const done = (value) => {
      document.removeEventListener("keydown", onKey);
      backdrop.remove();
      if (previousFocus && previousFocus.focus) previousFocus.focus();
      resolve(value);
    };
    const onKey = (event) => { if (event.key === "Escape") done(undefined); };
    backdrop.addEventListener("mousedown", (event) => { if (event.target === backdrop) done(undefined); });
    document.addEventListener("keydown", onKey);
    build(box, done);
    backdrop.append(box);
    document.body.append(backdrop);
    const first = box.querySelector("input, select, textarea, button.btn");
    if (first) first.focus();
  });
}

export function confirmDialog({ title, text, confirm = "Confirm", danger = false }) {
  return modal((box, done) => {
    mount(box,
      h("h2", title),
      h("p.modal-text", text),
      h("div.modal-actions",
        h("button.btn.ghost", { type: "button", onclick: () => done(false) }, "Cancel"),
        h(`button.btn${danger ? ".danger" : ""}`, { type: "button", "data-testid": "confirm", onclick: () => done(true) }, confirm)));
  }).then(Boolean);
}
