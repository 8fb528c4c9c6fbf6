/* Create an agent: 1) name + SOP documents (drag and drop), 2) the build, stage by stage from
 * GET /api/agents/{id}/build (Server-Sent Events), 3) its configuration. */

import { api, eventSource } from "../api.js";
import { icon } from "../icons.js";
import { href, navigate } from "../router.js";
import { busy, errorState, fmtBytes, h, mount, toast } from "../ui.js";
import { configForm } from "./config-form.js";

const STAGES = [
  ["intake", "Read the documents"], ["parse", "Understand the procedures"], ["plan", "Plan the agent's tools"],
  ["review", "Review the plan"], ["generate", "Generate the agent"], ["validate", "Test sample conversations"],
  ["package", "Package a new version"],
];
const ACCEPT = [".md", ".markdown", ".txt", ".pdf", ".docx"];

export function render(root) {
  const steps = h("ol.steps", ["Documents", "Build", "Configure"].map((label, i) => h("li", { "data-step": i + 1 }, h("span", i + 1), label)));
  const body = h("div.wizard-body");
  mount(root,
    h("div.crumbs", h("a", { href: href("/agents") }, "Agents"), icon("right"), h("span", "New agent")),
    h("header.page-head", h("div", h("h1", "Create an agent"), h("p", "Upload the SOP documents your team follows. Oratio reads them, builds an agent, tests it and packages it."))),
    h("div.wizard.card.oratio-corner", steps, body));
  const setStep = (n) => steps.querySelectorAll("li").forEach((li, i) => {
    li.dataset.state = i + 1 < n ? "done" : i + 1 === n ? "current" : "todo";
  });
  const state = { close: null };
  const existing = new URLSearchParams(location.search).get("agent");
  if (existing) followBuild(body, existing, setStep, state);
  else uploadStep(body, setStep, state);
  return () => state.close && state.close();
}

function uploadStep(body, setStep, state) {
  setStep(1);
  const files = [];
  const error = h("div.form-error", { role: "alert", hidden: true, "data-testid": "wizard-error" });
  const name = h("input.input", { name: "name", required: true, maxlength: 120, placeholder: "Clinic appointments", "data-testid": "agent-name" });
  const description = h("input.input", { name: "description", maxlength: 1000, placeholder: "What this agent helps callers with (optional)" });
  const picker = h("input", { type: "file", multiple: true, accept: ACCEPT.join(","), hidden: true, "data-testid": "file-input" });
  const list = h("ul.file-list", { "data-testid": "file-list" });
  const drop = h("div.dropzone.oratio-corner", { tabindex: "0", role: "button", "data-testid": "dropzone", "aria-label": "Add SOP documents" },
    h("span.drop-icon", icon("upload")),
    h("strong", "Drop SOP documents here"),
    h("span.muted", "or click to browse · Markdown, text, PDF or Word (.docx)"), picker);
  const submit = h("button.btn.secondary", { type: "submit", "data-testid": "start-build" }, icon("sparkles"), "Build agent");

  const drawFiles = () => {
    mount(list, files.map((file, i) => h("li",
      h("span.file-icon", icon("file")), h("span.grow", h("strong", file.name), h("span.muted.small", fmtBytes(file.size))),
      h("button.icon-btn", { type: "button", "aria-label": `Remove ${file.name}`, onclick: () => { files.splice(i, 1); drawFiles(); } }, icon("x")))));
    if (!name.value && files.length) name.value = titleOf(files[0].name);
  };
  const add = (incoming) => {
    const rejected = [];
    for (const file of incoming) {
      const ok = ACCEPT.some((ext) => file.name.toLowerCase().endsWith(ext));
      if (!ok) rejected.push(file.name);
      else if (!files.some((f) => f.name === file.name && f.size === file.size)) files.push(file);
    }
    error.hidden = !rejected.length;
    error.textContent = rejected.length ? `Not a supported document: ${rejected.join(", ")}. Use Markdown, text, PDF or .docx.` : "";
    drawFiles();
  };
  picker.addEventListener("change", () => { add([...picker.files]); picker.value = ""; });
  drop.addEventListener("click", (event) => { if (event.target !== picker) picker.click(); });
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); picker.click(); } });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => { event.preventDefault(); add([...event.dataTransfer.files]); });

  const form = h("form.stack", { novalidate: true },
    h("div.grid-2", h("label.field", h("span", "Agent name"), name), h("label.field", h("span", "Description"), description)),
    drop, list, error, h("div.wizard-actions", h("a.btn.ghost", { href: href("/agents") }, "Cancel"), submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const problem = !name.value.trim() ? "Give the agent a name." : !files.length ? "Add at least one SOP document." : "";
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    const data = new FormData();
    data.append("name", name.value.trim());
    data.append("description", description.value.trim());
    for (const file of files) data.append("files", file, file.name);
    try {
      const agent = await busy(submit, () => api("/api/agents", { method: "POST", form: data }));
      history.replaceState({}, "", href(`/agents/new?agent=${encodeURIComponent(agent.id)}`));
      followBuild(body, agent.id, setStep, state);
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  });
  mount(body, form);
  name.focus();
}

function followBuild(body, agentId, setStep, state) {
  setStep(2);
  const rows = new Map();
  const list = h("ol.stages", { "data-testid": "build-stages" }, STAGES.map(([stage, label]) => {
    const row = h("li.stage", { "data-stage": stage, "data-status": "pending" },
      h("span.stage-icon", icon("circle")), h("div.grow", h("strong", label), h("span.stage-detail.muted.small")));
    rows.set(stage, row);
    return row;
  }));
  const bar = h("div.progress-fill");
  const title = h("h2", "Building your agent…");
  const note = h("p.muted", "This usually takes a few seconds. You can leave this page; the build carries on.");
  const outcome = h("div.build-outcome", { "data-testid": "build-outcome" });
  mount(body, h("div.build", h("div.build-head", h("div", title, note)), h("div.progress", bar), list, outcome));

  const paint = (event) => {
    const row = rows.get(event.stage);
    if (!row) return;
    const status = event.status === "started" ? "running" : event.status;
    row.dataset.status = status;
    row.querySelector(".stage-icon").replaceChildren(status === "running" ? h("span.spinner") : icon(
      { done: "check", failed: "x", retry: "refresh" }[status] || "circle"));
    row.querySelector(".stage-detail").textContent = event.detail || "";
    const done = [...rows.values()].filter((r) => r.dataset.status === "done").length;
    bar.style.width = `${Math.round((done / STAGES.length) * 100)}%`;
  };
  const reset = () => rows.forEach((_, stage) => paint({ stage, status: "pending", detail: "" }));
  const finish = async (end) => {
    state.close && state.close();
    if (end.state === "done") {
      bar.style.width = "100%";
      const agent = await api(`/api/agents/${encodeURIComponent(agentId)}`);
      title.textContent = `${agent.name} is ready`;
      note.textContent = `Version ${agent.version} passed its test conversations. Now choose how it sounds and when it hands over.`;
      body.querySelector(".build").classList.add("done");
      mount(outcome, h("div.wizard-actions",
        h("a.btn.ghost", { href: href("/agents") }, "Later"),
        h("button.btn.secondary", { type: "button", "data-testid": "configure-agent", onclick: () => configureStep(body, agent, setStep) }, "Configure agent", icon("right"))));
    } else {
      title.textContent = end.state === "interrupted" ? "The build was interrupted" : "The build failed";
      note.textContent = "Nothing was deployed. Check the documents and try again.";
      mount(outcome, h("div.form-error", { role: "alert" }, end.error || "The build stopped."),
        h("div.wizard-actions", h("button.btn", { type: "button", onclick: () => navigate("/agents/new", { replace: true }) }, "Start over")));
    }
  };

  const open = () => {
    const source = eventSource(`/api/agents/${encodeURIComponent(agentId)}/build`);
    state.close = () => source.close();
    source.addEventListener("open", reset);
    source.addEventListener("progress", (e) => paint(JSON.parse(e.data)));
    source.addEventListener("end", (e) => finish(JSON.parse(e.data)).catch((exc) => mount(outcome, errorState(exc))));
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      // refused (e.g. the token expired): read the snapshot (refreshes the token), then go on
      api(`/api/agents/${encodeURIComponent(agentId)}/build/status`).then((snapshot) => {
        if (snapshot.state === "running") setTimeout(open, 1000);
        else {
          reset();
          snapshot.events.forEach(paint);
          finish({ state: snapshot.state === "none" ? "failed" : snapshot.state, error: snapshot.error });
        }
      }, (exc) => mount(outcome, errorState(exc, open)));
    });
  };
  open();
}

function configureStep(body, agent, setStep) {
  setStep(3);
  const form = configForm(agent.config);
  const error = h("div.form-error", { role: "alert", hidden: true, "data-testid": "config-error" });
  const save = h("button.btn.secondary", { type: "button", "data-testid": "save-config" }, "Save and finish");
  save.addEventListener("click", async () => {
    error.hidden = true;
    try {
      const patch = form.value();
      await busy(save, () => api(`/api/agents/${encodeURIComponent(agent.id)}/config`, { method: "PATCH", body: patch }));
      toast({ title: `${agent.name} is configured`, text: "Create an API key to put it on your website.", kind: "success" });
      navigate(`/agents/${encodeURIComponent(agent.id)}`);
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  });
  mount(body, form.element, error, h("div.wizard-actions", h("a.btn.ghost", { href: href("/agents") }, "Skip for now"), save));
}

const titleOf = (filename) => filename.replace(/\.[^.]+$/, "").replace(/[-_]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());

