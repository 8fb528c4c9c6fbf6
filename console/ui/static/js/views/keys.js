/* Publishable API keys for the widget and text chat: create (the secret is shown once), list, revoke. */

import { api } from "../api.js";
import { icon } from "../icons.js";
import { href, navigate, query } from "../router.js";
import {
  badge, busy, confirmDialog, copyText, emptyState, errorState, fmtAgo, fmtDateTime, fmtNumber, h, loading, modal, mount, pageHead, toast,
} from "../ui.js";

export function render(root) {
  const onlyAgent = query().get("agent") || "";
  const body = h("div", loading());
  const create = h("button.btn.secondary", { type: "button", "data-testid": "create-key" }, icon("plus"), "Create key");
  mount(root, pageHead("API keys", "Keys let your website's widget and your chat integrations reach one agent. Only a hash is stored: the full key is shown once."), body);
  root.querySelector(".page-head").append(h("div.actions", create));
  let agents = [];

  const load = async () => {
    try {
      const [keys, allAgents] = await Promise.all([api("/api/api-keys", { query: { agent_id: onlyAgent } }), api("/api/agents")]);
      agents = allAgents;
      const names = Object.fromEntries(agents.map((a) => [a.id, a.name]));
      const filter = onlyAgent
        ? h("div.filter-note", "Keys of ", h("strong", names[onlyAgent] || onlyAgent), h("button.chip-x", { type: "button", "aria-label": "Show all keys", onclick: () => navigate("/api-keys") }, "×"))
        : null;
      if (!keys.length) {
        mount(body, filter, emptyState({
          iconName: "key", title: "No API keys yet",
          text: agents.length ? "Create a key to embed the voice widget on your website." : "Create an agent first; each key belongs to one agent.",
          action: agents.length ? h("button.btn", { type: "button", onclick: () => create.click() }, icon("plus"), "Create key")
            : h("a.btn", { href: href("/agents/new") }, "Create agent"),
        }));
        return;
      }
      mount(body, filter, h("div.table-wrap", h("table", { "data-testid": "keys-table" },
        h("thead", h("tr", ["Name", "Key", "Agent", "Status", "Created", "Last used", "Usage", "Expires", ""].map((t, i) => h(`th${i === 6 ? ".num" : ""}`, t)))),
        h("tbody", keys.map((key) => row(key, names[key.agent_id]))))));
    } catch (exc) {
      mount(body, errorState(exc, load));
    }
  };

  const row = (key, agentName) => {
    const revoke = key.status === "revoked" ? null
      : h("button.btn.danger-ghost.sm", { type: "button", "data-testid": "revoke-key" }, "Revoke");
    revoke?.addEventListener("click", async () => {
      const sure = await confirmDialog({
        title: `Revoke ${key.name || key.prefix}?`, danger: true, confirm: "Revoke key",
        text: "Websites and integrations using this key stop working at once. This cannot be undone.",
      });
      if (!sure) return;
      try {
        await busy(revoke, () => api(`/api/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" }));
        toast({ title: "Key revoked", text: key.prefix, kind: "success" });
        load();
      } catch (exc) {
        toast({ title: "Could not revoke the key", text: exc.message, kind: "error" });
      }
    });
    return h("tr", { "data-key-id": key.id, "data-prefix": key.prefix },
      h("td", h("strong", key.name || "Unnamed key")),
      h("td", h("code", `${key.prefix}.••••`)),
      h("td", agentName || h("span.muted", "deleted agent")),
      h("td", badge(key.status)),
      h("td.nowrap", { title: fmtDateTime(key.created_at) }, fmtAgo(key.created_at)),
      h("td.nowrap", { title: key.last_used_at ? fmtDateTime(key.last_used_at) : "" }, key.last_used_at ? fmtAgo(key.last_used_at) : h("span.muted", "never")),
      h("td.num", fmtNumber(key.usage_count)),
      h("td.nowrap", key.expires_at ? fmtDateTime(key.expires_at) : h("span.muted", "never")),
      h("td.num", revoke));
  };

  create.addEventListener("click", async () => {
    const usable = agents.filter((a) => a.status === "active" || a.status === "paused");
    if (!usable.length) {
      toast({ title: "No agent to attach a key to", text: "Create an agent first; keys belong to one agent.", kind: "error" });
      return;
    }
    await modal((box, done) => createForm(box, done, usable, onlyAgent));
    load(); // also when the dialog was dismissed after the key was created
  });

  load();
}

function createForm(box, done, agents, preferred) {
  const error = h("div.form-error", { role: "alert", hidden: true });
  const agent = h("select.select", { name: "agent", "data-testid": "key-agent" },
    agents.map((a) => h("option", { value: a.id, selected: a.id === preferred }, a.name)));
  const name = h("input.input", { name: "name", maxlength: 120, placeholder: "Main website", "data-testid": "key-name" });
  const origins = h("textarea.textarea", { name: "origins", rows: 2, placeholder: "https://www.example.com (one per line; empty: any website)" });
  const rate = h("input.input", { name: "rate", type: "number", min: 1, max: 10000, value: 60 });
  const expires = h("input.input", { name: "expires", type: "date", min: new Date(Date.now() + 86400000).toISOString().slice(0, 10) });
  const submit = h("button.btn.secondary", { type: "submit", "data-testid": "key-submit" }, "Create key");
  const form = h("form.stack", { novalidate: true },
    h("label.field", h("span", "Agent"), agent),
    h("label.field", h("span", "Name"), name),
    h("label.field", h("span", "Allowed websites"), origins),
    h("div.grid-2", h("label.field", h("span", "Requests per minute"), rate), h("label.field", h("span", "Expires (optional)"), expires)),
    error,
    h("div.modal-actions", h("button.btn.ghost", { type: "button", onclick: () => done(null) }, "Cancel"), submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = {
      agent_id: agent.value,
      name: name.value.trim(),
      allowed_origins: origins.value.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean),
      rate_limit_per_minute: Number(rate.value) || 60,
    };
    if (expires.value) body.expires_at = new Date(`${expires.value}T23:59:59`).toISOString();
    try {
      const key = await busy(submit, () => api("/api/api-keys", { method: "POST", body }));
      reveal(box, done, key, agents.find((a) => a.id === key.agent_id));
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  });
  mount(box, h("h2", "Create an API key"), h("p.modal-text", "The key is bound to one agent. Restrict it to your website's origin in production."), form);
}

function reveal(box, done, key, agent) {
  const copy = h("button.btn.sm", { type: "button", "data-testid": "copy-secret" }, icon("copy"), h("span", "Copy"));
  copy.addEventListener("click", () => copyText(key.secret, copy));
  const snippet = `<script src="${location.origin}/widget.js"\n  data-agent="${key.agent_id}"\n  data-key="${key.secret}"></script>`;
  const copySnippet = h("button.btn.ghost.sm", { type: "button" }, icon("copy"), h("span", "Copy snippet"));
  copySnippet.addEventListener("click", () => copyText(snippet, copySnippet));
  mount(box,
    h("h2", "Your new key"),
    h("p.modal-text", "Copy it now: for your security it is not shown again."),
    h("div.secret-box", h("code", { "data-testid": "key-secret" }, key.secret), copy),
    h("div.stack.snippet-block",
      h("div.row", h("strong.grow", `Embed ${agent ? agent.name : "the agent"} on your website`), copySnippet),
      h("pre.snippet", snippet)),
    h("div.modal-actions", h("button.btn", { type: "button", "data-testid": "key-done", onclick: () => done(key) }, "I have copied it")));
}
