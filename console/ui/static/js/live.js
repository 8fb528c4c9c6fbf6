/* The organization's live events over WS /api/live?token=..., fanned out to the pages.
 * Reconnects with backoff; a 4401 close (token expired) refreshes the token first.
 * After a reconnect it emits "resync" so pages reload what they may have missed. */

import { accessToken, refresh, signedIn } from "./api.js";

const handlers = new Map(); // event type ("*" for all) -> Set of callbacks
const PING_MS = 25000;
const MAX_BACKOFF_MS = 15000;

let socket = null;
let state = "closed";
let backoff = 1000;
let retryTimer = null;
let pingTimer = null;
let wanted = false;
let connectedOnce = false;

function emit(type, data, message) {
  for (const key of [type, "*"]) {
    for (const fn of handlers.get(key) || []) {
      try {
        fn(data, message);
      } catch (exc) {
        console.error("live event handler failed", exc);
      }
    }
  }
}

function setState(next) {
  state = next;
  emit("connection", next);
}

/** Subscribe to one event type (e.g. "session.turn"); returns the unsubscribe function. */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

export const connectionState = () => state;

export function start() {
  wanted = true;
  if (!socket) connect();
}

export function stop() {
  wanted = false;
  clearTimeout(retryTimer);
  clearInterval(pingTimer);
  if (socket) socket.close(1000, "signed out");
  socket = null;
  connectedOnce = false;
  setState("closed");
}

function connect() {
  if (!wanted || !signedIn()) return;
  setState("connecting");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/api/live?token=${encodeURIComponent(accessToken())}`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (_) {
      return;
    }
    if (message.type === "ready") {
      backoff = 1000;
      setState("open");
      if (connectedOnce) emit("resync", null);
      connectedOnce = true;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
    } else if (message.type !== "pong") {
      emit(message.type, message.data || {}, message);
    }
  };
  ws.onclose = (event) => {
    if (socket !== ws) return;
    socket = null;
    clearInterval(pingTimer);
    if (!wanted) return;
    setState("connecting");
    if (event.code === 4401) {
      refresh().then(() => schedule(0), () => setState("closed"));
    } else {
      schedule(backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  };
}

function schedule(delay) {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}
