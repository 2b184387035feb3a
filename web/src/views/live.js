// The live board: realtime calls updating from the push, risk and sentiment per call, open alerts with
// acknowledge, filters, and a sound and visual cue when a new critical alert arrives.
import { api } from "../api.js";
import { fill, fmt, h } from "../dom.js";
import { push } from "../main.js";

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
  const calls = new Map(); // call_id → summary
  const alerts = new Map(); // alert id → alert
  const status = h("select", { id: "f-status" }, ["all", "active", "ended"].map((s) => h("option", { value: s }, s)));
  const severity = h("select", { id: "f-severity" }, ["all", "critical", "high", "medium"].map((s) => h("option", { value: s }, s)));
  const sound = h("input", { type: "checkbox", id: "f-sound", checked: true });
  const callBody = h("tbody");
  const alertList = h("ul.alerts", { "aria-live": "polite", "aria-label": "Open alerts" });
  const banner = h("div.banner", { role: "alert", hidden: true });

  main.append(
    h("h1", {}, "Live board"),
    banner,
    h(
      "div.filters",
      {},
      h("label", {}, "Status ", status),
      h("label", {}, "Severity ", severity),
      h("label.check", {}, sound, " Sound on critical alerts"),
    ),
    h(
      "div.board",
      {},
      h(
        "section.card",
        { "aria-labelledby": "calls-h" },
        h("h2", { id: "calls-h" }, "Calls"),
        h(
          "div.table-wrap",
          {},
          h(
            "table.calls",
            {},
            h("thead", {}, h("tr", {}, ["Call", "Status", "Risk", "Sentiment", "Last said", "Updated"].map((c) => h("th", { scope: "col" }, c)))),
            callBody,
          ),
        ),
      ),
      h("section.card", { "aria-labelledby": "alerts-h" }, h("h2", { id: "alerts-h" }, "Open alerts"), alertList),
    ),
  );

  function drawCalls() {
    const rows = [...calls.values()]
      .filter((c) => status.value === "all" || c.status === status.value)
      .sort((a, b) => (b.updated_at ?? "").localeCompare(a.updated_at ?? ""));
    fill(callBody, 
      ...rows.map((c) =>
        h(
          "tr",
          { dataset: { call: c.call_id } },
          h("td", {}, h("a", { href: `/calls/${encodeURIComponent(c.call_id)}` }, c.call_id)),
          h("td", {}, h("span.badge", { dataset: { status: c.status } }, c.status)),
          h("td", {}, h("span", { class: riskClass(c.risk_score) }, fmt.num(c.risk_score))),
          h("td", {}, fmt.num(c.sentiment_score)),
          h("td.said", {}, c.last_speaker ? `${c.last_speaker}: ` : "", c.last_text ?? ""),
          h("td", {}, fmt.time(c.updated_at)),
        ),
      ),
    );
    if (!rows.length) callBody.append(h("tr", {}, h("td", { colspan: 6 }, "No calls yet.")));
  }

  function drawAlerts() {
    const open = [...alerts.values()]
      .filter((a) => !a.acknowledged && (severity.value === "all" || a.severity === severity.value))
      .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.created_at.localeCompare(a.created_at));
    fill(alertList, 
      ...open.map((a) =>
        h(
          "li.alert",
          { dataset: { alert: a.id, severity: a.severity } },
          h("span.badge", { dataset: { severity: a.severity } }, a.severity),
          h("div.alert-text", {}, h("strong", {}, a.type.replaceAll("_", " ")), " ", a.message, h("br"),
            h("a", { href: `/calls/${encodeURIComponent(a.call_id)}` }, a.call_id), " · ", fmt.time(a.created_at)),
          h("button", { type: "button", onclick: () => ack(a) , "aria-label": `Acknowledge ${a.type} alert on ${a.call_id}` }, "Acknowledge"),
        ),
      ),
    );
    if (!open.length) alertList.append(h("li.empty", {}, "No open alerts."));
  }

  async function ack(a) {
    try {
      const { alert } = await api.post(`/api/realtime/alerts/${a.id}/ack`);
      alerts.set(alert.id, alert);
      drawAlerts();
    } catch (e) {
      banner.hidden = false;
      banner.textContent = `Could not acknowledge: ${e.message}`;
    }
  }

  function flash(a) {
    banner.hidden = false;
    banner.dataset.severity = "critical";
    banner.textContent = `Critical alert on ${a.call_id}: ${a.message}`;
    if (sound.checked) beep();
    setTimeout(() => (banner.hidden = true), 8000);
  }

  function onPush(e) {
    const m = e.detail;
    if (m.type === "realtime_event") {
      const c = calls.get(m.call_id) ?? { call_id: m.call_id };
      Object.assign(c, {
        status: m.status,
        provider: m.provider,
        risk_score: m.risk_score,
        sentiment_score: m.sentiment_score,
        updated_at: m.event?.occurred_at ?? new Date().toISOString(),
      });
      if (m.event?.text) Object.assign(c, { last_text: m.event.text, last_speaker: m.event.speaker });
      calls.set(m.call_id, c);
      drawCalls();
    } else if (m.type === "supervisor_alert") {
      alerts.set(m.alert.id, m.alert);
      drawAlerts();
      if (m.alert.severity === "critical") flash(m.alert);
    } else if (m.type === "supervisor_alert_ack") {
      alerts.set(m.alert.id, m.alert);
      drawAlerts();
    }
  }

  status.addEventListener("change", drawCalls);
  severity.addEventListener("change", drawAlerts);
  push.addEventListener("message", onPush);

  (async () => {
    try {
      const [c, a] = await Promise.all([api.get(CALLS), api.get("/api/realtime/alerts?open_only=true&limit=200")]);
      for (const x of c.calls) if (!calls.has(x.call_id)) calls.set(x.call_id, x);
      for (const x of a.alerts) if (!alerts.has(x.id)) alerts.set(x.id, x);
    } catch (e) {
      banner.hidden = false;
      banner.textContent = `Could not load: ${e.message}`;
    }
    drawCalls();
    drawAlerts();
  })();

  // Risk decays while a call is quiet, and a quiet call sends no push: the server computes risk as it
  // stands at each read, so the board reads the call list again now and then.
  async function refresh() {
    try {
      for (const x of (await api.get(CALLS)).calls) calls.set(x.call_id, Object.assign(calls.get(x.call_id) ?? {}, x));
      drawCalls();
    } catch {
      /* the next refresh tries again; the push keeps the board live meanwhile */
    }
  }
  const timer = setInterval(refresh, REFRESH_MS);
  return () => {
    clearInterval(timer);
    push.removeEventListener("message", onPush);
  };
}
