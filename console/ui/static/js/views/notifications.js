/* The notification center: handoffs, failed transfers and builds; read and acknowledge. */

import { api } from "../api.js";
import { icon } from "../icons.js";
import { on } from "../live.js";
import { href } from "../router.js";
import { busy, emptyState, errorState, fmtAgo, fmtDateTime, h, loading, mount, pageHead, toast } from "../ui.js";

const KIND_ICONS = { handoff: "queue", handoff_failed: "alert", build: "sparkles", system: "bell" };
const KIND_LABELS = { handoff: "Handoff", handoff_failed: "Transfer failed", build: "Build", system: "System" };

export function render(root) {
  let filter = "all";
  let notes = [];
  const body = h("div.note-list", { "data-testid": "notifications" }, loading());
  const tabs = h("div.tabs.inline", { role: "tablist" });
  const markAll = h("button.btn.ghost.sm", { type: "button", "data-testid": "mark-all-read" }, icon("check"), "Mark all as read");
  mount(root, pageHead("Notifications", "Calls handed to a person, transfers that failed and finished builds."), h("div.toolbar", tabs, markAll), body);

  const drawTabs = () => {
    const unread = notes.filter((n) => !n.read_at).length;
    mount(tabs, [["all", `All (${notes.length})`], ["unread", `Unread (${unread})`]].map(([key, label]) =>
      h("button", { type: "button", role: "tab", "aria-selected": String(filter === key), onclick: () => { filter = key; draw(); } }, label)));
    markAll.disabled = unread === 0;
  };

  const draw = () => {
    drawTabs();
    const shown = filter === "unread" ? notes.filter((n) => !n.read_at) : notes;
    if (!shown.length) {
      mount(body, emptyState({ iconName: "bell", title: filter === "unread" ? "You are all caught up" : "No notifications yet", text: "When a call is handed to a person or a build finishes, you hear about it here and in a toast." }));
      return;
    }
    mount(body, shown.map(item));
  };

  const update = async (note, action, button) => {
    try {
      const fresh = await busy(button, () => api(`/api/notifications/${encodeURIComponent(note.id)}/${action}`, { method: "PATCH" }));
      Object.assign(note, fresh);
      draw();
    } catch (exc) {
      toast({ title: "Could not update the notification", text: exc.message, kind: "error" });
    }
  };

  const item = (note) => {
    const read = h("button.btn.ghost.sm", { type: "button", "data-testid": "mark-read", hidden: Boolean(note.read_at) }, "Mark as read");
    read.addEventListener("click", () => update(note, "read", read));
    const ack = h("button.btn.sm", { type: "button", "data-testid": "acknowledge", hidden: Boolean(note.acknowledged_at) }, icon("check"), "I'm on it");
    ack.addEventListener("click", () => update(note, "acknowledge", ack));
    const links = [];
    if (note.kind === "handoff" && note.session_id) links.push(h("a.btn.ghost.sm", { href: href(`/queue?session=${encodeURIComponent(note.session_id)}`) }, "Queue"));
    if (note.session_id) links.push(h("a.btn.ghost.sm", { href: href(`/sessions/${encodeURIComponent(note.session_id)}`) }, "View call"));
    else if (note.agent_id) links.push(h("a.btn.ghost.sm", { href: href(`/agents/${encodeURIComponent(note.agent_id)}`) }, "Open agent"));
    return h("article.note", { "data-testid": "notification", "data-kind": note.kind, "data-unread": String(!note.read_at), "data-id": note.id },
      h("span.note-icon", { "data-kind": note.kind }, icon(KIND_ICONS[note.kind] || "bell")),
      h("div.grow",
        h("div.row.wrap", h("strong", note.title), note.read_at ? null : h("span.dot-unread", { title: "Unread" })),
        note.body ? h("p.note-body", note.body) : null,
        h("p.muted.small", `${KIND_LABELS[note.kind] || note.kind} · `, h("time", { title: fmtDateTime(note.created_at) }, fmtAgo(note.created_at)),
          note.acknowledged_at ? ` · acknowledged ${fmtAgo(note.acknowledged_at)}` : "")),
      h("div.note-actions", links, read, ack));
  };

  markAll.addEventListener("click", () => busy(markAll, async () => {
    const unread = notes.filter((n) => !n.read_at);
    const fresh = await Promise.allSettled(unread.map((n) => api(`/api/notifications/${encodeURIComponent(n.id)}/read`, { method: "PATCH" })));
    fresh.forEach((result, i) => { if (result.status === "fulfilled") Object.assign(unread[i], result.value); });
    draw();
  }));

  const load = async () => {
    try {
      notes = await api("/api/notifications", { query: { limit: 200 } });
      draw();
    } catch (exc) {
      mount(body, errorState(exc, load));
    }
  };
  load();
  const offs = [
    on("notification", (note) => { notes.unshift(note); draw(); }),
    on("notification.updated", (fresh) => {
      const note = notes.find((n) => n.id === fresh.id);
      if (note) { Object.assign(note, fresh); draw(); }
    }),
    on("resync", load),
  ];
  return () => offs.forEach((off) => off());
}
