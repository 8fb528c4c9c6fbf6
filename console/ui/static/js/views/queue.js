/* The human queue: website callers the AI handed over wait here with its summary; an operator
 * picks one up and carries on the conversation in text. */

import { api } from "../api.js";
import { icon } from "../icons.js";
import { on } from "../live.js";
import { href } from "../router.js";
import { badge, busy, callerName, confirmDialog, emptyState, errorState, h, loading, mount, pageHead, since, toast } from "../ui.js";
import { transcriptView } from "./transcript.js";

export function render(root, _params, { user }) {
  const me = user.email;
  const list = h("div.queue-list", { "data-testid": "queue-list" }, loading());
  const pane = h("section.queue-pane.card.oratio-corner", { "data-testid": "queue-pane" });
  mount(root, pageHead("Queue", "Website callers the AI handed over to a person. Pick one up to continue the conversation; the caller sees who joined."),
    h("div.live-layout", h("div", h("div.list-head", h("h2", "Waiting and in progress")), list), pane));

  let entries = [];
  let selected = new URLSearchParams(location.search).get("session");
  let current = null; // {id, view, ended}
  let paneSeq = 0;

  const card = (entry) => h("a.queue-card", {
    href: href(`/queue?session=${encodeURIComponent(entry.session_id)}`), "data-testid": "queue-card", "data-session-id": entry.session_id,
    "aria-current": entry.session_id === selected ? "true" : null,
    onclick: (event) => { event.preventDefault(); select(entry.session_id); },
  },
  h("div.row", h("span.avatar.sm", icon("user")), h("div.grow", h("strong", entry.agent_name), h("span.muted.small.ellipsis", callerName(entry.caller, "browser"))),
    h("span.timer.mono", { "data-started": entry.started_at, title: "Time since the call started" }, since(entry.started_at))),
  h("p.reason", icon("alert"), entry.handoff_reason || "Handed over"),
  h("div.row", entry.operator ? badge(entry.operator === me ? "live" : "handoff", entry.operator === me ? "You are on it" : `With ${entry.operator}`) : badge("waiting", "Waiting")));

  const drawList = () => {
    if (!entries.length) {
      mount(list, emptyState({ iconName: "queue", title: "Nobody is waiting", text: "When the AI hands a website caller over to a person, they wait here with a summary of the conversation." }));
      return;
    }
    mount(list, entries.map(card));
  };

  const select = (id) => {
    selected = id;
    history.replaceState({}, "", href(`/queue?session=${encodeURIComponent(id)}`));
    list.querySelectorAll(".queue-card").forEach((c) => {
      if (c.dataset.sessionId === id) c.setAttribute("aria-current", "true");
      else c.removeAttribute("aria-current");
    });
    drawPane();
  };

  const drawPane = () => {
    const seq = ++paneSeq;
    const entry = entries.find((e) => e.session_id === selected);
    if (!entry) {
      current = null;
      mount(pane, emptyState({ iconName: "chat", title: selected ? "This caller is no longer waiting" : "Select a caller",
        text: selected ? "The call ended or was picked up elsewhere. Its transcript is in the history." : "Read the AI's summary, then pick up to talk to them.",
        action: selected ? h("a.btn.ghost", { href: href(`/sessions/${encodeURIComponent(selected)}`) }, "Open in history") : null }));
      return;
    }
    const view = current && current.id === entry.session_id ? current.view : transcriptView({ empty: "No messages yet." });
    if (!current || current.id !== entry.session_id) entry.transcript.forEach(view.add);
    current = { id: entry.session_id, view, ended: false };
    const mine = entry.operator === me;
    const actions = h("div.row");
    if (!entry.operator) {
      const pick = h("button.btn.secondary", { type: "button", "data-testid": "pickup" }, icon("queue"), "Pick up");
      pick.addEventListener("click", async () => {
        try {
          const updated = await busy(pick, () => api(`/api/queue/${encodeURIComponent(entry.session_id)}/pickup`, { method: "POST" }));
          Object.assign(entry, updated);
          updated.transcript.forEach(view.add);
          drawList();
          drawPane();
        } catch (exc) {
          toast({ title: "Could not pick up", text: exc.message, kind: "error" });
          load();
        }
      });
      actions.append(pick);
    } else if (mine) {
      const end = h("button.btn.danger-ghost.sm", { type: "button", "data-testid": "end-conversation" }, icon("hangup"), "End conversation");
      end.addEventListener("click", async () => {
        if (!(await confirmDialog({ title: "End the conversation?", text: "The caller's widget shows that the call is over.", confirm: "End conversation", danger: true }))) return;
        try {
          await busy(end, () => api(`/api/queue/${encodeURIComponent(entry.session_id)}/end`, { method: "POST" }));
        } catch (exc) {
          toast({ title: "Could not end the conversation", text: exc.message, kind: "error" });
        }
      });
      actions.append(end);
    }
    const composer = mine ? messageForm(entry, view) : h("p.composer-note.muted", entry.operator ? `${entry.operator} is talking with this caller.` : "Pick up to reply; the caller is told that a person has joined.");
    if (seq !== paneSeq) return;
    mount(pane,
      h("div.detail-head", h("div", h("h2", callerName(entry.caller, "browser")), h("p.muted.small", `${entry.agent_name} · handed over: ${entry.handoff_reason || "no reason given"}`)), actions),
      h("div.summary", { "data-testid": "ai-summary" }, h("span.summary-icon", icon("sparkles")), h("div", h("strong", "AI summary"), h("p", entry.summary || "No summary."))),
      h("div.ended-note", { hidden: true, "data-testid": "ended-note" }, "The caller has left. The conversation is in the history."),
      view.element,
      composer);
    view.element.scrollTop = view.element.scrollHeight;
  };

  const messageForm = (entry, view) => {
    const input = h("input.input", { maxlength: 2000, placeholder: "Write to the caller…", "aria-label": "Message to the caller", "data-testid": "operator-input", autocomplete: "off" });
    const send = h("button.btn.accent", { type: "submit", "data-testid": "operator-send" }, icon("send"), "Send");
    const form = h("form.composer", input, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      try {
        const turn = await busy(send, () => api(`/api/queue/${encodeURIComponent(entry.session_id)}/messages`, { method: "POST", body: { text } }));
        view.add(turn);
        input.value = "";
        input.focus({ preventScroll: true });
      } catch (exc) {
        toast({ title: "Message not sent", text: exc.message, kind: "error" });
      }
    });
    setTimeout(() => input.focus({ preventScroll: true }), 0);
    return form;
  };

  const load = async () => {
    try {
      entries = await api("/api/queue");
      if (!selected && entries.length) selected = entries[0].session_id;
      drawList();
      drawPane();
    } catch (exc) {
      mount(list, errorState(exc, load));
    }
  };

  const offs = [
    on("session.handoff", () => setTimeout(load, 300)),
    on("session.operator", (data) => {
      const entry = entries.find((e) => e.session_id === data.session_id);
      if (!entry || entry.operator === data.operator) return;
      entry.operator = data.operator;
      drawList();
      if (selected === data.session_id) drawPane();
    }),
    on("session.turn", (turn) => {
      if (current && current.id === turn.session_id) current.view.add(turn);
    }),
    on("session.ended", (data) => {
      const before = entries.length;
      entries = entries.filter((e) => e.session_id !== data.session_id);
      if (entries.length !== before) drawList();
      if (current && current.id === data.session_id) {
        pane.querySelector("[data-testid=ended-note]")?.removeAttribute("hidden");
        pane.querySelector(".composer")?.remove();
        pane.querySelectorAll("[data-testid=pickup], [data-testid=end-conversation]").forEach((b) => b.remove());
      }
    }),
    on("resync", load),
  ];
  const ticker = setInterval(() => list.querySelectorAll(".timer").forEach((el) => { el.textContent = since(el.dataset.started); }), 1000);
  load();
  return () => { offs.forEach((off) => off()); clearInterval(ticker); };
}
