// Junction's admin dashboard: logs in, then polls the JSON API below this page's path
// (api/...) every second or two, draws the charts on <canvas>, and streams the live tail
// (text/event-stream). No framework, no build step, no chart library.
"use strict";

const WINDOW_MS = 5 * 60 * 1000; // the charts keep the last five minutes
const $ = (id) => document.getElementById(id);

// The charts' data, for people and tests: name -> {series: {label: [[t_ms, value], ...]}}.
const charts = {
  messages: { unit: "/s", series: { in: [], out: [] } },
  deliveries: { unit: "/s", series: { delivered: [] } },
  bridge: { unit: "/s", series: { requests: [] } },
  latency: { unit: "ms", series: { call: [], publish: [] } },
};
window.junctionCharts = charts;
const COLORS = ["#2563eb", "#f97316", "#16a34a", "#9333ea"];

let me = null; // {user, role}
let timers = [];
let lastStats = null;
let lastBridge = null;
let tail = null;

// --- API -------------------------------------------------------------------------------

async function api(path, options = {}) {
  const response = await fetch("api/" + path, {
    credentials: "same-origin",
    headers: options.body ? { "Content-Type": "application/json" } : {},
    ...options,
  });
  if (response.status === 401 && path !== "login") {
    showLogin();
    throw new Error("logged out");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  const total = response.headers.get("x-total-count");
  if (total !== null && Array.isArray(body)) body.total = Number(total);
  return body;
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 2500);
}

// --- Login -----------------------------------------------------------------------------

function showLogin() {
  stopTimers();
  stopTail();
  me = null;
  $("dash-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("login-user").focus();
}

function showDashboard(who) {
  me = who;
  $("login-view").hidden = true;
  $("dash-view").hidden = false;
  $("who").hidden = false;
  $("user").textContent = who.user;
  $("role").textContent = who.role;
  document.body.dataset.role = who.role;
  startTimers();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const who = await api("login", {
      method: "POST",
      body: JSON.stringify({ user: $("login-user").value, password: $("login-password").value }),
    });
    $("login-password").value = "";
    showDashboard(who);
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

$("logout").addEventListener("click", async () => {
  await api("logout", { method: "POST" }).catch(() => {});
  showLogin();
});

// --- Refreshing ------------------------------------------------------------------------

function startTimers() {
  stopTimers();
  refreshSlow();
  refreshStats();
  timers.push(setInterval(refreshStats, 1000));
  timers.push(setInterval(refreshSlow, 2000));
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

async function refreshSlow() {
  if (!me) return;
  try {
    const overview = await api("overview");
    renderOverview(overview);
    const realm = $("realm-select").value;
    const q = realm ? "?realm=" + encodeURIComponent(realm) : "";
    const [sessions, subscriptions, registrations, pollers] = await Promise.all([
      api("sessions" + q),
      realm ? api("subscriptions" + q) : Promise.resolve([]),
      realm ? api("registrations" + q) : Promise.resolve([]),
      api("pollers"),
    ]);
    renderSessions(sessions);
    renderPatterns("subscriptions", subscriptions, false);
    renderPatterns("registrations", registrations, true);
    renderPollers(pollers);
  } catch (e) {
    if (e.message !== "logged out") console.warn(e);
  }
}

// Two readings of the running totals make a rate; the charts keep five minutes of them.
async function refreshStats() {
  if (!me) return;
  let stats;
  try {
    stats = await api("stats");
  } catch (e) {
    return;
  }
  const prev = lastStats;
  lastStats = stats;
  renderBridge(stats, prev);
  if (!prev) return;
  const dt = (stats.at_ms - prev.at_ms) / 1000;
  if (dt <= 0) return;
  const t = stats.at_ms;
  const rate = (k) => Math.max(0, (stats[k] - prev[k]) / dt);
  push("messages", "in", t, rate("messages_in"));
  push("messages", "out", t, rate("messages_out"));
  push("deliveries", "delivered", t, rate("events_delivered"));
  push("bridge", "requests", t, Math.max(0, (bridgeTotal(stats) - bridgeTotal(prev)) / dt));
  const mean = (sum, count) => {
    const n = stats[count] - prev[count];
    // No call or delivery in the interval: no latency to show (a gap, not 0 ms).
    return n > 0 ? ((stats[sum] - prev[sum]) / n) * 1000 : null;
  };
  push("latency", "call", t, mean("call_seconds_sum", "calls"));
  push("latency", "publish", t, mean("publish_delivery_seconds_sum", "publish_deliveries_timed"));
  for (const name of Object.keys(charts)) drawChart(name);
}

function bridgeTotal(stats) {
  return (stats.bridge || []).reduce((sum, b) => sum + b.count, 0);
}

function push(chart, label, t, value) {
  const points = charts[chart].series[label];
  points.push([t, value]);
  while (points.length && points[0][0] < t - WINDOW_MS) points.shift();
}

// --- Rendering -------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fill(tableId, rows, columns, empty) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: columns }, empty))])
  );
}

const fmt = new Intl.NumberFormat("en-US");
const num = (n) => fmt.format(Math.round(n));
const rateFmt = (n) => (n >= 100 ? num(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return Math.round(s) + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function renderOverview(o) {
  $("version").textContent = "v" + o.version;
  $("uptime").textContent = duration(o.uptime_s);
  $("connections").textContent = num(o.connections);
  const rss = o.process && o.process.resident_memory_bytes;
  $("rss").textContent = rss ? (rss / 1048576).toFixed(1) + " MiB" : "–";
  $("realms").replaceChildren(
    ...o.realms.map((r) =>
      el("div", { class: "card realm", "data-realm": r.name },
        el("div", { class: "name" }, r.name),
        el("div", { class: "figures" },
          figure(r.sessions, "sessions"),
          figure(r.subscriptions, "subscriptions"),
          figure(r.registrations, "registrations")))
    )
  );
  for (const select of [$("realm-select"), $("tail-realm")]) {
    const names = o.realms.map((r) => r.name);
    const current = [...select.options].map((opt) => opt.value);
    if (names.join() !== current.join()) {
      const keep = select.value;
      select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
      if (names.includes(keep)) select.value = keep;
    }
  }
}

function figure(n, label) {
  return el("div", { class: "figure" }, el("b", {}, num(n)), el("span", {}, label));
}

function renderSessions(sessions) {
  const total = sessions.total ?? sessions.length;
  $("sessions-count").textContent =
    total > sessions.length ? `${num(total)} (the first ${num(sessions.length)} shown)` : num(total);
  const admin = me && me.role === "admin";
  fill("sessions", sessions.map((s) =>
    el("tr", { "data-session": s.session },
      el("td", { class: "mono" }, s.session),
      el("td", {}, s.realm),
      el("td", {}, s.authid),
      el("td", {}, s.authrole),
      el("td", {}, s.authmethod),
      el("td", {}, s.transport),
      el("td", { class: "mono" }, s.peer),
      el("td", { title: s.joined_at }, ago(s.joined_at)),
      el("td", { class: "num" }, num(s.messages_in)),
      el("td", { class: "num" }, num(s.messages_out)),
      el("td", { class: "num" },
        el("button", {
          class: "danger kill",
          disabled: !admin,
          title: admin ? "End this session (GOODBYE)" : "Viewers cannot kill sessions",
          onclick: () => kill(s),
        }, "Kill")))
  ), 11, "No client sessions.");
}

async function kill(s) {
  if (!confirm(`Kill session ${s.session} (${s.authid || "anonymous"})?`)) return;
  try {
    await api(`sessions/${s.session}/kill?realm=${encodeURIComponent(s.realm)}`, { method: "POST" });
    toast(`Session ${s.session} killed`);
    refreshSlow();
  } catch (e) {
    toast(e.message);
  }
}

function renderPatterns(id, rows, registrations) {
  $(id + "-count").textContent = rows.length;
  fill(id, rows.map((r) =>
    el("tr", {},
      el("td", { class: "mono" }, r.uri),
      el("td", {}, el("span", { class: "badge" }, r.match)),
      registrations ? el("td", {}, r.invoke) : null,
      el("td", { class: "num" }, num(r.count)))
  ), registrations ? 4 : 3, registrations ? "No registrations." : "No subscriptions.");
}

function renderPollers(pollers) {
  $("pollers-count").textContent = pollers.length;
  const admin = me && me.role === "admin";
  fill("pollers", pollers.map((p) => {
    const records = (p.records || []).slice(0, 10).reverse();
    const last = (p.records || [])[0];
    return el("tr", { "data-topic": p.topic },
      el("td", { class: "mono" }, p.topic),
      el("td", {}, p.realm),
      el("td", {}, p.healthy
        ? el("span", { class: "badge ok" }, "healthy")
        : el("span", { class: "badge bad", title: p.lastError || "" }, "failing")),
      el("td", { title: p.lastSuccess || "" }, ago(p.lastSuccess)),
      el("td", { class: "num" }, num(p.seq)),
      el("td", { class: "num" }, num(p.polls)),
      el("td", {},
        el("div", { class: "records" }, records.map((r) =>
          el("i", {
            class: r.error ? "failed" : r.changed ? "changed" : "",
            title: `${r.started}  ${r.status ?? "no response"}  ${r.duration_ms} ms  ${r.bytes} B` +
              (r.changed ? "  changed" : "") + (r.error ? "  " + r.error : ""),
          }))),
        last ? el("div", { class: "muted last-record" },
          `${last.status ?? "—"} · ${last.duration_ms} ms · ${num(last.bytes)} B` +
          (last.changed ? " · changed" : "")) : null),
      el("td", { class: "num" },
        el("button", {
          class: "small poll-now",
          disabled: !admin,
          title: admin ? "Poll this topic now" : "Viewers cannot poll",
          onclick: () => pollNow(p),
        }, "Poll now")));
  }), 8, "No poller topics.");
}

async function pollNow(p) {
  try {
    await api(`pollers/${encodeURIComponent(p.realm)}/${encodeURIComponent(p.topic)}/poll`, { method: "POST" });
    toast(`Polling ${p.topic}`);
    setTimeout(refreshSlow, 500);
  } catch (e) {
    toast(e.message);
  }
}

function renderBridge(stats, prev) {
  const before = new Map((prev ? prev.bridge : []).map((b) => [b.path + " " + b.status, b]));
  const dt = prev ? (stats.at_ms - prev.at_ms) / 1000 : 0;
  const rows = [...(stats.bridge || [])].sort((a, b) => a.path.localeCompare(b.path) || a.status - b.status);
  // seconds_sum is the path's, all statuses together: the mean is the path's too.
  const perPath = new Map();
  for (const b of rows) perPath.set(b.path, (perPath.get(b.path) || 0) + b.count);
  fill("bridge", rows.map((b) => {
    const was = before.get(b.path + " " + b.status);
    const rate = was && dt > 0 ? (b.count - was.count) / dt : 0;
    const cls = b.status >= 500 ? "bad" : b.status >= 400 ? "warn" : "ok";
    return el("tr", {},
      el("td", { class: "mono" }, b.path),
      el("td", {}, el("span", { class: "badge " + cls }, b.status)),
      el("td", { class: "num" }, rateFmt(rate)),
      el("td", { class: "num" }, num(b.count)),
      el("td", { class: "num", title: "all statuses of the path" },
        perPath.get(b.path) ? (b.seconds_sum / perPath.get(b.path) * 1000).toFixed(2) : "—"));
  }), 5, "No HTTP bridge requests yet.");
}

// --- Charts ----------------------------------------------------------------------------

// A small line chart: time on x (the last five minutes), zero-based y with a rounded top.
function drawChart(name) {
  const chart = charts[name];
  const canvas = $("chart-" + name);
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const labels = Object.keys(chart.series);
  const all = labels.flatMap((l) => chart.series[l]);
  const now = all.length ? Math.max(...all.map((p) => p[0])) : Date.now();
  const top = niceTop(Math.max(0, ...all.map((p) => p[1] ?? 0)));
  const left = 44, right = 8, upper = 8, lower = 18;
  const x = (t) => left + ((t - (now - WINDOW_MS)) / WINDOW_MS) * (width - left - right);
  const y = (v) => upper + (1 - v / top) * (height - upper - lower);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7685";
  g.strokeStyle = "#e3e7ee";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    g.beginPath();
    g.moveTo(left, Math.round(y(v)) + 0.5);
    g.lineTo(width - right, Math.round(y(v)) + 0.5);
    g.stroke();
    g.textAlign = "right";
    g.fillText(shortNumber(v), left - 6, y(v) + 4);
  }
  for (const minutes of [5, 4, 3, 2, 1, 0]) {
    g.textAlign = minutes === 5 ? "left" : minutes ? "center" : "right";
    g.fillText(minutes ? `-${minutes}m` : "now", x(now - minutes * 60000), height - 4);
  }
  labels.forEach((label, i) => {
    const points = chart.series[label];
    if (points.length < 1) return;
    g.strokeStyle = COLORS[i % COLORS.length];
    g.lineWidth = 2;
    g.lineJoin = "round";
    g.beginPath();
    let drawing = false;
    for (const [t, v] of points) {
      if (v === null) {
        drawing = false;
        continue;
      }
      if (drawing) g.lineTo(x(t), y(v));
      else g.moveTo(x(t), y(v));
      drawing = true;
    }
    g.stroke();
  });
  canvas.dataset.series = JSON.stringify(
    Object.fromEntries(labels.map((l) => [l, chart.series[l].map((p) => p[1])]))
  );
  $("legend-" + name).replaceChildren(...labels.map((label, i) => {
    const points = chart.series[label];
    const last = points.length ? points[points.length - 1][1] : null;
    const shown = last === null ? "–" : rateFmt(last) + (chart.unit === "ms" ? " ms" : "/s");
    return el("span", {}, el("i", { class: "swatch-" + i }), label, el("b", {}, shown));
  }));
  document.querySelectorAll("#legend-" + name + " i").forEach((swatch, i) => {
    swatch.style.background = COLORS[i % COLORS.length];
  });
}

function niceTop(max) {
  if (max <= 0) return 1;
  const magnitude = Math.pow(10, Math.floor(Math.log10(max)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

function shortNumber(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k";
  return String(Number(v.toFixed(2)));
}

window.addEventListener("resize", () => Object.keys(charts).forEach(drawChart));

// --- Live tail -------------------------------------------------------------------------

$("tail-form").addEventListener("submit", (event) => {
  event.preventDefault();
  stopTail();
  const realm = $("tail-realm").value, topic = $("tail-topic").value.trim(), match = $("tail-match").value;
  if (!topic) return;
  const url = `api/tail?realm=${encodeURIComponent(realm)}&topic=${encodeURIComponent(topic)}&match=${match}`;
  tail = new EventSource(url);
  $("tail").replaceChildren();
  $("tail-stop").disabled = false;
  $("tail-status").textContent = `Connecting to ${topic}…`;
  tail.onopen = () => ($("tail-status").textContent = `Tailing ${topic} (${match}) in ${realm}.`);
  tail.onerror = () => {
    $("tail-status").textContent = "The tail closed (logged out, a bad topic, or too slow a reader).";
    stopTail();
  };
  tail.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const payload = { args: event.args ?? undefined, kwargs: event.kwargs ?? undefined };
    const list = $("tail");
    list.prepend(el("li", { "data-publication": event.publication },
      el("span", { class: "t" }, new Date(event.time).toLocaleTimeString()),
      el("span", {}, event.topic),
      el("span", { class: "payload" }, JSON.stringify(payload))));
    while (list.children.length > 200) list.lastChild.remove();
  };
});

function stopTail() {
  if (tail) tail.close();
  tail = null;
  $("tail-stop").disabled = true;
}
$("tail-stop").addEventListener("click", () => {
  stopTail();
  $("tail-status").textContent = "Stopped.";
});

// --- Start -----------------------------------------------------------------------------

api("whoami").then(showDashboard).catch(() => showLogin());
