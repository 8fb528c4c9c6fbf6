/* The audit log: who changed what, and when (admins only). */

import { api } from "../api.js";
import { emptyState, errorState, fmtAgo, fmtDateTime, h, loading, mount, pageHead } from "../ui.js";

const LIMIT = 200;

function describe(details) {
  return Object.entries(details || {})
    .filter(([key]) => key !== "user_id")
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(" · ");
}

export function render(root) {
  let action = "";
  let entries = [];
  const body = h("div", loading());
  const filter = h("select.select.sm", { "aria-label": "Action", "data-testid": "audit-action" }, h("option", { value: "" }, "All actions"));
  filter.addEventListener("change", () => { action = filter.value; draw(); });
  mount(root, pageHead("Audit log", "Every change in your organization: who did it, what changed and when."), h("div.toolbar", filter), body);

  const draw = () => {
    const shown = action ? entries.filter((e) => e.action === action) : entries;
    if (!shown.length) {
      mount(body, emptyState({ iconName: "audit", title: "Nothing recorded yet", text: "Sign-ins, agent changes, keys and queue pickups are recorded here." }));
      return;
    }
    mount(body, h("div.table-wrap", h("table", { "data-testid": "audit-table" },
      h("thead", h("tr", ["When", "Who", "Action", "Target", "Details"].map((t) => h("th", t)))),
      h("tbody", shown.map((e) => h("tr",
        h("td.nowrap", { title: fmtDateTime(e.at) }, fmtAgo(e.at)),
        h("td", e.actor),
        h("td", h("span.badge.plain.action", e.action)),
        h("td", h("code", e.target || "—")),
        h("td.details-cell", describe(e.details) || h("span.muted", "—"))))))));
  };

  const load = async () => {
    try {
      entries = await api("/api/audit", { query: { limit: LIMIT } });
      const actions = [...new Set(entries.map((e) => e.action))].sort();
      filter.replaceChildren(h("option", { value: "" }, "All actions"), ...actions.map((a) => h("option", { value: a, selected: a === action }, a)));
      draw();
    } catch (exc) {
      mount(body, exc.status === 403
        ? emptyState({ iconName: "audit", title: "Admins only", text: "Ask an administrator of your organization to see the audit log." })
        : errorState(exc, load));
    }
  };
  load();
}
