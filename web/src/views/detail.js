// Call detail, for a batch call or a live one (the same id space the API has): audio with waveform and
// speed, the transcript as a timeline with speaker roles and click-to-seek, insights, the live alert
// panel with acknowledge, and exports.
import { api } from "../api.js";
import { fill, fmt, h } from "../dom.js";
import { push } from "../main.js";
import { player } from "./player.js";

function roleOf(analysis, speaker) {
  const role = analysis?.speaker_roles?.[speaker];
  const name = analysis?.speaker_names?.[speaker];
  return [role ?? speaker, name ? `(${name})` : ""].join(" ").trim();
}

/** Below this the engine was unsure of a line's words (whisper: mean token probability); the line says so. */
const LOW_CONFIDENCE = 0.6;

function transcriptView(entries, analysis, seek) {
  return h(
    "ol.transcript",
    { "aria-label": "Transcript" },
    entries.map((e) =>
      h(
        "li",
        { dataset: { speaker: (analysis?.speaker_roles?.[e.speaker_id] ?? e.speaker_id ?? "").toLowerCase() } },
        h("button.seek", { type: "button", onclick: () => seek(e.start_time_seconds), "aria-label": `Play from ${fmt.clock(e.start_time_seconds)}` },
          fmt.clock(e.start_time_seconds)),
        h("span.speaker", {}, roleOf(analysis, e.speaker_id)),
        h("span.text", e.confidence == null ? {} : { title: `Transcription confidence ${Math.round(e.confidence * 100)}%` },
          e.transcript, e.confidence != null && e.confidence < LOW_CONFIDENCE ? h("span.uncertain", {}, "low confidence") : null),
      ),
    ),
  );
}

function list(title, items, render = (x) => x) {
  return h("section.insight", {}, h("h3", {}, title), items?.length ? h("ul", {}, items.map((x) => h("li", {}, render(x)))) : h("p.sub", {}, "None."));
}

function insightsView(a) {
  if (!a) return h("p.sub", {}, "Insights appear when processing completes.");
  const s = a.sentiment ?? {};
  return h(
    "div.insights",
    {},
    h("section.insight", {}, h("h3", {}, "Summary"), h("p", {}, a.summary?.short || "–"), list("Highlights", a.summary?.bullets)),
    h("section.insight", {}, h("h3", {}, "Topics"), h("p", {}, (a.topics ?? []).map((t) => h("span.chip", {}, String(t))))),
    list("Action items", a.action_items, (x) => (typeof x === "string" ? x : x.description ?? x.text ?? JSON.stringify(x))),
    list("Questions and answers", a.qa_pairs, (q) => h("span", {}, h("strong", {}, q.question), h("br"), q.answer)),
    h("section.insight", {}, h("h3", {}, "Call"),
      h("dl", {},
        h("dt", {}, "Sentiment"), h("dd", {}, `${s.overall ?? "–"} (customer ${fmt.num(s.customer)}, agent ${fmt.num(s.agent)})`),
        h("dt", {}, "Resolution"), h("dd", {}, a.resolution?.status ?? "–"),
        h("dt", {}, "Tags"), h("dd", {}, (a.auto_tags ?? []).map((t) => h("span.chip", {}, t)), a.auto_tags?.length ? null : "–"),
        h("dt", {}, "SLA"), h("dd", {}, a.sla ? (a.sla.breach ? `Breached (over ${a.sla.threshold_minutes} min)` : "Within") : "–"),
        h("dt", {}, "Empathy"), h("dd", {}, fmt.num(a.empathy?.score)),
        h("dt", {}, "Talk share"), h("dd", {}, Object.entries(a.talk?.talk_share ?? {}).map(([k, v]) => `${roleOf(a, k)} ${Math.round(v * 100)}%`).join(", ") || "–"),
      )),
  );
}

/** Alerts of `id` with acknowledge, kept current by the push. */
function alertPanel(id) {
  const ul = h("ul.alerts", { "aria-live": "polite" });
  const alerts = new Map();
  const draw = () => {
    const sorted = [...alerts.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 40);
    fill(ul, ...sorted.map((a) =>
      h("li.alert", { dataset: { alert: a.id, severity: a.severity, acknowledged: a.acknowledged } },
        h("span.badge", { dataset: { severity: a.severity } }, a.severity),
        h("div.alert-text", {}, h("strong", {}, a.type.replaceAll("_", " ")), " ", a.message, h("br"), fmt.time(a.created_at)),
        a.acknowledged ? h("span.sub", {}, "Acknowledged") : h("button", { type: "button", onclick: async () => {
          const r = await api.post(`/api/realtime/alerts/${a.id}/ack`);
          alerts.set(r.alert.id, r.alert);
          draw();
        } }, "Acknowledge"))));
    if (!sorted.length) ul.append(h("li.empty", {}, "No alerts for this call."));
  };
  api.get(`/api/realtime/alerts?call_id=${encodeURIComponent(id)}&open_only=false&limit=100`).then((r) => {
    for (const a of r.alerts) alerts.set(a.id, a);
    draw();
  }).catch(() => draw());
  return {
    el: h("section.card", { "aria-labelledby": "al-h" }, h("h2", { id: "al-h" }, "Supervisor alerts"), ul),
    take(m) {
      if ((m.type === "supervisor_alert" || m.type === "supervisor_alert_ack") && m.call_id === id) {
        alerts.set(m.alert.id, m.alert);
        draw();
      }
    },
  };
}

export function renderDetail(main, id) {
  const header = h("div.detail-head");
  const body = h("div.detail");
  const audio = player(`Recording of ${id}`);
  const alerts = alertPanel(id);
  main.append(h("p", {}, h("a", { href: "/calls" }, "← All calls")), header, body);
  let stop = () => {};

  async function showBatch(d) {
    const exports = [["JSON", "format=json&scope=insights"], ["Insights CSV", "format=csv&scope=insights"], ["Transcript CSV", "format=csv&scope=transcript"]];
    fill(header, 
      h("h1", {}, d.filename || id),
      h("p", {}, h("span.badge", { dataset: { status: d.status } }, d.status), " ",
        h("progress", { max: 100, value: d.progress, "aria-label": `progress ${d.progress}%` }), ` ${d.stage}`,
        d.duration_seconds ? ` · ${fmt.seconds(d.duration_seconds)}` : "", ` · uploaded ${fmt.time(d.created_at)}`),
      d.error_message ? h("p.error", { role: "alert" }, d.error_message) : null,
      h("div.exports", {}, "Export: ", exports.map(([t, q]) =>
        h("button", { type: "button", disabled: d.status !== "completed", onclick: () => api.download(`/api/calls/${encodeURIComponent(id)}/export?${q}`) }, t))),
    );
    const entries = d.transcript?.entries ?? [];
    fill(body, 
      h("section.card.wide", { "aria-labelledby": "pl-h" }, h("h2", { id: "pl-h" }, "Recording"), audio.el),
      h("section.card.wide", { "aria-labelledby": "tr-h" }, h("h2", { id: "tr-h" }, "Transcript"),
        entries.length ? transcriptView(entries, d.analysis, (s) => audio.seek(s)) : h("p.sub", {}, "The transcript appears when processing completes.")),
      h("section.card", { "aria-labelledby": "in-h" }, h("h2", { id: "in-h" }, "Insights"), insightsView(d.analysis)),
      alerts.el,
    );
    if (d.has_audio) {
      api.blob(`/api/calls/${encodeURIComponent(id)}/audio`).then((b) => audio.load(b)).catch((e) => audio.unavailable(e.message));
    } else {
      audio.unavailable("This call was uploaded as a transcript; there is no audio.");
    }
  }

  async function showLive(snap) {
    const events = snap.events ?? [];
    const timeline = h("ol.transcript", { "aria-label": "Live transcript" });
    const stats = h("p");
    const drawStats = (s) => fill(stats, h("span.badge", { dataset: { status: s.status } }, s.status),
      ` risk ${fmt.num(s.risk_score)} · sentiment ${fmt.num(s.sentiment_score)}`);
    const addEvent = (e) => {
      if (!e.text) return;
      timeline.append(h("li", { dataset: { speaker: e.speaker } }, h("span.time", {}, new Date(e.occurred_at).toLocaleTimeString()),
        h("span.speaker", {}, e.speaker || "–"), h("span.text", {}, e.text)));
    };
    fill(header, h("h1", {}, id), stats);
    drawStats(snap);
    events.forEach(addEvent);
    fill(body, 
      h("section.card.wide", { "aria-labelledby": "pl-h" }, h("h2", { id: "pl-h" }, "Live audio"), audio.el),
      h("section.card.wide", { "aria-labelledby": "tr-h" }, h("h2", { id: "tr-h" }, "Transcript"), timeline),
      alerts.el,
    );
    let lastChunk = null;
    const refresh = async () => {
      try {
        const meta = await api.get(`/api/realtime/calls/${encodeURIComponent(id)}/audio/meta`);
        const chunk = meta.live_audio?.last_chunk_id ?? null;
        if (meta.live_audio?.available && chunk !== lastChunk && (audio.audio.paused || lastChunk === null)) {
          lastChunk = chunk;
          audio.load(await api.blob(`/api/realtime/calls/${encodeURIComponent(id)}/audio`));
        } else if (!meta.live_audio?.available && lastChunk === null) {
          // After the call: the AudioHook recording, when there is one.
          lastChunk = "recording";
          api.blob(`/api/calls/${encodeURIComponent(id)}/audio`).then((b) => audio.load(b)).catch(() => audio.unavailable("No audio for this call."));
        }
      } catch (e) {
        audio.unavailable(e.message);
      }
    };
    refresh();
    const timer = setInterval(refresh, 6000);
    const onPush = (ev) => {
      const m = ev.detail;
      alerts.take(m);
      if (m.type === "realtime_event" && m.call_id === id) {
        drawStats(m);
        addEvent(m.event);
      }
    };
    push.addEventListener("message", onPush);
    stop = () => {
      clearInterval(timer);
      push.removeEventListener("message", onPush);
    };
  }

  (async () => {
    try {
      const d = await api.get(`/api/calls/${encodeURIComponent(id)}/detail`);
      await showBatch(d);
      const onPush = (ev) => {
        const m = ev.detail;
        alerts.take(m);
        if (m.type === "call_update" && m.call_id === id && (m.status === "completed" || m.status === "failed")) {
          api.get(`/api/calls/${encodeURIComponent(id)}/detail`).then(showBatch);
        }
      };
      push.addEventListener("message", onPush);
      stop = () => push.removeEventListener("message", onPush);
    } catch (e) {
      if (e.status !== 404) {
        fill(header, h("p.error", { role: "alert" }, `Could not load the call: ${e.message}`));
        return;
      }
      try {
        await showLive(await api.get(`/api/realtime/calls/${encodeURIComponent(id)}/snapshot`));
      } catch (e2) {
        fill(header, h("p.error", { role: "alert" }, `Could not load the call: ${e2.message}`));
      }
    }
  })();
  return () => {
    stop();
    audio.destroy();
  };
}
