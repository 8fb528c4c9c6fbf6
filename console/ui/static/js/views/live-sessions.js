/* Calls in progress, updated as they happen (WS /api/live); the selected call's transcript
 * streams into the detail pane. */

import { api } from "../api.js";
import { CHANNEL_ICONS, icon } from "../icons.js";
import { on } from "../live.js";
import { href } from "../router.js";
import { badge, callerName, channelName, emptyState, errorState, fmtDateTime, h, loading, mount, pageHead, since } from "../ui.js";
import { transcriptView } from "./transcript.js";

export function render(root, { id: selectedId } = {}) {
  const list = h("div.live-list", { "data-testid": "live-list" }, loading("Looking for live calls…"));
  const detail = h("section.live-detail.card.oratio-corner", { "data-testid": "live-detail" });
  const count = h("span.badge.live", { hidden: true }, "");
  mount(root, pageHead("Live", "Every call and chat in progress across your agents, as it happens."), h("div.live-layout", h("div", h("div.list-head", h("h2", "In progress"), count), list), detail));

  const calls = new Map(); // session id -> {session, card, lastLine}
  let agents = {};
  let selected = selectedId || null;
  let transcript = null;

  const statusOf = (s) => (s.status === "handoff" ? (s.operator ? ["handoff", `with ${s.operator}`] : ["waiting", "waiting for a person"]) : ["live", "with the AI"]);

  const drawCard = (entry) => {
    const s = entry.session;
    const [status, label] = statusOf(s);
    const card = h("a.live-card", {
      href: href(`/live/${encodeURIComponent(s.id)}`), "data-testid": "live-card", "data-session-id": s.id,
      "aria-current": s.id === selected ? "true" : null,
      onclick: (event) => { event.preventDefault(); select(s.id); },
    },
    h("div.row", h("span.channel-icon", { title: channelName(s.channel) }, icon(CHANNEL_ICONS[s.channel])),
      h("div.grow", h("strong", agents[s.agent_id] || "Agent"), h("span.muted.small.ellipsis", callerName(s.caller, s.channel))),
      h("span.timer.mono", { "data-started": s.started_at }, since(s.started_at))),
    h("p.last-line", entry.lastLine || (s.handoff_reason ? `Handed off: ${s.handoff_reason}` : "Call in progress…")),
    h("div.row", badge(status, label), s.channel === "browser" && s.status === "handoff" ? h("span.muted.small", "in the queue") : null));
    entry.card?.replaceWith(card);
    entry.card = card;
    return card;
  };

  const drawList = () => {
    count.hidden = !calls.size;
    count.textContent = `${calls.size} live`;
    if (!calls.size) {
      mount(list, emptyState({ iconName: "live", title: "No calls right now", text: "Calls on your phone numbers, Amazon Connect flows and website widget appear here the moment they start." }));
      return;
    }
    const sorted = [...calls.values()].sort((a, b) => b.session.started_at.localeCompare(a.session.started_at));
    mount(list, sorted.map((entry) => entry.card || drawCard(entry)));
  };

  let detailSeq = 0;
  const drawDetail = async () => {
    const seq = ++detailSeq;
    transcript = null;
    const entry = selected && calls.get(selected);
    if (!selected) {
      mount(detail, emptyState({ iconName: "chat", title: "Select a call", text: "Its transcript streams in here, line by line." }));
      return;
    }
    const view = transcriptView({ empty: "Waiting for the first words…" });
    transcript = { id: selected, view }; // turns arriving while the history loads are kept
    mount(detail, loading());
    try {
      const [session, turns] = await Promise.all([
        entry ? entry.session : api(`/api/sessions/${encodeURIComponent(selected)}`),
        api(`/api/sessions/${encodeURIComponent(selected)}/transcript`),
      ]);
      if (seq !== detailSeq) return;
      turns.forEach(view.add);
      const ended = session.status !== "active" && session.ended_at;
      mount(detail,
        h("div.detail-head",
          h("div", h("h2", agents[session.agent_id] || "Call"), h("p.muted.small", `${channelName(session.channel)} · ${callerName(session.caller, session.channel)} · started ${fmtDateTime(session.started_at)}`)),
          h("div.row",
            session.channel === "browser" && session.status === "handoff" && !ended ? h("a.btn.sm", { href: href(`/queue?session=${encodeURIComponent(session.id)}`) }, icon("queue"), "Open in queue") : null,
            h("a.btn.ghost.sm", { href: href(`/sessions/${encodeURIComponent(session.id)}`) }, "Details"))),
        h("div.ended-note", { hidden: !ended, "data-testid": "ended-note" }, "This call has ended."),
        view.element);
      view.element.scrollTop = view.element.scrollHeight;
    } catch (exc) {
      if (seq === detailSeq) mount(detail, errorState(exc, drawDetail));
    }
  };

  const select = (id) => {
    if (id === selected) return;
    selected = id;
    history.pushState({}, "", href(`/live/${encodeURIComponent(id)}`));
    list.querySelectorAll(".live-card").forEach((card) => {
      if (card.dataset.sessionId === id) card.setAttribute("aria-current", "true");
      else card.removeAttribute("aria-current");
    });
    drawDetail();
  };

  const load = async () => {
    try {
      const [sessions, agentList] = await Promise.all([api("/api/sessions/live"), api("/api/agents", { query: { include_archived: true } })]);
      agents = Object.fromEntries(agentList.map((a) => [a.id, a.name]));
      const previous = new Map(calls);
      calls.clear();
      for (const s of sessions) calls.set(s.id, { session: { ...s, operator: previous.get(s.id)?.session.operator || "" }, lastLine: previous.get(s.id)?.lastLine });
      drawList();
      drawDetail();
    } catch (exc) {
      mount(list, errorState(exc, load));
    }
  };

  const offs = [
    on("session.started", (data) => {
      calls.set(data.session_id, { session: { ...data, id: data.session_id, operator: "" } });
      drawList();
    }),
    on("session.turn", (turn) => {
      const entry = calls.get(turn.session_id);
      if (entry && turn.role !== "system") {
        entry.lastLine = `${turn.role === "caller" ? "Caller" : turn.role === "operator" ? "Operator" : "Agent"}: ${turn.text}`;
        drawCard(entry);
      }
      if (transcript && transcript.id === turn.session_id) transcript.view.add(turn);
    }),
    on("session.handoff", (data) => {
      const entry = calls.get(data.session_id);
      if (!entry) return;
      Object.assign(entry.session, { status: "handoff", handoff_reason: data.reason });
      drawCard(entry);
      if (selected === data.session_id) drawDetail();
    }),
    on("session.operator", (data) => {
      const entry = calls.get(data.session_id);
      if (!entry) return;
      entry.session.operator = data.operator;
      drawCard(entry);
    }),
    on("session.ended", (data) => {
      const entry = calls.get(data.session_id);
      if (!entry) return;
      entry.card?.classList.add("leaving");
      setTimeout(() => { calls.delete(data.session_id); drawList(); }, 400);
      if (selected === data.session_id) detail.querySelector("[data-testid=ended-note]")?.removeAttribute("hidden");
    }),
    on("resync", load),
  ];
  const ticker = setInterval(() => {
    list.querySelectorAll(".timer").forEach((el) => { el.textContent = since(el.dataset.started); });
  }, 1000);
  load();
  return () => { offs.forEach((off) => off()); clearInterval(ticker); };
}
