/* The signed-in frame: fixed sidebar (wordmark, navigation with counters, who is signed in),
 * top bar (live connection, notifications bell, light/dark toggle) and the page area. */

import { icon } from "./icons.js";
import { href } from "./router.js";
import { h, initials } from "./ui.js";

const SECTIONS = [
  ["Build", [["agents", "Agents", "/agents"], ["keys", "API keys", "/api-keys"]]],
  ["Operate", [["live", "Live", "/live"], ["queue", "Queue", "/queue"], ["notifications", "Notifications", "/notifications"]]],
  ["Review", [["history", "History", "/history"], ["analytics", "Analytics", "/analytics"], ["audit", "Audit", "/audit"]]],
];
const NAV_ICONS = { keys: "key", notifications: "bell" };
const THEME_KEY = "oratio.console.theme";
const CONNECTION_LABELS = { open: "Live updates on", connecting: "Connecting…", closed: "Live updates off" };

export function currentTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen) return chosen;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function toggleTheme(button) {
  const next = currentTheme() === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try { localStorage.setItem(THEME_KEY, next); } catch (_) { /* not kept */ }
  paintThemeButton(button);
}

function paintThemeButton(button) {
  const dark = currentTheme() === "dark";
  button.replaceChildren(icon(dark ? "sun" : "moon"));
  button.setAttribute("aria-label", dark ? "Switch to light mode" : "Switch to dark mode");
  button.title = button.getAttribute("aria-label");
}

/** Build the frame into `root`; returns handles to update it. */
export function createShell(root, { user, onSignOut }) {
  const links = new Map();
  const counters = new Map();
  const nav = h("nav.nav", { "aria-label": "Console" });
  for (const [title, items] of SECTIONS) {
    nav.append(h("div.nav-section", title));
    for (const [key, label, path] of items) {
      const counter = h("span.count", { hidden: true, "data-testid": `nav-count-${key}` });
      const link = h("a", { href: href(path), "data-nav": key }, icon(NAV_ICONS[key] || key), h("span", label), counter);
      links.set(key, link);
      counters.set(key, counter);
      nav.append(link);
    }
  }
  const bellCount = h("span.count.accent", { hidden: true, "data-testid": "bell-count" });
  const themeButton = h("button.icon-btn", { type: "button", "data-testid": "theme-toggle", onclick: () => toggleTheme(themeButton) });
  paintThemeButton(themeButton);
  const connection = h("span.conn", { "data-state": "connecting", "data-testid": "live-connection" }, CONNECTION_LABELS.connecting);
  const content = h("main.page", { id: "content", tabindex: "-1" });

  root.replaceChildren(h("div.shell",
    h("aside.sidebar",
      h("a.wordmark", { href: href("/agents"), "aria-label": "Oratio console home" },
        h("img", { src: "/console/static/img/mark.svg", alt: "" }),
        h("span", h("strong", "Oratio"), h("small", "Voice console"))),
      nav,
      h("div.sidebar-foot",
        h("span.avatar", { "aria-hidden": "true" }, initials(user.email)),
        h("div.who", { title: `${user.organization}\n${user.email}` }, h("strong", { "data-testid": "organization" }, user.organization || "Your organization"), h("span", user.email)),
        h("button.icon-btn", { type: "button", "aria-label": "Sign out", title: "Sign out", "data-testid": "sign-out", onclick: onSignOut }, icon("logout")))),
    h("div.main",
      h("div.topbar",
        connection,
        h("a.icon-btn", { href: href("/notifications"), "aria-label": "Notifications", title: "Notifications", "data-testid": "bell" }, icon("bell"), bellCount),
        themeButton),
      content)));

  return {
    content,
    setActive(key) {
      for (const [name, link] of links) {
        if (name === key) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    },
    setCount(key, value) {
      const counter = counters.get(key);
      if (!counter) return;
      counter.hidden = !value;
      counter.textContent = value > 99 ? "99+" : String(value || "");
      if (key === "notifications") {
        bellCount.hidden = !value;
        bellCount.textContent = counter.textContent;
      }
    },
    setConnection(state) {
      connection.dataset.state = state;
      connection.textContent = CONNECTION_LABELS[state] || state;
    },
  };
}
