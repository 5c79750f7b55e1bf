// The agentloop web chat. Plain JavaScript, no build step, no network beyond this server.
// Untrusted text (model output, tool arguments and results, session titles) only ever reaches
// the page as text nodes or through renderMarkdown, which builds text nodes too.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  token: localStorage.getItem("agentloop.token") || "",
  info: null,
  session: null,        // id of the session on screen
  follow: null,         // AbortController of the stream being read
  running: false,
  cards: new Map(),     // tool call id -> card element
  texts: new Map(),     // AG-UI message id -> {node, text}
  fresh: false,         // a new session nothing was sent in yet (not stored on the server)
  runEnded: true,       // the stream being read has delivered RUN_FINISHED or RUN_ERROR
};

function newId(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text, isError) {
  $("status").textContent = text || "";
  $("status").classList.toggle("error", Boolean(text && isError));
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  if (state.token) opts.headers["Authorization"] = "Bearer " + state.token;
  if (opts.json !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  const response = await fetch(path, opts);
  if (response.status === 401) {
    askToken();
    throw new Error("this server needs a token");
  }
  return response;
}

async function apiJSON(path, options) {
  const response = await api(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function askToken() {
  $("token-form").hidden = false;
  $("token-input").focus();
}

// --- rendering ---------------------------------------------------------------------------

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function addUser(text, failed) {
  const node = el("div", failed ? "msg user failed" : "msg user");
  state.lastUser = node;
  node.append(el("div", "who", "you"));
  const body = el("div", "body");
  body.textContent = text;
  node.append(body);
  $("messages").append(node);
  scrollDown();
}

function addAssistant(id, text) {
  const node = el("div", "msg assistant");
  node.append(el("div", "who", "model"));
  const body = el("div", "body markdown");
  node.append(body);
  $("messages").append(node);
  const entry = { node: body, text: text || "" };
  renderMarkdown(body, entry.text);
  if (id) state.texts.set(id, entry);
  scrollDown();
  return entry;
}

function addThought(id, text) {
  const details = el("details", "thought");
  details.append(el("summary", null, "Thought summary"));
  const body = el("div", "body");
  body.textContent = text || "";
  details.append(body);
  $("messages").append(details);
  const entry = { node: body, text: text || "", thought: true };
  if (id) state.texts.set(id, entry);
  scrollDown();
  return entry;
}

// JSON on one line when it is short, indented when it is long; other text as it is.
function pretty(value) {
  if (typeof value === "string") {
    try { value = JSON.parse(value); } catch (e) { return value; }
  }
  if (typeof value === "string") return value;
  const flat = JSON.stringify(value);
  if (flat.length <= 100) return flat.replace(/([,:])(?=["{[\w-])/g, "$1 ");
  return JSON.stringify(value, null, 2);
}

function toolCard(id, name) {
  let card = state.cards.get(id);
  if (card) return card;
  card = el("div", "tool-card");
  card.dataset.callId = id;
  const head = el("div", "tool-head");
  head.append(el("span", "tool-name", name || "tool"));
  card.argsNode = el("code", "tool-args", "");
  card.argsText = "";
  head.append(card.argsNode);
  head.append(el("span", "tool-state", "running"));
  card.append(head);
  card.resultNode = el("pre", "tool-result", "");
  card.append(card.resultNode);
  card.actions = el("div", "tool-actions");
  card.append(card.actions);
  $("messages").append(card);
  state.cards.set(id, card);
  scrollDown();
  return card;
}

function setCardState(card, text, cls) {
  const node = card.querySelector(".tool-state");
  node.textContent = text;
  card.classList.remove("ok", "error", "waiting", "stale");
  if (cls) card.classList.add(cls);
}

function askApproval(card, id) {
  setCardState(card, "needs your approval", "waiting");
  card.actions.replaceChildren();
  const yes = el("button", "approve", "Approve");
  const no = el("button", "reject", "Reject");
  yes.type = no.type = "button";
  yes.addEventListener("click", () => decide(id, true));
  no.addEventListener("click", () => decide(id, false));
  card.actions.append(yes, no);
}

function addNote(text, cls) {
  const node = el("div", "note " + (cls || ""), text);
  $("messages").append(node);
  scrollDown();
}

function showUsage(usage) {
  const u = usage || {};
  const total = u.total_tokens || 0;
  const requests = u.model_requests || 0;
  $("usage").textContent = total + " tokens · " + requests + (requests === 1 ? " request" : " requests");
}

function drawItems(items) {
  for (const item of items) {
    if (item.kind === "user") addUser(item.text, item.failed);
    else if (item.kind === "error") addNote("Failed: " + item.text, "error");
    else if (item.kind === "assistant") addAssistant(null, item.text);
    else if (item.kind === "thought") addThought(null, item.text);
    else if (item.kind === "tool") {
      const card = toolCard(item.id, item.name);
      card.argsNode.textContent = pretty(item.arguments);
      if (item.done) {
        card.done = true;
        card.resultNode.textContent = pretty(item.result);
        setCardState(card, item.is_error ? "error" : "done", item.is_error ? "error" : "ok");
      } else if (item.pending) {
        askApproval(card, item.id);
      } else {
        setCardState(card, "no result", null);
      }
    }
  }
}

// --- AG-UI events ------------------------------------------------------------------------

function handle(event) {
  devRecord(event);
  switch (event.type) {
    case "RUN_STARTED":
      setRunning(true);
      break;
    case "TEXT_MESSAGE_START":
      addAssistant(event.messageId, "");
      break;
    case "TEXT_MESSAGE_CONTENT": {
      const entry = state.texts.get(event.messageId) || addAssistant(event.messageId, "");
      entry.text += event.delta;
      renderMarkdown(entry.node, entry.text);
      scrollDown();
      break;
    }
    case "REASONING_MESSAGE_START":
      addThought(event.messageId, "");
      break;
    case "REASONING_MESSAGE_CONTENT": {
      const entry = state.texts.get(event.messageId) || addThought(event.messageId, "");
      entry.text += event.delta;
      entry.node.textContent = entry.text;
      break;
    }
    case "TOOL_CALL_START":
      toolCard(event.toolCallId, event.toolCallName);
      break;
    case "TOOL_CALL_ARGS": {
      const card = toolCard(event.toolCallId);
      card.argsText += event.delta;
      card.argsNode.textContent = card.argsText;
      break;
    }
    case "TOOL_CALL_END": {
      const card = toolCard(event.toolCallId);
      card.argsNode.textContent = pretty(card.argsText);
      break;
    }
    case "TOOL_CALL_RESULT": {
      const card = toolCard(event.toolCallId);
      card.resultNode.textContent = pretty(event.content);
      card.done = true;
      card.actions.replaceChildren();
      setCardState(card, "done", "ok");
      break;
    }
    case "CUSTOM":
      custom(event.name, event.value || {});
      break;
    case "RUN_FINISHED": {
      const outcome = event.outcome || {};
      if (outcome.type === "interrupt") {
        for (const interrupt of outcome.interrupts || []) {
          const id = interrupt.toolCallId || interrupt.id;
          askApproval(toolCard(id), id);
        }
        setStatus("Waiting for your approval");
      } else if (outcome.type === "cancelled") {
        for (const card of state.cards.values()) {
          if (!card.done) { card.done = true; setCardState(card, "stopped", "error"); }
        }
        addNote("Stopped.", "stopped");
        setStatus("");
      } else {
        retireApprovals("not decided: the turn ended");
        setStatus("");
      }
      state.runEnded = true;
      setRunning(false);
      refreshSessions();
      timeTravel.sync();
      break;
    }
    case "RUN_ERROR":
      state.runEnded = true;
      if (state.lastUser) state.lastUser.classList.add("failed");  // not a turn: rolled back
      retireApprovals("not decided: the turn failed");
      fail("The turn failed", event.message + (event.code ? " (" + event.code + ")" : ""));
      refreshSessions();
      timeTravel.sync();
      break;
  }
}

function custom(name, value) {
  if (name === "agentloop.tool_call_finished") {
    const card = toolCard(value.tool_call_id);
    const ms = Math.round((value.duration || 0) * 1000);
    const what = value.is_error ? "error" : "done";
    setCardState(card, what + " · " + ms + " ms", value.is_error ? "error" : "ok");
  } else if (name === "agentloop.session") {
    showUsage(value.usage);
    if (value.strategy) $("strategy").value = value.strategy;
  } else if (name === "agentloop.retrying") {
    setStatus("Retrying (attempt " + value.attempt + ")…");
  } else if (name === "agentloop.stream_error") {
    setStatus("The stream reported an error: " + (value.message || value.code), true);
  } else if (name === "agentloop.strategy_fallback") {
    addNote("The server no longer knew this conversation; the full history was replayed.");
  }
}

async function readStream(response, sessionId) {
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    if (state.session === sessionId) fail("The request failed", message);
    return;
  }
  state.runEnded = false;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (data && state.session === sessionId) handle(JSON.parse(data));
      }
    }
  } catch (err) {
    if (err.name === "AbortError") return;
    if (state.session === sessionId) fail("Connection lost", err.message);
    return;
  }
  if (state.session === sessionId && !state.runEnded) {
    fail("Connection lost", "the server ended the stream before the turn finished");
  }
}

function follow(path, options) {
  if (state.follow) state.follow.abort();
  const controller = new AbortController();
  state.follow = controller;
  const sessionId = state.session;
  return api(path, Object.assign({ signal: controller.signal }, options || {}))
    .then((response) => readStream(response, sessionId))
    .catch((err) => {
      if (err.name !== "AbortError" && state.session === sessionId) {
        fail("Could not reach the server", err.message);
      }
    });
}

// --- failures and approvals that can no longer be decided ----------------------------------

// A failure ends the run on the page: the note stays in the chat, the status says what failed.
function fail(what, message) {
  addNote(what + ": " + message, "error");
  setRunning(false);
  setStatus(what + ": " + message, true);
}

// Approval cards of a turn that ended (a new message was sent, the turn failed) can no longer
// be decided: their buttons go, and the card says why.
function retireApprovals(reason) {
  for (const card of state.cards.values()) {
    if (!card.done && card.classList.contains("waiting")) {
      card.done = true;
      card.actions.replaceChildren();
      setCardState(card, reason, "stale");
    }
  }
}

// --- narrow screens: the sessions list is a drawer ------------------------------------------

function showSessions(open) {
  $("layout").classList.toggle("sessions-open", open);
  $("sessions-toggle").setAttribute("aria-expanded", open ? "true" : "false");
}

// --- the developer panel: the same event stream, seen as a developer --------------------------

const dev = { t0: 0, tools: new Map(), interactions: new Map() };

function devShow(open) {
  $("devpanel").hidden = !open;
  $("dev-toggle").setAttribute("aria-pressed", open ? "true" : "false");
  localStorage.setItem("agentloop.dev", open ? "1" : "0");
}

function devReset() {
  dev.t0 = 0;
  dev.tools.clear();
  dev.interactions.clear();
  for (const id of ["dev-events", "dev-tools", "dev-interactions"]) $(id).replaceChildren();
  $("dev-usage").textContent = "no turn yet";
  $("dev-state").textContent = "no turn yet";
}

// The session as the server sees it (the agentloop.session summary or a reloaded detail).
function devState(summary) {
  const waiting = (summary.pending || []).length;
  $("dev-state").textContent = [
    "session " + summary.id,
    "model " + summary.model,
    "strategy " + summary.strategy,
    waiting ? waiting + " call(s) waiting for approval" : "nothing waiting",
  ].join(" · ");
}

function short(text, n) {
  const s = String(text === undefined || text === null ? "" : text);
  return s.length > n ? s.slice(0, n) + "…" : s;
}

function devDetail(event) {
  switch (event.type) {
    case "TEXT_MESSAGE_CONTENT":
    case "REASONING_MESSAGE_CONTENT":
    case "TOOL_CALL_ARGS":
      return JSON.stringify(short(event.delta, 80));
    case "TOOL_CALL_START": return event.toolCallName + " " + event.toolCallId;
    case "TOOL_CALL_RESULT": return event.toolCallId + " → " + short(event.content, 80);
    case "CUSTOM": return event.name + " " + short(JSON.stringify(event.value), 120);
    case "RUN_STARTED": return "run " + event.runId;
    case "RUN_FINISHED": return (event.outcome && event.outcome.type) || (event.result && event.result.status) || "";
    case "RUN_ERROR": return (event.code ? event.code + ": " : "") + event.message;
    default: return "";
  }
}

function devLine(list, parts) {
  const item = el("li");
  for (const [cls, text] of parts) item.append(el("span", cls, text), " ");
  $(list).append(item);
  return item;
}

function devTool(id, name) {
  let entry = dev.tools.get(id);
  if (entry) return entry;
  const item = el("li");
  item.dataset.callId = id;
  const head = el("div");
  entry = { item, name: el("span", "kind", name || "tool"), timing: el("span", "t", "running"),
            args: el("pre", "args", ""), result: el("pre", "result", "") };
  head.append(entry.name, " ", entry.timing, " ", el("code", "t", id));
  item.append(head, entry.args, entry.result);
  $("dev-tools").append(item);
  dev.tools.set(id, entry);
  return entry;
}

function devUsage(usage, cost) {
  const u = usage || {};
  const parts = [
    (u.model_requests || 0) + " requests",
    (u.input_tokens || 0) + " in",
    (u.output_tokens || 0) + " out",
    (u.total_tokens || 0) + " total tokens",
    cost === null || cost === undefined ? "cost: unpriced" : "cost: " + Number(cost).toFixed(6),
  ];
  $("dev-usage").textContent = parts.join(" · ");
}

function devRecord(event) {
  const now = performance.now();
  if (!dev.t0) dev.t0 = now;
  const at = "+" + Math.round(now - dev.t0) + " ms";
  const line = devLine("dev-events", [["t", at], ["kind", event.type], ["", devDetail(event)]]);
  if (event.type === "RUN_ERROR") line.classList.add("err");
  if (event.type === "TOOL_CALL_START") devTool(event.toolCallId, event.toolCallName);
  else if (event.type === "TOOL_CALL_ARGS") devTool(event.toolCallId).args.textContent += event.delta;
  else if (event.type === "TOOL_CALL_END") {
    const entry = devTool(event.toolCallId);
    entry.args.textContent = pretty(entry.args.textContent);
  } else if (event.type === "TOOL_CALL_RESULT") {
    devTool(event.toolCallId).result.textContent = "→ " + pretty(event.content);
  } else if (event.type === "CUSTOM") devCustom(event.name, event.value || {});
}

function devCustom(name, value) {
  if (name === "agentloop.tool_call_finished") {
    const entry = devTool(value.tool_call_id);
    entry.timing.textContent = (value.duration * 1000).toFixed(1) + " ms" + (value.is_error ? " · error" : "");
    if (value.is_error) entry.item.classList.add("err");
  } else if (name === "agentloop.interaction") {
    let item = dev.interactions.get(value.interaction_id);
    if (!item) {
      item = devLine("dev-interactions", [["", ""]]);
      dev.interactions.set(value.interaction_id, item);
    }
    item.replaceChildren(el("code", "", value.interaction_id), " ");
    if (value.phase === "completed") {
      const u = value.usage || {};
      item.append(el("span", "kind", value.status), " ",
        el("span", "t", u.input_tokens + " in · " + u.output_tokens + " out · " + u.total_tokens + " total"));
    } else {
      item.append(el("span", "t", "running"));
    }
  } else if (name === "agentloop.session") {
    devUsage(value.usage, value.cost);
    devState(value);
  }
}

// A reloaded session: its tool calls and usage from the history (no timings: not seen live).
function devFromHistory(detail) {
  devUsage(detail.usage, detail.cost);
  devState(detail);
  for (const item of detail.items) {
    if (item.kind !== "tool") continue;
    const entry = devTool(item.id, item.name);
    entry.args.textContent = pretty(item.arguments);
    entry.timing.textContent = item.done ? (item.is_error ? "error (history)" : "done (history)") : "no result";
    if (item.done) entry.result.textContent = "→ " + pretty(item.result);
  }
}

// --- actions -----------------------------------------------------------------------------

function setRunning(running) {
  state.running = running;
  $("stop").hidden = !running;
  $("send").disabled = running;
  if (running) setStatus("Working…");
  else if (/^(Working|Retrying)/.test($("status").textContent)) setStatus("");
}

function send() {
  const box = $("input");
  const text = box.value;
  if (!text.trim() || state.running) return;
  box.value = "";
  retireApprovals("not approved: you sent a new message");
  state.fresh = false;
  addUser(text);
  setRunning(true);
  const input = {
    threadId: state.session,
    runId: newId("run-"),
    messages: [{ id: newId("msg-"), role: "user", content: text }],
    forwardedProps: { strategy: $("strategy").value },
  };
  follow("/agui", { method: "POST", json: input, headers: { Accept: "text/event-stream" } });
}

function decide(id, approved) {
  const card = state.cards.get(id);
  if (card) {
    card.actions.replaceChildren();
    setCardState(card, approved ? "approved" : "rejected", null);
  }
  setRunning(true);
  const input = {
    threadId: state.session,
    runId: newId("run-"),
    messages: [],
    resume: [{ interruptId: id, status: approved ? "resolved" : "cancelled", payload: { approved: approved } }],
  };
  follow("/agui", { method: "POST", json: input, headers: { Accept: "text/event-stream" } });
}

async function stop() {
  if (!state.running || !state.session) return;
  await api("/api/sessions/" + encodeURIComponent(state.session) + "/stop", { method: "POST" });
}

function clearChat() {
  $("messages").replaceChildren();
  state.cards.clear();
  state.texts.clear();
  setStatus("");
}

function newSession() {
  openSession(newId("web-"), true);
}

async function openSession(id, fresh) {
  if (state.follow) state.follow.abort();
  state.session = id;
  state.fresh = Boolean(fresh);
  showSessions(false);
  devReset();
  history.replaceState(null, "", "#s=" + encodeURIComponent(id));
  clearChat();
  setRunning(false);
  showUsage({});
  markCurrent();
  timeTravel.sync();
  if (fresh) {
    $("strategy").value = (state.info && state.info.strategy) || "stateful";
    $("input").focus();
    return;
  }
  let detail;
  try {
    detail = await apiJSON("/api/sessions/" + encodeURIComponent(id));
  } catch (err) {
    if (state.session !== id) return;
    if (/^no session /.test(err.message)) {  // never stored (nothing was sent in it): start it
      state.fresh = true;
      $("strategy").value = (state.info && state.info.strategy) || "stateful";
      $("input").focus();
      return;
    }
    fail("Could not open this session", err.message);
    return;
  }
  if (state.session !== id) return;
  $("strategy").value = detail.strategy;
  showUsage(detail.usage);
  drawItems(detail.items);
  devFromHistory(detail);
  timeTravel.sync();
  if (detail.pending.length) setStatus("Waiting for your approval");
  if (detail.running_run) {
    if (detail.running_run.user_text) addUser(detail.running_run.user_text);
    setRunning(true);
    follow("/api/sessions/" + encodeURIComponent(id) + "/events");
  }
  $("input").focus();
}

function markCurrent() {
  for (const item of $("sessions").children) {
    item.classList.toggle("current", item.dataset.id === state.session);
  }
}

async function refreshSessions() {
  let data;
  try { data = await apiJSON("/api/sessions"); } catch (err) { return; }
  const list = $("sessions");
  list.replaceChildren();
  for (const s of data.sessions) {
    const item = el("li", "session");
    item.dataset.id = s.id;
    const open = el("button", "open", s.title || s.id);
    open.type = "button";
    open.title = s.id;
    open.addEventListener("click", () => openSession(s.id, false));
    const del = el("button", "delete", "×");
    del.type = "button";
    del.title = "Delete this session";
    del.setAttribute("aria-label", "Delete session " + (s.title || s.id));
    del.addEventListener("click", async () => {
      await api("/api/sessions/" + encodeURIComponent(s.id), { method: "DELETE" });
      if (state.session === s.id) newSession();
      refreshSessions();
    });
    if (s.running) item.classList.add("running");
    item.append(open, del);
    list.append(item);
  }
  markCurrent();
}

async function switchStrategy() {
  if (!state.session || state.running) return;
  if (state.fresh) {  // nothing stored yet: the first message carries the strategy
    setStatus("Strategy: " + $("strategy").value + " (from the first message)");
    return;
  }
  try {
    const summary = await apiJSON("/api/sessions/" + encodeURIComponent(state.session), {
      method: "PATCH", json: { strategy: $("strategy").value },
    });
    $("strategy").value = summary.strategy;
    setStatus("Strategy: " + summary.strategy + " (the history carries over)");
    refreshSessions();
  } catch (err) {
    setStatus("Could not switch: " + err.message);
  }
}

async function start() {
  try {
    state.info = await apiJSON("/api/info");
  } catch (err) {
    setStatus(err.message);
    return;
  }
  document.title = state.info.title;
  $("title").textContent = state.info.title + " · " + state.info.model;
  const note = $("backend-note");
  note.hidden = false;
  note.textContent = state.info.backend || (state.info.offline ? "Offline" : "Gemini API");
  note.classList.toggle("offline", state.info.offline);
  const tools = state.info.tools.map((t) => t.name + (t.requires_approval ? " (asks first)" : ""));
  $("input").placeholder = "Message" + (tools.length ? " · tools: " + tools.join(", ") : "") +
    " (Enter sends, Shift+Enter new line, Esc stops)";
  await refreshSessions();
  const match = location.hash.match(/^#s=(.+)$/);
  if (match) openSession(decodeURIComponent(match[1]), false);
  else newSession();
}

// --- time travel: "edit and re-run from here" on a user message, the branch switcher -------
// Each user message on screen is one turn of the session (in order). Re-running turn N makes a
// new session holding turns 0..N-1 (a stored branch naming its parent), opens it, and sends the
// edited message there; the original session stays as it was.

const timeTravel = {
  seq: 0,

  async sync() {
    const id = state.session;
    const seq = ++timeTravel.seq;
    let data = null;
    try {
      data = await apiJSON("/api/sessions/" + encodeURIComponent(id) + "/branches");
    } catch (err) { /* a new session: nothing stored yet */ }
    if (seq !== timeTravel.seq || state.session !== id) return;
    timeTravel.drawSwitcher(data ? data.branches : []);
    timeTravel.decorate(data ? data.turns : []);
  },

  switcher() {
    let select = $("branches");
    if (!select) {
      const label = el("label", "branches-label", "Branch ");
      label.hidden = true;
      select = el("select");
      select.id = "branches";
      select.title = "Branches of this conversation (made by edit and re-run)";
      select.addEventListener("change", () => {
        if (select.value && select.value !== state.session) openSession(select.value, false);
      });
      label.append(select);
      $("topbar").insertBefore(label, $("usage"));
    }
    return select;
  },

  drawSwitcher(rows) {
    const select = timeTravel.switcher();
    select.replaceChildren();
    for (const row of rows) {
      const verb = row.kind === "replay" ? " (re-run of message " : " (fork after message ";
      const where = row.parent ? verb + (row.at + 1) + ")" : "";
      const text = "\u00a0\u00a0".repeat(row.depth) + (row.title || row.id) + where;
      const option = el("option", null, text);
      option.value = row.id;
      option.selected = row.id === state.session;
      select.append(option);
    }
    select.parentElement.hidden = rows.length < 2;
  },

  decorate(turns) {
    // A failed exchange is drawn but is no turn of the session: it is skipped.
    const nodes = Array.from($("messages").querySelectorAll(".msg.user:not(.failed)"));
    nodes.forEach((node, n) => {
      if (n >= turns.length || node.querySelector(".rerun")) return;
      node.dataset.turn = String(turns[n].index);
      const button = el("button", "rerun", "Edit & re-run");
      button.type = "button";
      button.title = "Edit this message and re-run the conversation from here, in a new branch";
      button.addEventListener("click", () => timeTravel.edit(node, turns[n].index));
      (node.querySelector(".who") || node).append(button);
    });
  },

  edit(node, turn) {
    if (state.running || node.querySelector(".rerun-editor")) return;
    const body = node.querySelector(".body");
    const editor = el("div", "rerun-editor");
    const box = el("textarea");
    box.value = body.textContent;
    box.rows = 3;
    box.setAttribute("aria-label", "Edited message");
    const go = el("button", "rerun-go", "Re-run");
    const cancel = el("button", "rerun-cancel", "Cancel");
    go.type = cancel.type = "button";
    cancel.addEventListener("click", () => editor.remove());
    go.addEventListener("click", () => timeTravel.rerun(turn, box.value));
    editor.append(box, go, cancel);
    node.append(editor);
    box.focus();
  },

  async rerun(turn, text) {
    if (!text.trim() || state.running) return;
    let branch;
    try {
      branch = await apiJSON("/api/sessions/" + encodeURIComponent(state.session) + "/rerun", {
        method: "POST", json: { turn: turn },
      });
    } catch (err) {
      setStatus("Could not re-run: " + err.message);
      return;
    }
    await openSession(branch.id, false);
    $("input").value = text;
    send();
    refreshSessions();
  },
};

document.addEventListener("DOMContentLoaded", () => {
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") stop(); });
  $("stop").addEventListener("click", stop);
  $("new-session").addEventListener("click", newSession);
  $("strategy").addEventListener("change", switchStrategy);
  $("sessions-toggle").addEventListener("click", () => showSessions(!$("layout").classList.contains("sessions-open")));
  $("dev-toggle").addEventListener("click", () => devShow($("devpanel").hidden));
  $("dev-close").addEventListener("click", () => devShow(false));
  $("dev-clear").addEventListener("click", () => $("dev-events").replaceChildren());
  devShow(localStorage.getItem("agentloop.dev") === "1");
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token-input").value.trim();
    localStorage.setItem("agentloop.token", state.token);
    $("token-form").hidden = true;
    start();
  });
  start();
});
