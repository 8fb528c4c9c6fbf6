/* The agents grid: one card per agent with its status, and the dashed "Create agent" card. */

import { api } from "../api.js";
import { icon } from "../icons.js";
import { on } from "../live.js";
import { href } from "../router.js";
import { badge, errorState, fmtAgo, h, initials, mount, pageHead } from "../ui.js";

const STATUS_TEXT = {
  active: "Answering calls",
  paused: "Paused: calls go to a person",
  building: "Building from your SOPs…",
  failed: "The build failed",
};

export function render(root) {
  const grid = h("div.agent-grid", { "data-testid": "agents-grid" }, skeletons());
  const summary = h("p", "Each agent answers from the SOP documents it was built from.");
  mount(root,
    h("header.page-head",
      h("div", h("h1", "Agents"), summary),
      h("div.actions", h("a.btn.secondary", { href: href("/agents/new"), "data-testid": "create-agent" }, icon("plus"), "Create agent"))),
    grid);

  const load = async () => {
    try {
      const agents = await api("/api/agents");
      const active = agents.filter((a) => a.status === "active").length;
      summary.textContent = agents.length
        ? `${agents.length} agent${agents.length === 1 ? "" : "s"} · ${active} answering calls`
        : "No agents yet. Build one from the documents your team already follows.";
      mount(grid, agents.map(card), createCard(agents.length === 0));
    } catch (exc) {
      mount(grid, errorState(exc, load));
    }
  };
  load();
  return on("agent.updated", load);
}

function card(agent) {
  const config = agent.config;
  const target = agent.status === "building" ? href(`/agents/new?agent=${encodeURIComponent(agent.id)}`) : href(`/agents/${encodeURIComponent(agent.id)}`);
  const documents = agent.documents.map((d) => d.name).join(", ");
  return h("a.agent-card.oratio-corner", { href: target, "data-testid": "agent-card", "data-agent-id": agent.id, "data-status": agent.status },
    h("div.agent-card-top",
      h("span.agent-avatar", { "data-status": agent.status }, initials(agent.name)),
      h("div.agent-title", h("h3", agent.name), h("span.muted.small", STATUS_TEXT[agent.status] || agent.status)),
      badge(agent.status)),
    h("p.agent-desc", agent.description || (documents ? `Built from ${documents}` : "No documents")),
    h("dl.agent-meta",
      meta("Voice", capitalize(config.voice)),
      meta("Language", config.language),
      meta("Numbers", config.phone_numbers.length ? config.phone_numbers.length : "—"),
      meta("Version", agent.version ? `v${agent.version}` : "—")),
    h("div.agent-foot",
      h("span.muted.small", `Updated ${fmtAgo(agent.updated_at)}`),
      h("span.agent-open", agent.status === "building" ? "View build" : "Settings", icon("right"))));
}

function meta(label, value) {
  return h("div", h("dt", label), h("dd", String(value)));
}

function createCard(first) {
  return h("a.agent-card.create", { href: href("/agents/new"), "data-testid": "create-agent-card" },
    h("span.create-icon", icon("plus")),
    h("h3", first ? "Create your first agent" : "Create agent"),
    h("p.muted", "Upload SOP documents; Oratio builds and tests the agent for you."));
}

function skeletons() {
  return [1, 2, 3].map(() => h("div.agent-card.skeleton-card", h("div.skeleton.sk-title"), h("div.skeleton.sk-line"), h("div.skeleton.sk-line.short")));
}

const capitalize = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");
