/* A conversation transcript (caller, agent, operator and system lines) that can grow live:
 * turns are keyed by their sequence number, so a turn seen twice is drawn once. */

import { fmtTime, h } from "../ui.js";

const ROLE_LABELS = { caller: "Caller", agent: "AI agent", operator: "Operator", system: "" };
const NEAR_BOTTOM_PX = 80;

export function transcriptView({ empty = "No words yet.", operatorLabel = "Operator" } = {}) {
  const list = h("ol.transcript", { "data-testid": "transcript", "data-empty": empty, "aria-live": "polite" });
  const bySeq = new Map();

  const bubble = (turn) => {
    const label = turn.role === "operator" ? operatorLabel : ROLE_LABELS[turn.role];
    return h("li.turn", { "data-role": turn.role, "data-seq": turn.seq },
      turn.role === "system" ? null : h("div.turn-meta", h("b", label), h("time", fmtTime(turn.at))),
      h("p", turn.text),
      turn.interrupted ? h("span.turn-flag", "interrupted by the caller") : null,
      turn.sources && turn.sources.length ? h("div.turn-sources", turn.sources.map((s) => h("span.source", s))) : null);
  };

  const add = (turn) => {
    if (turn.seq === undefined || turn.seq === null) turn = { ...turn, seq: `x${bySeq.size}` };
    if (bySeq.has(turn.seq)) return;
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    const el = bubble(turn);
    bySeq.set(turn.seq, el);
    const after = [...bySeq.entries()].filter(([seq]) => typeof seq === "number" && typeof turn.seq === "number" && seq > turn.seq)
      .sort((a, b) => a[0] - b[0])[0];
    if (after) list.insertBefore(el, after[1]);
    else list.append(el);
    if (stick) list.scrollTop = list.scrollHeight;
  };

  return {
    element: list,
    add,
    set(turns) {
      bySeq.clear();
      list.replaceChildren();
      turns.forEach(add);
      list.scrollTop = list.scrollHeight;
    },
    get size() { return bySeq.size; },
  };
}
