// Call detail, for a batch call or a live one (the same id space the API has): audio with waveform and
// speed, the transcript as a timeline with speaker roles and click-to-seek, insights, the live alert
// panel with acknowledge, and exports.
import { api } from "../api.js";
import { fill, fillOr, fmt, h } from "../dom.js";
import { subscribe } from "../main.js";
import { acknowledge, alertItem, card, wideCard } from "./parts.js";
import { player } from "./player.js";

/** The API path of batch call `id` (its detail, export and audio hang below it). */
const callPath = (id) => `/api/calls/${encodeURIComponent(id)}`;
/** The API path of live call `id` (its snapshot and live audio hang below it). */
const livePath = (id) => `/api/realtime/calls/${encodeURIComponent(id)}`;

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
    fillOr(ul, sorted.map((a) => alertItem(a, {
      dataset: { acknowledged: a.acknowledged },
      action: a.acknowledged ? h("span.sub", {}, "Acknowledged") : h("button", { type: "button", onclick: async () => {
        await acknowledge(a, alerts);
        draw();
      } }, "Acknowledge"),
    })), h("li.empty", {}, "No alerts for this call."));
  };
  api.get(`/api/realtime/alerts?call_id=${encodeURIComponent(id)}&open_only=false&limit=100`).then((r) => {
    for (const a of r.alerts) alerts.set(a.id, a);
    draw();
  }).catch(() => draw());
  return {
    el: card("al-h", "Supervisor alerts", ul),
    take(m) {
      if ((m.type === "supervisor_alert" || m.type === "supervisor_alert_ack") && m.call_id === id) {
        alerts.set(m.alert.id, m.alert);
        draw();
      }
    },
  };
}

export function renderDetail(main, id) {
  const view = {
    id,
    header: h("div.detail-head"),
    body: h("div.detail"),
    audio: player(`Recording of ${id}`),
    alerts: alertPanel(id),
    stop: () => {}, // what leaving the view undoes: the push subscription and any timer
  };
  main.append(h("p", {}, h("a", { href: "/calls" }, "← All calls")), view.header, view.body);
  open(view);
  return () => {
    view.stop();
    view.audio.destroy();
  };
}

// The id is a batch call's or a live call's (one id space): the batch detail first, else the live snapshot.
async function open(view) {
  try {
    await showBatch(view, await api.get(`${callPath(view.id)}/detail`));
    view.stop = subscribe((m) => takeBatchPush(view, m));
  } catch (e) {
    if (e.status !== 404) return failed(view, e);
    try {
      await showLive(view, await api.get(`${livePath(view.id)}/snapshot`));
    } catch (e2) {
      failed(view, e2);
    }
  }
}

// Neither kind of call could be read: the header says why, in place of the call.
function failed({ header }, e) {
  fill(header, h("p.error", { role: "alert" }, `Could not load the call: ${e.message}`));
}

// A batch call's alerts follow the push, and its detail is read again once processing settles.
function takeBatchPush(view, m) {
  view.alerts.take(m);
  if (m.type === "call_update" && m.call_id === view.id && (m.status === "completed" || m.status === "failed")) {
    api.get(`${callPath(view.id)}/detail`).then((d) => showBatch(view, d));
  }
}

// A batch call: header, recording, transcript, insights and alerts; drawn again when processing settles.
async function showBatch(view, d) {
  const { body, audio, alerts } = view;
  batchHeader(view, d);
  const entries = d.transcript?.entries ?? [];
  const transcript = h("div", {},
    entries.length ? transcriptView(entries, d.analysis, (s) => audio.seek(s)) : h("p.sub", {}, "The transcript appears when processing completes."));
  if (d.transcript_truncated) wholeTranscript(view, d, transcript);
  fill(body,
    wideCard("pl-h", "Recording", audio.el),
    wideCard("tr-h", "Transcript", transcript),
    card("in-h", "Insights", insightsView(d.analysis)),
    alerts.el,
  );
  if (d.has_audio) {
    loadRecording(view, (e) => audio.unavailable(e.message));
  } else {
    audio.unavailable("This call was uploaded as a transcript; there is no audio.");
  }
}

// A long transcript comes cut short in the detail (a response carries at most 6 MB on AWS): its first lines
// at once, then the whole file from where the detail says.
function wholeTranscript({ audio }, d, into) {
  into.append(h("p.sub", {}, "Loading the rest of the transcript…"));
  api.stored(d.transcript_url)
    .then(async (b) => JSON.parse(await b.text()))
    .then((t) => fill(into, transcriptView(t.entries ?? [], d.analysis, (s) => audio.seek(s))))
    .catch((e) => into.append(h("p.error", { role: "alert" }, `The rest of the transcript could not be loaded: ${e.message}`)));
}

// A batch call's title, status and progress, any error, and the exports (enabled once completed).
function batchHeader({ id, header }, d) {
  const exports = [["JSON", "format=json&scope=insights"], ["Insights CSV", "format=csv&scope=insights"], ["Transcript CSV", "format=csv&scope=transcript"]];
  fill(header,
    h("h1", {}, d.filename || id),
    h("p", {}, h("span.badge", { dataset: { status: d.status } }, d.status), " ",
      h("progress", { max: 100, value: d.progress, "aria-label": `progress ${d.progress}%` }), ` ${d.stage}`,
      d.duration_seconds ? ` · ${fmt.seconds(d.duration_seconds)}` : "", ` · uploaded ${fmt.time(d.created_at)}`),
    d.error_message ? h("p.error", { role: "alert" }, d.error_message) : null,
    h("div.exports", {}, "Export: ", exports.map(([t, q]) =>
      h("button", { type: "button", disabled: d.status !== "completed", onclick: () => api.download(`${callPath(id)}/export?${q}`) }, t))),
  );
}

// The stored recording into the player, for a batch call and for a live call once it has ended.
function loadRecording({ id, audio }, onError) {
  api.stored(`${callPath(id)}/audio`).then((b) => audio.load(b)).catch(onError);
}

// A live call: its stats and transcript grow with the push, its audio with a 6 s refresh.
async function showLive(view, snap) {
  const { id, header, body, audio, alerts } = view;
  const live = liveTranscript();
  fill(header, h("h1", {}, id), live.stats);
  live.drawStats(snap);
  (snap.events ?? []).forEach((e) => live.addEvent(e));
  fill(body,
    wideCard("pl-h", "Live audio", audio.el),
    wideCard("tr-h", "Transcript", live.timeline),
    alerts.el,
  );
  const refresh = liveAudio(view);
  refresh();
  const timer = setInterval(refresh, 6000);
  const unsubscribe = subscribe((m) => {
    alerts.take(m);
    if (m.type === "realtime_event" && m.call_id === id) {
      live.drawStats(m);
      live.addEvent(m.event);
    }
  });
  view.stop = () => {
    clearInterval(timer);
    unsubscribe();
  };
}

// The live call's status line and its transcript timeline, each updated in place as events arrive.
function liveTranscript() {
  const timeline = h("ol.transcript", { "aria-label": "Live transcript" });
  const stats = h("p");
  const drawStats = (s) => fill(stats, h("span.badge", { dataset: { status: s.status } }, s.status),
    ` risk ${fmt.num(s.risk_score)} · sentiment ${fmt.num(s.sentiment_score)}`);
  const addEvent = (e) => {
    if (!e.text) return;
    timeline.append(h("li", { dataset: { speaker: e.speaker } }, h("span.time", {}, new Date(e.occurred_at).toLocaleTimeString()),
      h("span.speaker", {}, e.speaker || "–"), h("span.text", {}, e.text)));
  };
  return { timeline, stats, drawStats, addEvent };
}

// Returns the live audio refresh: a new chunk loads unless the listener is mid-play; after the call,
// the AudioHook recording, when there is one.
function liveAudio(view) {
  const { id, audio } = view;
  let lastChunk = null;
  return async () => {
    try {
      const meta = await api.get(`${livePath(id)}/audio/meta`);
      const chunk = meta.live_audio?.last_chunk_id ?? null;
      if (meta.live_audio?.available && chunk !== lastChunk && (audio.audio.paused || lastChunk === null)) {
        lastChunk = chunk;
        audio.load(await api.stored(`${livePath(id)}/audio`));
      } else if (!meta.live_audio?.available && lastChunk === null) {
        lastChunk = "recording";
        loadRecording(view, () => audio.unavailable("No audio for this call."));
      }
    } catch (e) {
      audio.unavailable(e.message);
    }
  };
}
