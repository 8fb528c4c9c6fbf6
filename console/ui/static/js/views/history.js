/* Call and chat history: filters (agent, channel, status, handoff, dates) kept in the URL, paged. */

import { api } from "../api.js";
import { on } from "../live.js";
import { CHANNEL_ICONS, icon } from "../icons.js";
import { href, navigate } from "../router.js";
import { badge, callerName, channelName, emptyState, errorState, fmtDateTime, fmtDuration, fmtWhen, h, loading, mount, pageHead } from "../ui.js";

const PAGE = 25;
const CHANNELS = [["", "All channels"], ["browser", "Website"], ["twilio", "Phone"], ["connect", "Amazon Connect"], ["chat", "Text chat"]];
const STATUSES = [["", "Any status"], ["active", "Active"], ["ended", "Ended"], ["handoff", "Handed off"], ["failed", "Failed"]];
const HANDOFF = [["", "Handoff: any"], ["true", "Handed to a person"], ["false", "Handled by the AI"]];
const FILTERS = ["agent_id", "channel", "status", "handoff", "from", "to"];

function dayStart(date, plusDays = 0) {
  const d = new Date(`${date}T00:00:00`);
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}

export function render(root) {
  const params = new URLSearchParams(location.search);
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const body = h("div", loading());
  const agentSelect = h("select.select.sm", { name: "agent_id", "aria-label": "Agent" }, h("option", { value: "" }, "All agents"));
  const options = (name, list, label) => h("select.select.sm", { name, "aria-label": label }, list.map(([v, t]) => h("option", { value: v, selected: params.get(name) === v }, t)));
  const from = h("input.input.sm", { type: "date", name: "from", value: params.get("from") || "", "aria-label": "From date" });
  const to = h("input.input.sm", { type: "date", name: "to", value: params.get("to") || "", "aria-label": "To date" });
  const filters = h("form.filters.oratio-corner-top-left", { "data-testid": "history-filters" },
    h("span.filters-icon", icon("filter")),
    agentSelect, options("channel", CHANNELS, "Channel"), options("status", STATUSES, "Status"), options("handoff", HANDOFF, "Handoff"),
    h("label.date-range", from, h("span.muted", "–"), to),
    h("button.btn.ghost.sm", { type: "button", "data-testid": "clear-filters", onclick: () => navigate("/history") }, "Clear"));
  filters.addEventListener("change", () => {
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = filters.elements.namedItem(name).value;
      if (value) next.set(name, value);
    }
    navigate(`/history${next.toString() ? `?${next}` : ""}`, { replace: true });
  });
  mount(root, pageHead("History", "Every conversation with your agents: filter, then open one for its transcript and recording."), filters, body);

  const pageLink = (newOffset) => {
    const next = new URLSearchParams(params);
    if (newOffset) next.set("offset", String(newOffset));
    else next.delete("offset");
    return href(`/history${next.toString() ? `?${next}` : ""}`);
  };

  const load = async () => {
    try {
      const query = {
        agent_id: params.get("agent_id"), channel: params.get("channel"), status: params.get("status"), handoff: params.get("handoff"),
        since: params.get("from") ? dayStart(params.get("from")) : null, until: params.get("to") ? dayStart(params.get("to"), 1) : null,
        limit: PAGE, offset,
      };
      const [page, agents] = await Promise.all([api("/api/sessions", { query }), api("/api/agents", { query: { include_archived: true } })]);
      const names = Object.fromEntries(agents.map((a) => [a.id, a.name]));
      agentSelect.replaceChildren(h("option", { value: "" }, "All agents"), ...agents.map((a) => h("option", { value: a.id, selected: params.get("agent_id") === a.id }, a.name + (a.status === "archived" ? " (deleted)" : ""))));
      const filtered = FILTERS.some((name) => params.get(name));
      if (!page.items.length) {
        mount(body, emptyState({
          iconName: "history", title: filtered || offset ? "No conversations match" : "No conversations yet",
          text: filtered ? "Try other filters, or clear them." : "Calls and chats appear here once they start.",
          action: filtered ? h("a.btn.ghost", { href: href("/history") }, "Clear filters") : null,
        }));
        return;
      }
      mount(body,
        h("div.table-wrap", h("table", { "data-testid": "history-table" },
          h("thead", h("tr", ["Started", "Agent", "Channel", "Caller", "Duration", "Status", "Handoff reason"].map((t, i) => h(`th${i === 4 ? ".num" : ""}`, t)))),
          h("tbody", page.items.map((s) => h("tr.clickable", { "data-session-id": s.id, tabindex: "0", onclick: () => navigate(`/sessions/${encodeURIComponent(s.id)}`),
            onkeydown: (e) => { if (e.key === "Enter") navigate(`/sessions/${encodeURIComponent(s.id)}`); } },
          h("td.nowrap", { title: fmtDateTime(s.started_at) }, fmtWhen(s.started_at)),
          h("td", names[s.agent_id] || s.agent_id),
          h("td.nowrap", h("span.row.channel", icon(CHANNEL_ICONS[s.channel]), channelName(s.channel))),
          h("td.ellipsis", callerName(s.caller, s.channel)),
          h("td.num", fmtDuration(s.duration_seconds)),
          h("td", badge(s.status)),
          h("td.reason-cell", s.handoff_reason || h("span.muted", "—"))))))),
        h("nav.pager", { "aria-label": "Pages" },
          h("span.muted", `Showing ${offset + 1}–${offset + page.items.length}`),
          h("div.row",
            offset > 0 ? h("a.btn.ghost.sm", { href: pageLink(Math.max(0, offset - PAGE)), "data-testid": "prev-page" }, icon("left"), "Newer") : null,
            page.next_offset !== null ? h("a.btn.ghost.sm", { href: pageLink(page.next_offset), "data-testid": "next-page" }, "Older", icon("right")) : null)));
    } catch (exc) {
      mount(body, errorState(exc, load));
    }
  };
  load();
  if (offset) return undefined;
  let timer = null;
  const refresh = () => { clearTimeout(timer); timer = setTimeout(load, 400); };
  const offs = [on("session.started", refresh), on("session.ended", refresh)];
  return () => { clearTimeout(timer); offs.forEach((off) => off()); };
}
