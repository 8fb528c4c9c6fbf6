/* Contact-center figures: calls per day, average duration, containment vs handoff,
 * top handoff reasons and the same by channel (GET /api/analytics?days=N). */

import { api } from "../api.js";
import { donut, hbars, legend, stackedBars } from "../charts.js";
import { icon } from "../icons.js";
import { on } from "../live.js";
import { channelName, emptyState, errorState, fmtDay, fmtDuration, fmtNumber, fmtPercent, h, loading, mount, pageHead } from "../ui.js";

const RANGES = [7, 30, 90];
const SERIES = [{ key: "contained", label: "Handled by the AI", className: "fill-accent" }, { key: "handoff", label: "Handed to a person", className: "fill-secondary" }];

export function render(root) {
  let days = Number(new URLSearchParams(location.search).get("days")) || 30;
  const body = h("div", loading());
  const range = h("div.tabs.inline", { role: "tablist", "data-testid": "range" });
  mount(root, pageHead("Analytics", "How your agents are doing: volume, how long calls last, and how often callers need a person."), h("div.toolbar", range), body);

  const drawRange = () => mount(range, RANGES.map((n) => h("button", {
    type: "button", role: "tab", "aria-selected": String(n === days),
    onclick: () => { days = n; history.replaceState({}, "", `?days=${n}`); drawRange(); load(); },
  }, `Last ${n} days`)));

  const load = async () => {
    try {
      const stats = await api("/api/analytics", { query: { days } });
      draw(stats);
    } catch (exc) {
      mount(body, errorState(exc, load));
    }
  };

  const draw = (stats) => {
    if (!stats.total_sessions) {
      mount(body, emptyState({ iconName: "analytics", title: "No conversations in this period", text: "Figures appear here once your agents have taken calls or chats." }));
      return;
    }
    const handedOff = stats.calls_per_day.reduce((sum, d) => sum + d.handoff, 0);
    const rows = stats.calls_per_day.map((d) => ({
      label: fmtDay(d.date),
      title: `${fmtDay(d.date)}: ${d.total} conversation${d.total === 1 ? "" : "s"}, ${d.handoff} handed off`,
      values: { contained: d.total - d.handoff, handoff: d.handoff },
    }));
    const contained = Math.round((stats.containment_rate || 0) * stats.finished_sessions);
    mount(body,
      h("div.kpis", { "data-testid": "kpis" },
        kpi("Conversations", fmtNumber(stats.total_sessions), `${fmtNumber(stats.finished_sessions)} finished`, "chat"),
        kpi("Average duration", fmtDuration(stats.average_duration_seconds), "of finished conversations", "clock"),
        kpi("Containment", fmtPercent(stats.containment_rate), "handled without a person", "check"),
        kpi("Handoff rate", fmtPercent(stats.handoff_rate), `${fmtNumber(handedOff)} handed to a person`, "queue")),
      h("div.chart-grid",
        h("section.card.chart-card.wide.oratio-corner", { "data-testid": "chart-per-day" },
          h("div.card-head", h("div", h("h2", "Conversations per day"), h("p", `Last ${stats.days} days, UTC`)), legend(SERIES)),
          stackedBars({ rows, series: SERIES, height: 210, ariaLabel: "Conversations per day" })),
        h("section.card.chart-card", { "data-testid": "chart-containment" },
          h("div.card-head", h("div", h("h2", "Containment vs handoff"), h("p", "Finished conversations"))),
          h("div.donut-wrap",
            donut({
              parts: [{ label: "Handled by the AI", value: contained, className: "stroke-accent" },
                { label: "Handed to a person", value: stats.finished_sessions - contained, className: "stroke-secondary" }],
              center: fmtPercent(stats.containment_rate), caption: "contained",
            }),
            legend(SERIES))),
        h("section.card.chart-card", { "data-testid": "chart-reasons" },
          h("div.card-head", h("div", h("h2", "Top handoff reasons"), h("p", "Why callers needed a person"))),
          stats.top_handoff_reasons.length
            ? hbars(stats.top_handoff_reasons.map((r) => ({ label: r.reason, value: r.count, className: "secondary" })))
            : h("p.muted", "No handoffs in this period.")),
        h("section.card.chart-card.wide", { "data-testid": "chart-channels" },
          h("div.card-head", h("div", h("h2", "By channel"), h("p", "Volume, handoffs and average duration per channel"))),
          channelTable(stats.by_channel))));
  };

  drawRange();
  load();
  const offs = [on("session.ended", () => load()), on("resync", load)];
  return () => offs.forEach((off) => off());
}

function kpi(label, value, note, iconName) {
  return h("div.kpi.card", h("span.kpi-icon", icon(iconName)), h("span.muted.small", label), h("strong", value), h("span.muted.small", note));
}

function channelTable(channels) {
  const max = Math.max(1, ...channels.map((c) => c.total));
  return h("div.channel-rows", channels.map((c) => {
    const ai = h("span.seg.fill-accent");
    const person = h("span.seg.fill-secondary");
    ai.style.width = `${((c.total - c.handoff) / max) * 100}%`;
    person.style.width = `${(c.handoff / max) * 100}%`;
    return h("div.channel-row", { title: `${channelName(c.channel)}: ${c.total} conversations, ${c.handoff} handed off` },
      h("strong", channelName(c.channel)),
      h("span.seg-track", ai, person),
      h("span.muted.small.nowrap", `${fmtNumber(c.total)} total · ${fmtNumber(c.handoff)} handed off · avg ${fmtDuration(c.average_duration_seconds)}`));
  }));
}
