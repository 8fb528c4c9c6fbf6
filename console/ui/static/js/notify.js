/* Counters in the sidebar (unread notifications, callers waiting in the queue, calls live now)
 * and a toast for every new notification, all driven by the live event feed. */

import { api } from "./api.js";
import { on } from "./live.js";
import { navigate } from "./router.js";
import { toast } from "./ui.js";

const DEBOUNCE_MS = 250;

export function startNotifier(shell) {
  const timers = {};
  const later = (name, fn) => {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, DEBOUNCE_MS);
  };

  const countUnread = () => api("/api/notifications", { query: { unread: true, limit: 500 } })
    .then((notes) => shell.setCount("notifications", notes.length), () => {});
  const countQueue = () => api("/api/queue")
    .then((entries) => shell.setCount("queue", entries.filter((e) => !e.operator).length), () => {});
  const countLive = () => api("/api/sessions/live")
    .then((sessions) => shell.setCount("live", sessions.length), () => {});
  const countAll = () => { countUnread(); countQueue(); countLive(); };

  const offs = [
    on("connection", (state) => shell.setConnection(state)),
    on("notification", (note) => {
      later("unread", countUnread);
      showToast(note);
    }),
    on("notification.updated", () => later("unread", countUnread)),
    on("session.started", () => later("live", countLive)),
    on("session.ended", () => { later("live", countLive); later("queue", countQueue); }),
    on("session.handoff", () => { later("queue", countQueue); later("live", countLive); }),
    on("session.operator", () => later("queue", countQueue)),
    on("resync", countAll),
  ];
  countAll();
  return () => {
    offs.forEach((off) => off());
    Object.values(timers).forEach(clearTimeout);
  };
}

function showToast(note) {
  const actions = [];
  if (note.kind === "handoff" && note.session_id) {
    actions.push(["Open queue", () => navigate(`/queue?session=${encodeURIComponent(note.session_id)}`)]);
    actions.push(["View call", () => navigate(`/sessions/${encodeURIComponent(note.session_id)}`)]);
  } else if (note.session_id) {
    actions.push(["View call", () => navigate(`/sessions/${encodeURIComponent(note.session_id)}`)]);
  } else if (note.agent_id) {
    actions.push(["Open agent", () => navigate(`/agents/${encodeURIComponent(note.agent_id)}`)]);
  }
  const kind = note.kind === "handoff" ? "handoff" : note.kind === "handoff_failed" ? "error" : "info";
  toast({ title: note.title, text: note.body, kind, actions, timeout: kind === "info" ? 6000 : 12000 });
}
