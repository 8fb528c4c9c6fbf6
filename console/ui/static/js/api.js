/* The console API client: bearer tokens kept in memory and sessionStorage (this tab only),
 * one shared refresh through /api/auth/refresh when a call answers 401, readable errors. */

const STORE_KEY = "oratio.console.tokens";
const listeners = new Set();
let tokens = loadTokens();
let refreshing = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

function loadTokens() {
  try {
    const raw = sessionStorage.getItem(STORE_KEY);
    const parsed = raw ? JSON.parse(raw) : null;
    return parsed && parsed.access_token && parsed.refresh_token ? parsed : null;
  } catch (_) {
    return null;
  }
}

function setTokens(next) {
  tokens = next ? { access_token: next.access_token, refresh_token: next.refresh_token } : null;
  try {
    if (tokens) sessionStorage.setItem(STORE_KEY, JSON.stringify(tokens));
    else sessionStorage.removeItem(STORE_KEY);
  } catch (_) { /* private mode: memory only */ }
  for (const fn of listeners) fn(Boolean(tokens));
}

export const signedIn = () => Boolean(tokens);
export const accessToken = () => (tokens ? tokens.access_token : "");

/** Called with true/false whenever the user signs in or out (or the session is lost). */
export function onAuthChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The text to show for a FastAPI error body: `detail` as a string or a list of field errors. */
export function errorMessage(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail.map((item) => {
      const where = (item.loc || []).filter((part) => part !== "body" && part !== "query").join(" › ");
      const msg = String(item.msg || "is invalid").replace(/^Value error, /, "");
      return where ? `${where}: ${msg}` : msg;
    }).join("; ");
  }
  if (status === 413) return "The upload is too large.";
  if (status === 429) return "Too many attempts. Wait a minute and try again.";
  if (status >= 500) return `The server had a problem (${status}). Try again in a moment.`;
  return `The request failed (${status}).`;
}

async function send(path, { method = "GET", body, form, query, signal, auth = true } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const headers = { Accept: "application/json" };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (auth && tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  try {
    return await fetch(url, { method, headers, body: payload, signal, credentials: "same-origin" });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, "Cannot reach the Oratio server. Check that it is running and try again.");
  }
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, errorMessage(data, response.status));
  return data;
}

/** New tokens for the refresh token; concurrent callers share one request. */
export function refresh() {
  if (!tokens) return Promise.reject(new ApiError(401, "Signed out."));
  if (!refreshing) {
    const refreshToken = tokens.refresh_token;
    refreshing = send("/api/auth/refresh", { method: "POST", body: { refresh_token: refreshToken }, auth: false })
      .then(parse)
      .then((pair) => { setTokens(pair); return pair; })
      .catch((exc) => {
        if (exc.status === 401 || exc.status === 400 || exc.status === 422) {
          // only forget the tokens if nobody replaced them meanwhile
          if (tokens && tokens.refresh_token === refreshToken) setTokens(null);
          throw new ApiError(401, "Your session has ended. Please sign in again.");
        }
        throw exc;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Call the API; on 401 refresh once and retry. Resolves with the JSON body (null for 204). */
export async function api(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && options.auth !== false && tokens) {
    await refresh();
    response = await send(path, options);
    if (response.status === 401) setTokens(null);
  }
  return parse(response);
}

export async function register(email, password, organization) {
  const pair = await parse(await send("/api/auth/register", {
    method: "POST", body: { email, password, organization }, auth: false,
  }));
  setTokens(pair);
}

export async function login(email, password) {
  setTokens(await parse(await send("/api/auth/login", { method: "POST", body: { email, password }, auth: false })));
}

export async function logout() {
  const current = tokens;
  setTokens(null);
  if (current) {
    await send("/api/auth/logout", { method: "POST", body: { refresh_token: current.refresh_token }, auth: false })
      .catch(() => null);
  }
}

/** An EventSource on an SSE endpoint that takes the token as ?token= (EventSource has no headers). */
export function eventSource(path) {
  const url = new URL(path, location.origin);
  url.searchParams.set("token", accessToken());
  return new EventSource(url);
}
