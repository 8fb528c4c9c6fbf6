/* Oratio Voice website widget: a call launcher and panel in a shadow root, speaking the browser
 * call protocol (connectors/web/PROTOCOL.md). Embed with one tag:
 *   <script src="https://HOST/widget.js" data-agent="AGENT_ID" data-key="PUBLISHABLE_KEY"></script>
 * Optional: data-server (origin of the Oratio server; default: this script's origin), data-title.
 * No dependencies, no build step. Test/debug API: window.OratioWidget. */
(() => {
  "use strict";
  if (window.OratioWidget) return; // included twice: keep the first widget

  const script = document.currentScript || document.querySelector("script[data-agent][src*='widget.js']");
  const data = (script && script.dataset) || {};
  const cfg = {
    agent: data.agent || "",
    key: data.key || "",
    server: (data.server || new URL((script && script.src) || location.href, location.href).origin).replace(/\/+$/, ""),
    title: data.title || "",
  };

  const RATES = [8000, 16000, 24000, 44100, 48000]; // hello.sample_rate values the server accepts
  const BLOCK_MS = 20; // caller audio per binary frame
  const GRACE_MS = 30000; // how long the server keeps a dropped call resumable
  const MAX_BUFFERED = 256 * 1024; // drop mic frames rather than queue them behind a stalled socket
  const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const LIVE = ["connecting", "listening", "thinking", "speaking", "handed_off", "reconnecting"];
  const LABELS = {
    idle: "Ready when you are", connecting: "Connecting…", listening: "Listening", thinking: "Thinking…",
    speaking: "Speaking", handed_off: "Connected to a person", reconnecting: "Connection lost, reconnecting…",
    ended: "Call ended", error: "Call failed",
  };
  const CLOSE_REASONS = {
    4400: "The call hit a protocol error.",
    4401: "This website's voice key is missing, revoked or expired.",
    4403: "Calls are not allowed from this website.",
    4404: "This assistant is not available.",
    4409: "The earlier call could not be resumed.",
    4413: "A message was too large.",
    4415: "This device's audio sample rate is not supported.",
    4429: "Too many calls right now. Please try again in a minute.",
    1011: "The call failed on our side.",
  };

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.root {
  --primary: #1A244B; --secondary: #FFB76B; --accent: #8A3FFC; --danger: #E5484D;
  --bg: #F7F7F9; --surface: #FFFFFF; --text: #1A244B; --subtle: #646B87; --line: rgba(26,36,75,.12);
  --glow: 0 0 20px 5px rgba(255,183,107,0.3), 0 0 10px 2px rgba(138,63,252,0.2);
  position: fixed; right: 24px; bottom: 24px; z-index: 2147483000;
  display: flex; flex-direction: column; align-items: flex-end; gap: 16px;
  font: 14px/1.45 Inter, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text);
}
@media (prefers-color-scheme: dark) {
  .root { --bg: #101010; --surface: #1C1C1E; --text: #FFFFFF; --subtle: #A0AEC0; --line: rgba(255,255,255,.12); }
}
[hidden] { display: none !important; }
button, input { font: inherit; color: inherit; }
button { cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
svg { width: 22px; height: 22px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.launcher { width: 60px; height: 60px; border: 0; border-radius: 9999px; display: grid; place-items: center;
  background: var(--primary); color: #fff; box-shadow: var(--glow); transition: transform .15s ease; }
.launcher:hover { transform: scale(1.06); }
.launcher.live { background: var(--accent); animation: pulse 2s ease-in-out infinite; }
@keyframes pulse { 50% { box-shadow: 0 0 28px 9px rgba(255,183,107,.45), 0 0 14px 4px rgba(138,63,252,.35); } }
.panel { width: min(380px, calc(100vw - 32px)); height: min(560px, calc(100vh - 120px));
  display: flex; flex-direction: column; overflow: hidden; background: var(--bg); border: 1px solid var(--line);
  border-radius: 1.5rem; border-bottom-right-radius: 2rem; /* the Oratio corner */
  box-shadow: 0 16px 48px rgba(16,16,16,.18), var(--glow); }
header { display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 16px 20px; background: var(--primary); color: #fff; }
header strong { display: block; font-size: 16px; font-weight: 600; }
header small { color: var(--secondary); font-size: 12px; }
.close { width: 32px; height: 32px; border: 0; border-radius: 9999px; background: rgba(255,255,255,.12); color: #fff; font-size: 18px; }
.status { display: flex; align-items: center; gap: 8px; margin: 14px 20px 0; padding: 8px 14px;
  border-radius: 9999px; background: var(--surface); color: var(--subtle); font-weight: 500; }
.dot { width: 10px; height: 10px; border-radius: 9999px; background: var(--subtle); flex: none; }
[data-state=listening] .dot { background: var(--secondary); box-shadow: 0 0 0 4px rgba(255,183,107,.3); }
[data-state=speaking] .dot { background: var(--accent); box-shadow: 0 0 0 4px rgba(138,63,252,.25); }
[data-state=thinking] .dot, [data-state=connecting] .dot, [data-state=reconnecting] .dot { background: var(--secondary); animation: blink 1s infinite; }
[data-state=handed_off] .dot { background: var(--accent); }
[data-state=error] .dot { background: var(--danger); }
[data-state=error] { color: var(--danger); }
@keyframes blink { 50% { opacity: .25; } }
.notice { margin: 10px 20px 0; padding: 8px 14px; border-radius: 1rem; background: rgba(255,183,107,.18); color: var(--text); font-size: 13px; }
.captions { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 14px 20px; display: flex; flex-direction: column; gap: 10px; }
.captions:empty::before { content: attr(data-empty); color: var(--subtle); text-align: center; margin: auto 12px; }
.captions li { max-width: 85%; padding: 10px 14px; border-radius: 1rem; background: var(--surface); border: 1px solid var(--line); }
.captions li b { display: block; font-size: 11px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; color: var(--subtle); }
.captions li[data-role=caller] { align-self: flex-end; background: var(--primary); border-color: var(--primary); color: #fff; border-bottom-right-radius: .25rem; }
.captions li[data-role=caller] b { color: var(--secondary); }
.captions li[data-role=agent], .captions li[data-role=operator] { border-bottom-left-radius: .25rem; }
.captions li[data-role=operator] { border-color: var(--accent); }
.captions li[data-final=false] { opacity: .7; font-style: italic; }
.controls { display: flex; gap: 10px; padding: 0 20px 12px; }
.call { flex: 1; display: flex; align-items: center; justify-content: center; gap: 8px; height: 48px; border: 0;
  border-radius: 9999px; background: var(--secondary); color: #1A244B; font-weight: 600; box-shadow: var(--glow); }
.call.live { background: var(--danger); color: #fff; box-shadow: none; }
.mic { width: 48px; height: 48px; border: 1px solid var(--line); border-radius: 9999px; background: var(--surface); display: grid; place-items: center; }
.mic[aria-pressed=true] { background: var(--subtle); color: #fff; }
.mic .slash { display: none; } .mic[aria-pressed=true] .slash { display: inline; }
form { display: flex; gap: 8px; padding: 12px 20px 18px; border-top: 1px solid var(--line); background: var(--surface); }
form input { flex: 1; min-width: 0; height: 42px; padding: 0 16px; border: 1px solid var(--line); border-radius: 9999px; background: var(--bg); }
form button { height: 42px; padding: 0 18px; border: 0; border-radius: 9999px; background: var(--accent); color: #fff; font-weight: 600; }
`;

  const ICON_PHONE = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z"/></svg>';
  const ICON_MIC = '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="9" y="2" width="6" height="12" rx="3"/><path d="M5 10v1a7 7 0 0 0 14 0v-1M12 18v4"/><path class="slash" d="M3 3l18 18"/></svg>';

  // ---- DOM -------------------------------------------------------------------------------
  const host = document.createElement("div");
  host.setAttribute("data-oratio-widget", "");
  const shadow = host.attachShadow({ mode: "open" });
  shadow.innerHTML = `<style>${CSS}</style>
<div class="root">
  <section class="panel" role="dialog" aria-label="Voice assistant" data-testid="oratio-panel" hidden>
    <header><div><strong data-testid="oratio-title"></strong><small>Voice assistant · Oratio</small></div>
      <button class="close" type="button" aria-label="Close" data-testid="oratio-close">×</button></header>
    <div class="status" role="status" aria-live="polite" data-testid="oratio-state" data-state="idle"><span class="dot"></span><span class="label"></span></div>
    <div class="notice" data-testid="oratio-notice" aria-live="polite" hidden></div>
    <ol class="captions" data-testid="oratio-captions" data-empty="Start a call and ask your question, or type it below."></ol>
    <div class="controls">
      <button class="call" type="button" data-testid="oratio-call">${ICON_PHONE}<span>Start call</span></button>
      <button class="mic" type="button" aria-label="Mute microphone" aria-pressed="false" data-testid="oratio-mic" hidden>${ICON_MIC}</button>
    </div>
    <form data-testid="oratio-text-form"><input data-testid="oratio-text-input" maxlength="2000" autocomplete="off" placeholder="Type your question…" aria-label="Type your question">
      <button type="submit" data-testid="oratio-text-send">Send</button></form>
  </section>
  <button class="launcher" type="button" aria-label="Talk to us" aria-expanded="false" data-testid="oratio-launcher">${ICON_PHONE}</button>
</div>`;
  const $ = (sel) => shadow.querySelector(sel);
  const ui = {
    panel: $(".panel"), title: $("header strong"), close: $(".close"), status: $(".status"), label: $(".status .label"),
    notice: $(".notice"), captions: $(".captions"), call: $(".call"), callText: $(".call span"), mic: $(".mic"),
    form: $("form"), input: $("form input"), launcher: $(".launcher"),
  };

  // ---- call state ----------------------------------------------------------------------------
  let state = "idle";
  let stateDetail = "";
  const states = []; // every state the widget went through, for tests and debugging
  const captions = []; // {role, text, final, typed, el}
  let ws = null;
  let ready = false; // `ready` received on the current socket
  let sessionId = "";
  let resumeToken = "";
  let agentName = "";
  let operatorName = ""; // the person who took the call over in the console
  let outRate = 16000; // rate of the agent audio (ready.sample_rate)
  let userStopped = false;
  let dropAt = 0; // when the current connection loss began
  let retries = 0;
  let retryTimer = 0;
  let noticeTimer = 0;
  let pendingText = []; // typed before the call was ready
  let ctx = null; // AudioContext: mic capture and playback
  let micStream = null;
  let micNode = null;
  let muted = false;
  const playing = new Set(); // scheduled or playing AudioBufferSourceNodes
  let playHead = 0; // AudioContext time where the next agent chunk starts
  const stats = { framesSent: 0, chunksPlayed: 0, flushes: 0 };

  function setState(next, detail) {
    state = next;
    stateDetail = detail || "";
    if (states.push(next) > 500) states.shift();
    render();
  }

  function render() {
    // The server says `listening` at the end of a turn; its audio may still be playing here.
    const shown = state === "listening" && playing.size ? "speaking" : state;
    ui.status.dataset.state = shown;
    ui.label.textContent = stateDetail ? `${LABELS[shown]}: ${stateDetail}` : LABELS[shown];
    const live = LIVE.includes(state);
    ui.call.classList.toggle("live", live);
    ui.launcher.classList.toggle("live", live);
    ui.callText.textContent = live ? "End call" : "Start call";
    ui.mic.hidden = !live;
  }

  function notice(text, ms) {
    clearTimeout(noticeTimer);
    ui.notice.textContent = text || "";
    ui.notice.hidden = !text;
    if (text && ms) noticeTimer = setTimeout(() => notice(""), ms);
  }

  const renderTitle = () => { ui.title.textContent = cfg.title || agentName || "Talk to us"; };

  function speakerName(role) {
    if (role === "caller") return "You";
    return role === "operator" ? operatorName || "Support team" : agentName || "Assistant";
  }

  // A partial caption is replaced by later partials and by its final text; a typed caller caption
  // absorbs the server's echo of the same text.
  function addCaption(role, text, final, typed = false) {
    let cap = null;
    for (let i = captions.length - 1; i >= 0 && i >= captions.length - 3; i--) {
      const c = captions[i];
      if (c.role !== role) continue;
      const echo = c.typed && c.text.trim().toLowerCase() === String(text).trim().toLowerCase();
      if (!c.final || echo) cap = c;
      break;
    }
    if (!cap) {
      cap = { role, text: "", final: false, typed, el: document.createElement("li") };
      cap.el.dataset.testid = "oratio-caption";
      cap.el.dataset.role = role;
      cap.el.innerHTML = "<b></b><span></span>";
      captions.push(cap);
      ui.captions.appendChild(cap.el);
    } else if (!typed) {
      cap.typed = false;
    }
    cap.text = String(text);
    cap.final = final !== false;
    cap.el.dataset.final = String(cap.final);
    cap.el.firstChild.textContent = speakerName(role);
    cap.el.lastChild.textContent = cap.text;
    ui.captions.scrollTop = ui.captions.scrollHeight;
  }

  function clearCaptions() {
    captions.length = 0;
    ui.captions.replaceChildren();
  }

  // ---- audio ---------------------------------------------------------------------------------
  function ensureAudio() {
    // Created synchronously inside the click handler so autoplay policies allow playback.
    if (ctx) return;
    ctx = new AudioContext();
    if (!RATES.includes(ctx.sampleRate)) {
      ctx.close();
      ctx = new AudioContext({ sampleRate: 48000 });
    }
    ctx.resume().catch(() => {});
  }

  async function startMic() {
    const audio = ctx;
    try {
      // Echo cancellation keeps the agent's own voice from barging in; noise suppression and
      // gain control measurably hurt the server's speech recognition, so they stay off.
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
      });
      if (audio !== ctx) return stream.getTracks().forEach((t) => t.stop()); // call ended meanwhile
      micStream = stream;
      await audio.audioWorklet.addModule(`${cfg.server}/mic-worklet.js`);
      if (audio !== ctx) return stopMic();
      const frames = Math.round((audio.sampleRate * BLOCK_MS) / 1000);
      micNode = new AudioWorkletNode(audio, "oratio-mic", { processorOptions: { frames } });
      micNode.port.onmessage = (e) => sendAudio(e.data);
      const sink = audio.createGain(); // keeps the node pulled without echoing the mic
      sink.gain.value = 0;
      audio.createMediaStreamSource(stream).connect(micNode).connect(sink).connect(audio.destination);
      setMuted(false);
    } catch (err) {
      if (audio !== ctx) return; // the call ended while the mic was coming up
      stopMic();
      setMuted(true);
      const why = err && err.name === "NotAllowedError" ? "Microphone access was blocked" : "No microphone available";
      notice(`${why}. You can type your question below.`);
    }
  }

  function stopMic() {
    if (micNode) micNode.port.onmessage = null, micNode.disconnect();
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    micNode = micStream = null;
  }

  function setMuted(on) {
    muted = on;
    ui.mic.setAttribute("aria-pressed", String(on));
    ui.mic.setAttribute("aria-label", on ? "Unmute microphone" : "Mute microphone");
  }

  // Float32 block from the worklet -> PCM16 little-endian binary frame.
  function sendAudio(block) {
    if (muted || !ready || !ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BUFFERED) return;
    const pcm = new Int16Array(block.length);
    for (let i = 0; i < block.length; i++) {
      const s = Math.max(-1, Math.min(1, block[i]));
      pcm[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    if (!LITTLE_ENDIAN) {
      const view = new DataView(pcm.buffer);
      for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i], true);
    }
    ws.send(pcm.buffer);
    stats.framesSent++;
  }

  // Schedule one chunk of agent audio right after the previous one (gapless).
  function play(buf) {
    const n = buf.byteLength >> 1;
    if (!ctx || !n) return;
    const view = new DataView(buf);
    const audio = ctx.createBuffer(1, n, outRate);
    const ch = audio.getChannelData(0);
    for (let i = 0; i < n; i++) ch[i] = view.getInt16(i * 2, true) / 32768;
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(ctx.destination);
    const now = ctx.currentTime;
    if (playHead < now + 0.01) playHead = now + 0.06; // (re)starting: small jitter cushion
    src.start(playHead);
    playHead += audio.duration;
    playing.add(src);
    stats.chunksPlayed++;
    if (playing.size === 1) render();
    src.onended = () => {
      if (playing.delete(src) && !playing.size) render();
    };
  }

  // Barge-in: silence everything scheduled or playing, now.
  function flush() {
    for (const src of playing) {
      try { src.stop(); } catch (_) { /* not started yet */ }
    }
    playing.clear();
    playHead = 0;
    render();
  }

  function teardownAudio(drain) {
    stopMic();
    const audio = ctx;
    ctx = null;
    if (!audio) return;
    if (!drain) flush();
    const wait = drain ? Math.max(0, playHead - audio.currentTime) * 1000 + 250 : 0;
    setTimeout(() => audio.close().catch(() => {}), wait); // let a goodbye finish playing
    playing.clear();
    playHead = 0;
  }

  // ---- connection ----------------------------------------------------------------------------
  function connect() {
    const url = `${cfg.server.replace(/^http/, "ws")}/ws/browser?agent=${encodeURIComponent(cfg.agent)}&key=${encodeURIComponent(cfg.key)}`;
    const sock = new WebSocket(url);
    sock.binaryType = "arraybuffer";
    ws = sock;
    ready = false;
    sock.onopen = () => {
      const hello = { type: "hello", sample_rate: ctx ? ctx.sampleRate : 48000 };
      if (resumeToken) hello.resume = resumeToken;
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (e) => {
      if (sock !== ws) return;
      if (typeof e.data !== "string") return play(e.data);
      let msg;
      try { msg = JSON.parse(e.data); } catch (_) { return; }
      onMessage(msg);
    };
    sock.onclose = (e) => sock === ws && onClose(e.code, e.reason);
  }

  function onMessage(msg) {
    switch (msg.type) {
      case "ready": {
        const resumed = Boolean(msg.resumed) && msg.session_id === sessionId;
        if (sessionId && !resumed) {
          flush(); // the server started a new session instead of resuming ours
          clearCaptions();
          notice("The earlier call could not be resumed, so a new call was started.");
        }
        sessionId = msg.session_id;
        resumeToken = msg.resume_token || "";
        outRate = msg.sample_rate || outRate;
        agentName = (msg.agent && msg.agent.name) || agentName;
        renderTitle();
        ready = true;
        dropAt = retries = 0;
        if (resumed) {
          for (const c of captions) if (!c.final) addCaption(c.role, c.text, true);
          if (!captions.length) for (const t of msg.transcript || []) addCaption(t.role, t.text, true);
          notice("Reconnected. Your call continues.", 4000);
        }
        if (state === "connecting" || state === "reconnecting") setState("listening");
        for (const t of pendingText.splice(0)) ws.send(JSON.stringify({ type: "text", text: t }));
        break;
      }
      case "state":
        if (msg.state === "ended") finish();
        else if (LABELS[msg.state]) setState(msg.state);
        break;
      case "transcript":
        addCaption(msg.role || "agent", msg.text || "", msg.final);
        break;
      case "flush":
        stats.flushes++;
        flush();
        break;
      case "handoff":
        setState("handed_off");
        notice(msg.message || "You are being connected to a person. Please stay on the line.");
        break;
      case "operator":
        operatorName = String(msg.name || "");
        if (state !== "handed_off") setState("handed_off");
        notice(`${operatorName || "A member of our team"} has joined the call. You can talk or type.`);
        break;
      case "error":
        notice(msg.message || "Something went wrong with the last message.", 6000);
        break;
      case "end":
        finish(msg.reason);
        break;
    }
  }

  function onClose(code, reason) {
    ws = null;
    ready = false; // audio already received keeps playing while we reconnect
    if (userStopped || !LIVE.includes(state)) return;
    if (code === 1000) return finish(reason);
    if (code === 4409 && resumeToken) {
      // The server no longer knows the call: start a fresh one (a new session, a clean slate).
      resumeToken = sessionId = "";
      flush();
      clearCaptions();
      notice("The earlier call could not be resumed, so a new call was started.");
      setState("connecting");
      return connect();
    }
    if (code >= 4400 && code < 4500) return fail(CLOSE_REASONS[code] || reason || `closed (${code})`);
    // A network drop (1001, 1006, 1011, 3000 from _dropSocketForTest...): retry within the grace.
    if (!dropAt) dropAt = Date.now();
    const delay = Math.min(500 * 2 ** retries++, 8000);
    if (Date.now() + delay - dropAt > GRACE_MS) return fail(CLOSE_REASONS[code] || "The connection was lost.");
    setState(sessionId ? "reconnecting" : "connecting");
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      if (!userStopped) connect();
    }, delay);
  }

  function finish(reason) {
    teardownAudio(true);
    clearTimeout(retryTimer);
    pendingText = [];
    setState("ended", reason && reason !== "bye" && reason !== "hangup" ? String(reason).replace(/_/g, " ") : "");
  }

  function fail(reason) {
    const sock = ws;
    ws = null;
    if (sock) sock.close(1000);
    teardownAudio(false);
    clearTimeout(retryTimer);
    pendingText = [];
    setState("error", reason);
  }

  // ---- public actions ------------------------------------------------------------------------
  function start(opts = {}) {
    if (LIVE.includes(state)) return;
    if (!cfg.agent || !cfg.key) return fail("the widget tag needs data-agent and data-key.");
    userStopped = false;
    sessionId = resumeToken = operatorName = "";
    dropAt = retries = 0;
    clearCaptions();
    notice("");
    open();
    ensureAudio();
    setState("connecting");
    setMuted(opts.mic === false);
    connect(); // the mic comes up in parallel; frames flow once `ready` arrives
    if (opts.mic !== false) startMic();
  }

  function stop() {
    userStopped = true;
    clearTimeout(retryTimer);
    const sock = ws;
    ws = null;
    ready = false;
    if (sock) {
      if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: "bye" }));
      sock.close(1000, "bye");
    }
    teardownAudio(false);
    pendingText = [];
    if (LIVE.includes(state)) setState("ended");
  }

  function sendText(text) {
    const t = String(text || "").trim().slice(0, 2000);
    if (!t) return false;
    if (!LIVE.includes(state)) start({ mic: false }); // typing starts a call without the mic
    if (state === "error") return false;
    addCaption("caller", t, true, true);
    if (ready && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "text", text: t }));
    else pendingText.push(t);
    return true;
  }

  function open(show = true) {
    ui.panel.hidden = !show;
    ui.launcher.setAttribute("aria-expanded", String(show));
  }
  const close = () => open(false);

  // ---- wiring ----------------------------------------------------------------------------------
  ui.launcher.addEventListener("click", () => open(ui.panel.hidden));
  ui.close.addEventListener("click", close);
  ui.panel.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  ui.call.addEventListener("click", () => (LIVE.includes(state) ? stop() : start()));
  ui.mic.addEventListener("click", () => {
    if (!muted) return setMuted(true);
    if (micNode) setMuted(false);
    else if (ctx) startMic();
  });
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (sendText(ui.input.value)) ui.input.value = "";
  });
  window.addEventListener("pagehide", () => { if (LIVE.includes(state)) stop(); });

  renderTitle();
  setState("idle");
  if (document.body) document.body.appendChild(host);
  else document.addEventListener("DOMContentLoaded", () => document.body.appendChild(host));

  window.OratioWidget = {
    open: () => open(true),
    close,
    start,
    stop,
    sendText,
    get state() { return state; },
    get states() { return states.slice(); },
    get sessionId() { return sessionId; },
    get captions() { return captions.map(({ role, text, final }) => ({ role, text, final })); },
    get audio() {
      const queuedMs = ctx ? Math.max(0, Math.round((playHead - ctx.currentTime) * 1000)) : 0;
      return { ...stats, context: ctx ? ctx.state : "closed", sampleRate: ctx ? ctx.sampleRate : 0, queuedMs };
    },
    get config() { return { ...cfg }; },
    /** Cut the socket as a network failure would (browsers may only send 1000 or 3000-4999). */
    _dropSocketForTest() {
      const sock = ws;
      if (!sock) return false;
      ws = null;
      sock.close(3000, "simulated drop");
      onClose(3000, "simulated drop");
      return true;
    },
  };
})();
