/* The console's entry point: routes, the sign-in gate, the shell, live updates. */

import { api, onAuthChange, logout, signedIn } from "./api.js";
import * as live from "./live.js";
import { startNotifier } from "./notify.js";
import { match, navigate, route, startRouter } from "./router.js";
import { createShell } from "./shell.js";
import { emptyState, errorState, h, loading, mount } from "./ui.js";

route("/login", () => import("./views/login.js"), null, { public: true, title: "Sign in" });
route("/", null, "agents", { redirect: "/agents" });
route("/agents", () => import("./views/agents.js"), "agents", { title: "Agents" });
route("/agents/new", () => import("./views/wizard.js"), "agents", { title: "Create agent" });
route("/agents/:id", () => import("./views/agent-settings.js"), "agents", { title: "Agent settings" });
route("/api-keys", () => import("./views/keys.js"), "keys", { title: "API keys" });
route("/live", () => import("./views/live-sessions.js"), "live", { title: "Live" });
route("/live/:id", () => import("./views/live-sessions.js"), "live", { title: "Live" });
route("/queue", () => import("./views/queue.js"), "queue", { title: "Queue" });
route("/notifications", () => import("./views/notifications.js"), "notifications", { title: "Notifications" });
route("/history", () => import("./views/history.js"), "history", { title: "History" });
route("/sessions/:id", () => import("./views/session.js"), "history", { title: "Session" });
route("/analytics", () => import("./views/analytics.js"), "analytics", { title: "Analytics" });
route("/audit", () => import("./views/audit.js"), "audit", { title: "Audit log" });

const app = document.getElementById("app");
let shell = null;
let stopNotifier = null;
let cleanup = null;
let renderSeq = 0;

function teardown() {
  if (cleanup) cleanup();
  cleanup = null;
  if (stopNotifier) stopNotifier();
  stopNotifier = null;
  live.stop();
  shell = null;
}

async function signOut() {
  await logout();
}

onAuthChange((isSignedIn) => {
  if (isSignedIn) return;
  teardown();
  const here = location.pathname + location.search;
  const next = here.startsWith("/console/login") ? "" : `?next=${encodeURIComponent(here)}`;
  navigate(`/login${next}`, { replace: true });
});

async function ensureShell() {
  if (shell) return shell;
  mount(app, h("div.boot", { role: "status" }, h("span.spinner"), h("span", "Signing you in…")));
  const user = await api("/api/auth/me");
  shell = createShell(app, { user, onSignOut: signOut });
  shell.user = user;
  live.start();
  stopNotifier = startNotifier(shell);
  return shell;
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) cleanup();
  cleanup = null;
  const found = match(location.pathname);
  if (found && found.redirect) return navigate(found.redirect, { replace: true });
  if (found && found.public) {
    if (signedIn()) {
      const next = new URLSearchParams(location.search).get("next");
      return navigate(next && next.startsWith("/console/") ? next : "/agents", { replace: true });
    }
    teardown();
    document.title = `${found.title} · Oratio`;
    const view = await found.load();
    if (seq === renderSeq) cleanup = view.render(app) || null;
    app.removeAttribute("aria-busy");
    return;
  }
  if (!signedIn()) {
    return navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
  try {
    await ensureShell();
  } catch (exc) {
    if (signedIn()) mount(app, errorState(exc, () => render()));
    return;
  }
  if (seq !== renderSeq) return;
  app.removeAttribute("aria-busy");
  shell.setActive(found ? found.nav : null);
  document.title = `${found ? found.title : "Not found"} · Oratio`;
  if (!found) {
    mount(shell.content, emptyState({
      iconName: "alert", title: "Page not found", text: "This console page does not exist.",
      action: h("a.btn", { href: "/console/agents" }, "Go to agents"),
    }));
    return;
  }
  mount(shell.content, loading());
  try {
    const view = await found.load();
    if (seq !== renderSeq) return;
    mount(shell.content);
    const result = view.render(shell.content, found.params, { user: shell.user });
    cleanup = typeof result === "function" ? result : null;
    shell.content.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  } catch (exc) {
    console.error(exc);
    if (seq === renderSeq) mount(shell.content, errorState(exc, () => render()));
  }
}

startRouter(render);
