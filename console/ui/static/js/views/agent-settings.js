/* One agent: name, configuration, pause/resume, delete; its documents and build. */

import { api } from "../api.js";
import { icon } from "../icons.js";
import { on } from "../live.js";
import { href, navigate } from "../router.js";
import { badge, busy, confirmDialog, errorState, fmtBytes, fmtDateTime, h, initials, loading, mount, toast } from "../ui.js";
import { configForm } from "./config-form.js";

export function render(root, { id }) {
  const path = `/api/agents/${encodeURIComponent(id)}`;
  let agent = null;
  const head = h("div");
  const main = h("div.settings-layout");
  mount(root, h("div.crumbs", h("a", { href: href("/agents") }, "Agents"), icon("right"), h("span", { "data-crumb": "" }, "Agent")), head, main, loading());

  const drawHead = () => {
    root.querySelector("[data-crumb]").textContent = agent.name;
    const paused = agent.status === "paused";
    const toggle = h(`button.btn${paused ? ".secondary" : ".ghost"}`, { type: "button", "data-testid": paused ? "resume-agent" : "pause-agent", disabled: !["active", "paused"].includes(agent.status) },
      icon(paused ? "play" : "pause"), paused ? "Resume" : "Pause");
    toggle.addEventListener("click", async () => {
      try {
        agent = await busy(toggle, () => api(`${path}/${paused ? "resume" : "pause"}`, { method: "PUT" }));
        toast({ title: paused ? `${agent.name} is answering again` : `${agent.name} is paused`, text: paused ? "" : "New calls go straight to a person until you resume it.", kind: "success" });
        drawHead();
      } catch (exc) {
        toast({ title: "Could not change the agent", text: exc.message, kind: "error" });
      }
    });
    const remove = h("button.btn.danger-ghost", { type: "button", "data-testid": "delete-agent" }, icon("trash"), "Delete");
    remove.addEventListener("click", async () => {
      const sure = await confirmDialog({
        title: `Delete ${agent.name}?`, danger: true, confirm: "Delete agent",
        text: "The agent stops answering at once, its API keys are revoked and its phone numbers released. Its call history and documents are kept.",
      });
      if (!sure) return;
      try {
        await busy(remove, () => api(path, { method: "DELETE" }));
        toast({ title: `${agent.name} was deleted`, kind: "success" });
        navigate("/agents");
      } catch (exc) {
        toast({ title: "Could not delete the agent", text: exc.message, kind: "error" });
      }
    });
    mount(head, h("header.page-head.agent-head",
      h("div.row", h("span.agent-avatar.lg", { "data-status": agent.status }, initials(agent.name)),
        h("div", h("div.row", h("h1", agent.name), badge(agent.status)), h("p", agent.description || "Voice agent built from your SOP documents."))),
      h("div.actions", toggle, remove)));
  };

  const drawMain = () => {
    const form = configForm(agent.config);
    const error = h("div.form-error", { role: "alert", hidden: true, "data-testid": "config-error" });
    const save = h("button.btn.secondary", { type: "button", "data-testid": "save-config" }, "Save changes");
    save.addEventListener("click", async () => {
      error.hidden = true;
      try {
        const patch = form.value();
        agent = await busy(save, () => api(`${path}/config`, { method: "PATCH", body: patch }));
        toast({ title: "Settings saved", text: `${agent.name} uses them from its next call.`, kind: "success" });
      } catch (exc) {
        error.textContent = exc.message;
        error.hidden = false;
      }
    });
    const failed = agent.status === "failed"
      ? h("div.form-error", { role: "alert" }, "The last build failed. ", h("a", { href: href(`/agents/new?agent=${encodeURIComponent(agent.id)}`) }, "See what went wrong"), ".")
      : null;
    mount(main,
      h("div.settings-main", failed, generalCard(), h("div.card.oratio-corner", form.element, error, h("div.form-foot", save))),
      h("aside.settings-aside", documentsCard(), detailsCard()));
  };

  const generalCard = () => {
    const name = h("input.input", { value: agent.name, maxlength: 120, "aria-label": "Agent name" });
    const description = h("input.input", { value: agent.description, maxlength: 1000, placeholder: "What this agent helps callers with", "aria-label": "Description" });
    const save = h("button.btn.ghost", { type: "button" }, "Rename");
    save.addEventListener("click", async () => {
      try {
        agent = await busy(save, () => api(path, { method: "PATCH", body: { name: name.value.trim(), description: description.value.trim() } }));
        drawHead();
        toast({ title: "Saved", kind: "success" });
      } catch (exc) {
        toast({ title: "Could not rename the agent", text: exc.message, kind: "error" });
      }
    });
    return h("div.card.general-card", h("div.grid-2",
      h("label.field", h("span", "Name"), name), h("label.field", h("span", "Description"), description)), h("div.form-foot", save));
  };

  const documentsCard = () => h("div.card",
    h("div.card-head", h("div", h("h3", "SOP documents"), h("p", "What the agent answers from"))),
    agent.documents.length
      ? h("ul.doc-list", agent.documents.map((d) => h("li", h("span.file-icon", icon("file")), h("span.grow", h("strong", d.name), h("span.muted.small", fmtBytes(d.size))))))
      : h("p.muted", "No documents."),
    h("a.btn.ghost.sm.full", { href: href(`/agents/new?agent=${encodeURIComponent(agent.id)}`) }, "View build log"));

  const detailsCard = () => h("div.card",
    h("div.card-head", h("h3", "Details")),
    h("dl.details",
      h("dt", "Agent id"), h("dd.mono", agent.id),
      h("dt", "Version"), h("dd", agent.version ? `v${agent.version}` : "not built"),
      h("dt", "Created"), h("dd", fmtDateTime(agent.created_at)),
      h("dt", "Updated"), h("dd", fmtDateTime(agent.updated_at))),
    h("div.stack.tight",
      h("a.btn.ghost.sm.full", { href: href(`/api-keys?agent=${encodeURIComponent(agent.id)}`) }, icon("key"), "API keys for this agent"),
      h("a.btn.ghost.sm.full", { href: href(`/history?agent_id=${encodeURIComponent(agent.id)}`) }, icon("history"), "Call history")));

  const load = async () => {
    try {
      agent = await api(path);
      if (agent.status === "building") return navigate(`/agents/new?agent=${encodeURIComponent(agent.id)}`, { replace: true });
      root.querySelector(":scope > .state")?.remove();
      drawHead();
      drawMain();
    } catch (exc) {
      mount(main);
      root.querySelector(":scope > .state")?.remove();
      root.append(exc.status === 404 ? errorState(new Error("This agent does not exist or was deleted."), null, "Not found") : errorState(exc, load));
    }
  };
  load();
  return on("agent.updated", (data) => {
    if (data.agent_id !== id || !agent || data.status === agent.status) return;
    api(path).then((fresh) => { agent = fresh; drawHead(); }, () => {});
  });
}
