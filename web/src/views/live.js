// The live board: realtime calls updating from the push, risk and sentiment per call, open alerts with
// acknowledge, filters, and a sound and visual cue when a new critical alert arrives.
import { api } from "../api.js";
import { fillOr, fmt, h } from "../dom.js";
import { subscribe } from "../main.js";
import { acknowledge, alertItem, callTable, card } from "./parts.js";

const SEVERITY_ORDER = { critical: 0, high: 1, medium: 2, low: 3 };
const CALLS = "/api/realtime/calls?limit=100";
/** How often the board reads the call list again, so quiet calls show their decayed risk. */
const REFRESH_MS = 10_000;

/** A short two-tone beep (Web Audio; silent where the browser blocks audio before a user gesture). */
function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.frequency.setValueAtTime(660, ctx.currentTime + 0.15);
    osc.stop(ctx.currentTime + 0.3);
  } catch {
    /* no audio available */
  }
}

function riskClass(r) {
  return r >= 0.72 ? "risk-high" : r >= 0.4 ? "risk-mid" : "risk-low";
}

export function renderLive(main) {
  const board = {
    calls: new Map(), // call_id → summary
    alerts: new Map(), // alert id → alert
    filters: boardFilters(),
    callBody: h("tbody"),
    alertList: h("ul.alerts", { "aria-live": "polite", "aria-label": "Open alerts" }),
    banner: h("div.banner", { role: "alert", hidden: true }),
  };
  layout(main, board);
  board.filters.status.addEventListener("change", () => drawCalls(board));
  board.filters.severity.addEventListener("change", () => drawAlerts(board));
  const unsubscribe = subscribe((m) => takePush(board, m));
  loadBoard(board);
  const timer = setInterval(() => refresh(board), REFRESH_MS);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}

// The filter row: which calls and alerts show, and whether a new critical alert beeps.
function boardFilters() {
  const status = h("select", { id: "f-status" }, ["all", "active", "ended"].map((s) => h("option", { value: s }, s)));
  const severity = h("select", { id: "f-severity" }, ["all", "critical", "high", "medium"].map((s) => h("option", { value: s }, s)));
  const sound = h("input", { type: "checkbox", id: "f-sound", checked: true });
  const el = h("div.filters", {},
    h("label", {}, "Status ", status),
    h("label", {}, "Severity ", severity),
    h("label.check", {}, sound, " Sound on critical alerts"));
  return { status, severity, sound, el };
}

// The page's frame: title, banner, filters, and the calls table beside the open alerts.
function layout(main, board) {
  main.append(
    h("h1", {}, "Live board"),
    board.banner,
    board.filters.el,
    h("div.board", {},
      card("calls-h", "Calls", callTable(["Call", "Status", "Risk", "Sentiment", "Last said", "Updated"], board.callBody)),
      card("alerts-h", "Open alerts", board.alertList)),
  );
}

// The calls table: the status filter applied, the most recently updated first.
function drawCalls({ calls, filters, callBody }) {
  const rows = [...calls.values()]
    .filter((c) => filters.status.value === "all" || c.status === filters.status.value)
    .sort((a, b) => (b.updated_at ?? "").localeCompare(a.updated_at ?? ""));
  fillOr(callBody, rows.map(callRow), h("tr", {}, h("td", { colspan: 6 }, "No calls yet.")));
}

// One call's row: a link to its detail, risk coloured by level, and who said what last.
function callRow(c) {
  return h("tr", { dataset: { call: c.call_id } },
    h("td", {}, h("a", { href: `/calls/${encodeURIComponent(c.call_id)}` }, c.call_id)),
    h("td", {}, h("span.badge", { dataset: { status: c.status } }, c.status)),
    h("td", {}, h("span", { class: riskClass(c.risk_score) }, fmt.num(c.risk_score))),
    h("td", {}, fmt.num(c.sentiment_score)),
    h("td.said", {}, c.last_speaker ? `${c.last_speaker}: ` : "", c.last_text ?? ""),
    h("td", {}, fmt.time(c.updated_at)));
}

// The open alerts: the severity filter applied, the most severe and then the newest first.
function drawAlerts(board) {
  const { alerts, filters, alertList } = board;
  const open = [...alerts.values()]
    .filter((a) => !a.acknowledged && (filters.severity.value === "all" || a.severity === filters.severity.value))
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.created_at.localeCompare(a.created_at));
  fillOr(alertList, open.map((a) => alertItem(a, {
    where: [h("a", { href: `/calls/${encodeURIComponent(a.call_id)}` }, a.call_id), " · "],
    action: h("button", { type: "button", onclick: () => ack(board, a), "aria-label": `Acknowledge ${a.type} alert on ${a.call_id}` }, "Acknowledge"),
  })), h("li.empty", {}, "No open alerts."));
}

// The acknowledge button: the alert leaves the list, or the banner says why not.
async function ack(board, a) {
  try {
    await acknowledge(a, board.alerts);
    drawAlerts(board);
  } catch (e) {
    warn(board, `Could not acknowledge: ${e.message}`);
  }
}

// A failure the supervisor should see (loading the board, acknowledging) goes in the banner.
function warn({ banner }, text) {
  banner.hidden = false;
  banner.textContent = text;
}

// The cue for a new critical alert: the banner for 8 s, and a beep when sound is on.
function flash(board, a) {
  warn(board, `Critical alert on ${a.call_id}: ${a.message}`);
  board.banner.dataset.severity = "critical";
  if (board.filters.sound.checked) beep();
  setTimeout(() => (board.banner.hidden = true), 8000);
}

// The push keeps the board live: a call's latest event updates its row; alerts arrive and leave.
function takePush(board, m) {
  if (m.type === "realtime_event") {
    const c = board.calls.get(m.call_id) ?? { call_id: m.call_id };
    Object.assign(c, {
      status: m.status,
      provider: m.provider,
      risk_score: m.risk_score,
      sentiment_score: m.sentiment_score,
      updated_at: m.event?.occurred_at ?? new Date().toISOString(),
    });
    if (m.event?.text) Object.assign(c, { last_text: m.event.text, last_speaker: m.event.speaker });
    board.calls.set(m.call_id, c);
    drawCalls(board);
  } else if (m.type === "supervisor_alert" || m.type === "supervisor_alert_ack") {
    board.alerts.set(m.alert.id, m.alert);
    drawAlerts(board);
    if (m.type === "supervisor_alert" && m.alert.severity === "critical") flash(board, m.alert);
  }
}

// The first read of calls and open alerts; what the push brought meanwhile is newer and stays.
async function loadBoard(board) {
  try {
    const [c, a] = await Promise.all([api.get(CALLS), api.get("/api/realtime/alerts?open_only=true&limit=200")]);
    for (const x of c.calls) if (!board.calls.has(x.call_id)) board.calls.set(x.call_id, x);
    for (const x of a.alerts) if (!board.alerts.has(x.id)) board.alerts.set(x.id, x);
  } catch (e) {
    warn(board, `Could not load: ${e.message}`);
  }
  drawCalls(board);
  drawAlerts(board);
}

// Risk decays while a call is quiet, and a quiet call sends no push: the server computes risk as it
// stands at each read, so the board reads the call list again now and then.
async function refresh(board) {
  try {
    for (const x of (await api.get(CALLS)).calls) board.calls.set(x.call_id, Object.assign(board.calls.get(x.call_id) ?? {}, x));
    drawCalls(board);
  } catch {
    /* the next refresh tries again; the push keeps the board live meanwhile */
  }
}
