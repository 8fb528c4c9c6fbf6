/* History-API routing under /console: patterns like "/agents/:id" map to lazily loaded views. */

export const BASE = "/console";
const routes = [];
let onChange = () => {};

/** Register a route: `load` imports the view module; `nav` names the sidebar item it lights. */
export function route(pattern, load, nav, options = {}) {
  const keys = [];
  const source = pattern.replace(/:(\w+)/g, (_, key) => { keys.push(key); return "([^/]+)"; });
  routes.push({ regex: new RegExp(`^${source}/?$`), keys, load, nav, pattern, ...options });
}

export function match(path) {
  const local = path.startsWith(BASE) ? path.slice(BASE.length) || "/" : path;
  for (const r of routes) {
    const found = r.regex.exec(local);
    if (found) {
      const params = Object.fromEntries(r.keys.map((key, i) => [key, decodeURIComponent(found[i + 1])]));
      return { ...r, params };
    }
  }
  return null;
}

export const href = (path) => `${BASE}${path}`;

/** Go to a console path ("/agents/agt_1" or "/console/agents/agt_1"), adding a history entry. */
export function navigate(path, { replace = false } = {}) {
  const full = path.startsWith(BASE) ? path : href(path);
  if (full === location.pathname + location.search && !replace) return onChange();
  history[replace ? "replaceState" : "pushState"]({}, "", full);
  onChange();
}

/** Start routing: same-origin links to /console/... are handled without a page load. */
export function startRouter(handler) {
  onChange = handler;
  window.addEventListener("popstate", () => onChange());
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE) || url.pathname.startsWith(`${BASE}/static/`)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  onChange();
}

export const query = () => new URLSearchParams(location.search);
