/* One conversation: what happened, the AI's handoff summary, the recording and the transcript. */

import { api } from "../api.js";
import { CHANNEL_ICONS, icon } from "../icons.js";
import { on } from "../live.js";
import { href } from "../router.js";
import { badge, callerName, channelName, errorState, fmtDateTime, fmtDuration, fmtNumber, h, loading, mount } from "../ui.js";
import { transcriptView } from "./transcript.js";

export function render(root, { id }) {
  const path = `/api/sessions/${encodeURIComponent(id)}`;
  const view = transcriptView({ empty: "No words were exchanged in this conversation." });
  mount(root, h("div.crumbs", h("a", { href: href("/history") }, "History"), icon("right"), h("span.mono", id)), loading());
  let offTurns = () => {};

  const load = async () => {
    try {
      const [session, turns, agents] = await Promise.all([api(path), api(`${path}/transcript`), api("/api/agents", { query: { include_archived: true } })]);
      const agent = agents.find((a) => a.id === session.agent_id);
      view.set(turns);
      const liveNow = session.status === "active" || (session.status === "handoff" && !session.ended_at);
      offTurns();
      if (liveNow) {
        const offs = [
          on("session.turn", (turn) => { if (turn.session_id === id) view.add(turn); }),
          on("session.ended", (data) => { if (data.session_id === id) load(); }), // now with its recording
        ];
        offTurns = () => offs.forEach((off) => off());
      }
      mount(root,
        h("div.crumbs", h("a", { href: href("/history") }, "History"), icon("right"), h("span.mono", id)),
        h("header.page-head",
          h("div", h("div.row", h("h1", agent ? agent.name : "Conversation"), badge(session.status)),
            h("p", `${channelName(session.channel)} · ${callerName(session.caller, session.channel)} · ${fmtDateTime(session.started_at)}`)),
          h("div.actions", liveNow ? h("a.btn.secondary", { href: href(`/live/${encodeURIComponent(id)}`) }, icon("live"), "Watch live") : null)),
        h("div.stat-row",
          stat("Channel", h("span.row", icon(CHANNEL_ICONS[session.channel]), channelName(session.channel))),
          stat("Duration", session.duration_seconds === null ? "in progress" : fmtDuration(session.duration_seconds)),
          stat("Turns", fmtNumber(turns.length)),
          stat("Tokens in / out", `${fmtNumber(session.input_tokens)} / ${fmtNumber(session.output_tokens)}`),
          stat("Ended", session.ended_at ? `${fmtDateTime(session.ended_at)}${session.end_reason ? ` · ${session.end_reason}` : ""}` : "—")),
        session.handoff_reason ? h("div.summary.handoff-box", { "data-testid": "handoff-summary" }, h("span.summary-icon", icon("queue")),
          h("div", h("strong", `Handed to a person: ${session.handoff_reason}`), h("p", session.summary || ""))) : null,
        h("div.session-layout",
          h("section.card.oratio-corner", h("div.card-head", h("div", h("h2", "Transcript"), h("p", `${turns.length} lines`))), view.element),
          h("aside.stack", recordingCard(session))));
    } catch (exc) {
      mount(root, h("div.crumbs", h("a", { href: href("/history") }, "History")),
        exc.status === 404 ? errorState(new Error("This conversation does not exist in your organization."), null, "Not found") : errorState(exc, load));
    }
  };

  const recordingCard = (session) => {
    const card = h("section.card.recording", { "data-testid": "recording-card" }, h("div.card-head", h("div", h("h2", "Recording"), h("p", "Stereo: caller on the left, agent on the right"))));
    if (!session.has_recording) {
      card.append(h("p.muted", session.ended_at ? "No recording: recording is off for this agent, or the call carried no audio." : "The recording is available when the call ends."));
      return card;
    }
    const audio = h("audio", { controls: true, preload: "metadata", "data-testid": "recording" });
    const download = h("a.btn.ghost.sm", { download: `${session.id}.wav` }, icon("download"), "Download WAV");
    const status = h("p.muted.small", "Fetching a secure link…");
    let retried = false;
    const fetchLink = async () => {
      try {
        const link = await api(`${path}/recording`);
        audio.src = link.url;
        download.href = link.url;
        status.textContent = `The link works until ${fmtDateTime(link.expires_at)}.`;
      } catch (exc) {
        status.textContent = exc.message;
      }
    };
    audio.addEventListener("error", () => { // the signed link expired: get a fresh one once
      if (!retried) { retried = true; fetchLink(); } else status.textContent = "The recording could not be played.";
    });
    fetchLink();
    card.append(audio, h("div.row.wrap", download, status));
    return card;
  };

  load();
  return () => offTurns();
}

function stat(label, value) {
  return h("div.stat", h("span.muted.small", label), h("strong", value));
}
