// The analysts' dashboard: the seed's filters, metrics and charts, the call table with live status and
// progress, bulk actions and upload.
import { api } from "../api.js";
import { fill, fillOr, fmt, h } from "../dom.js";
import { subscribe } from "../main.js";
import { chart, heatmap } from "./charts.js";
import { callTable, card } from "./parts.js";

const FILTERS = ["q", "status", "date_from", "date_to", "topic", "role"];

function query(state) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== "" && v !== undefined && v !== null) p.set(k, v);
  return p.toString();
}

function progressBar(c) {
  return h("progress", { max: 100, value: c.progress ?? 0, "aria-label": `${c.status} ${c.progress ?? 0}%` });
}

export function renderDashboard(main) {
  const view = {
    state: stateFromUrl(),
    selected: new Set(), // ids of the checked rows, kept across pages and reloads
    metricsEl: h("div.metrics", { "aria-live": "polite" }),
    chartsEl: h("div.charts"),
    rowsEl: h("tbody"),
    pager: h("nav.pager", { "aria-label": "Pages" }),
    message: h("p.message", { role: "status" }),
  };
  view.load = () => load(view);
  layout(main, view);
  const unsubscribe = subscribe((m) => takePush(view, m));
  view.load();
  // A safety net under the push (a reconnecting socket misses updates): while a shown call is unsettled,
  // reload every 5 s, as the seed's dashboard polled.
  const poll = setInterval(() => {
    if (view.rowsEl.querySelector('tr[data-status="queued"], tr[data-status="processing"]')) view.load();
  }, 5000);
  return () => {
    clearInterval(poll);
    unsubscribe();
  };
}

// Filters and page from the address, so a filtered list survives a reload and can be shared.
function stateFromUrl() {
  const params = new URLSearchParams(location.search);
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""]));
  state.page = Number(params.get("page") ?? 1);
  state.page_size = Number(params.get("page_size") ?? 10);
  return state;
}

// The page's frame: numbers and charts on top, the upload card, then the call list with its controls.
function layout(main, view) {
  const selectAllBox = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select all", onchange: (e) => selectAll(view, e.target.checked) });
  main.append(
    h("h1", {}, "Calls"),
    view.metricsEl,
    view.chartsEl,
    card("up-h", "Upload a call", uploadForm(view.message, () => view.load())),
    card("list-h", "All calls",
      filterForm(view),
      bulkForm(view),
      view.message,
      callTable([selectAllBox, "File", "Topics", "Roles", "Status", "Progress", "Duration", "Uploaded"], view.rowsEl),
      view.pager),
  );
}

// The filter form; Apply puts the filters in the address and reloads from page 1.
function filterForm(view) {
  const { state } = view;
  const inputs = {
    q: h("input", { type: "search", id: "f-q", value: state.q, placeholder: "id, file, language…" }),
    status: h("select", { id: "f-status" }, ["", "queued", "processing", "completed", "failed"].map((s) => h("option", { value: s, selected: s === state.status }, s || "all"))),
    date_from: h("input", { type: "date", id: "f-from", value: state.date_from }),
    date_to: h("input", { type: "date", id: "f-to", value: state.date_to }),
    topic: h("input", { type: "text", id: "f-topic", value: state.topic }),
    role: h("select", { id: "f-role" }, ["", "Agent", "Customer", "Other"].map((s) => h("option", { value: s, selected: s === state.role }, s || "any"))),
  };
  const apply = () => {
    for (const k of FILTERS) state[k] = inputs[k].value;
    state.page = 1;
    history.replaceState(null, "", `/calls?${query(state)}`);
    view.load();
  };
  const label = (id, text, el) => h("label", { for: id }, text, el);
  return h(
    "form.filters",
    { onsubmit: (e) => (e.preventDefault(), apply()) },
    label("f-q", "Search ", inputs.q),
    label("f-status", "Status ", inputs.status),
    label("f-from", "From ", inputs.date_from),
    label("f-to", "To ", inputs.date_to),
    label("f-topic", "Topic ", inputs.topic),
    label("f-role", "Role ", inputs.role),
    h("button", { type: "submit" }, "Apply"),
  );
}

// The bulk form: one action (export, reprocess, delete) applied to the checked calls.
function bulkForm(view) {
  const action = h("select", { id: "bulk-action", "aria-label": "Bulk action" },
    [["export_csv", "Export CSV"], ["export_json", "Export JSON"], ["export_transcript_csv", "Export transcripts CSV"], ["reprocess", "Reprocess"], ["delete", "Delete"]].map(([v, t]) => h("option", { value: v }, t)));
  return h("form.bulk", { onsubmit: (e) => (e.preventDefault(), runBulk(view, action.value)) }, action, h("button", { type: "submit" }, "Apply to selected"));
}

// The select-all box checks or clears every shown row.
function selectAll({ rowsEl, selected }, on) {
  for (const box of rowsEl.querySelectorAll("input[type=checkbox]")) {
    box.checked = on;
    if (on) selected.add(box.value);
    else selected.delete(box.value);
  }
}

// Runs a bulk action: exports download, the others change calls and reload the list.
async function runBulk(view, action) {
  const { selected, message } = view;
  if (!selected.size) {
    message.textContent = "Select calls first.";
    return;
  }
  const body = { action, call_ids: [...selected] };
  if (action === "delete" && !confirm(`Delete ${selected.size} call(s) and everything stored for them?`)) return;
  try {
    if (action.startsWith("export")) {
      await api.download("/api/calls/bulk", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      message.textContent = "Export downloaded.";
    } else {
      const r = await api.post("/api/calls/bulk", body);
      message.textContent = `${r.action}: ${r.count} call(s).`;
      selected.clear();
      view.load();
    }
  } catch (e) {
    message.textContent = e.message;
  }
}

// One call's row: its select box, link, digest chips, status, progress, duration and upload time.
function callRow(c, selected) {
  const d = c.digest ?? {};
  const box = h("input", { type: "checkbox", value: c.id, checked: selected.has(c.id), "aria-label": `Select ${c.filename}`,
    onchange: (e) => (e.target.checked ? selected.add(c.id) : selected.delete(c.id)) });
  return h(
    "tr",
    { dataset: { id: c.id, status: c.status } },
    h("td", {}, box),
    h("td", {}, h("a", { href: `/calls/${encodeURIComponent(c.id)}` }, c.filename || c.id), h("div.sub", {}, c.id)),
    h("td", {}, (d.topics ?? []).slice(0, 3).map((t) => h("span.chip", {}, t))),
    h("td", {}, (d.roles ?? []).map((r) => h("span.chip", {}, r)), d.sla_breach ? h("span.chip.warn", {}, "SLA breach") : null),
    h("td", {}, h("span.badge", { dataset: { status: c.status } }, c.status), c.error_message ? h("div.sub.error", {}, c.error_message) : null),
    h("td", {}, progressBar(c), h("span.sub", {}, ` ${c.stage ?? ""}`)),
    h("td", {}, c.duration_seconds ? fmt.seconds(c.duration_seconds) : "–"),
    h("td", {}, fmt.time(c.created_at)),
  );
}

// The headline numbers: the list's counts and the filtered insights.
function drawStats(metricsEl, m, insights) {
  const stat = (label, value) => h("div.stat", {}, h("span.value", {}, value), h("span.label", {}, label));
  fill(metricsEl,
    stat("Total", m.total), stat("Completed", m.completed), stat("Processing", m.processing), stat("Failed", m.failed),
    stat("Avg duration", m.avg_duration ? `${m.avg_duration}s` : "0s"),
    stat("Resolution rate", insights.resolution_rate === null ? "–" : `${insights.resolution_rate}%`),
    stat("Talk ratio (agent)", fmt.num(insights.agent?.talk_ratio)),
    stat("Empathy", fmt.num(insights.agent?.empathy)),
    stat("SLA breaches", insights.sla_breaches ?? 0),
  );
}

// The charts, redrawn whole; the old Chart.js instances are destroyed first so they do not leak.
function drawCharts(chartsEl, daily, insights) {
  for (const fig of chartsEl.querySelectorAll("figure")) fig.chart?.destroy();
  fill(chartsEl,
    chart("Calls per day", "bar", daily.labels, daily.values),
    chart("Sentiment trend", "line", insights.sentiment.labels, insights.sentiment.values, { y: { min: -1, max: 1 } }),
    chart("Top topics", "bar", insights.topics.labels, insights.topics.values),
    heatmap(insights.topic_heatmap),
  );
}

// Previous and Next around "Page n of m"; each turns the page and reloads.
function drawPager(view, list) {
  const turn = (page) => () => ((view.state.page = page), view.load());
  fill(view.pager,
    h("button", { type: "button", disabled: list.page <= 1, onclick: turn(list.page - 1) }, "Previous"),
    h("span", {}, ` Page ${list.page} of ${list.total_pages} `),
    h("button", { type: "button", disabled: list.page >= list.total_pages, onclick: turn(list.page + 1) }, "Next"),
  );
}

// Reads the page of calls, the daily counts and the insights together, then redraws everything.
async function load(view) {
  const { state } = view;
  try {
    const q = query(state);
    const filters = query(Object.fromEntries(FILTERS.map((k) => [k, state[k]])));
    const [list, daily, insights] = await Promise.all([api.get(`/api/calls?${q}`), api.get("/api/metrics"), api.get(`/api/insights?${filters}`)]);
    fillOr(view.rowsEl, list.calls.map((c) => callRow(c, view.selected)), h("tr", {}, h("td", { colspan: 8 }, "No calls match.")));
    drawStats(view.metricsEl, list.metrics, insights);
    drawCharts(view.chartsEl, daily, insights);
    drawPager(view, list);
  } catch (e) {
    view.message.textContent = `Could not load calls: ${e.message}`;
  }
}

// Status and progress move with `call_update` pushes; a finished call reloads the numbers.
function takePush(view, m) {
  if (m.type !== "call_update") return;
  const tr = view.rowsEl.querySelector(`tr[data-id="${CSS.escape(m.call_id)}"]`);
  if (!tr || m.status === "completed" || m.status === "failed") return void view.load();
  tr.dataset.status = m.status;
  const badge = tr.querySelector(".badge");
  badge.textContent = m.status;
  badge.dataset.status = m.status;
  const bar = tr.querySelector("progress");
  bar.value = m.progress;
  bar.setAttribute("aria-label", `${m.status} ${m.progress}%`);
  bar.nextSibling.textContent = ` ${m.stage}`;
}

// The upload card's form: a recording or transcript with its options; success reloads the list.
function uploadForm(message, done) {
  const file = h("input", { type: "file", id: "up-file", name: "file", required: true, accept: ".wav,.mp3,.m4a,.aac,.ogg,.flac,.json,audio/*" });
  const transcript = h("input", { type: "file", id: "up-transcript", name: "transcript", accept: ".json,application/json" });
  const pack = h("select", { id: "up-pack", name: "prompt_pack" }, ["general", "sales", "support", "collections"].map((p) => h("option", { value: p }, p)));
  const language = h("input", { id: "up-language", name: "language_code", placeholder: "en-IN" });
  const glossary = h("input", { id: "up-glossary", name: "glossary_terms", placeholder: "terms, comma separated" });
  const progress = h("progress", { id: "up-progress", max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const form = h(
    "form.upload",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        if (!transcript.files.length) data.delete("transcript");
        const fields = Object.fromEntries(["prompt_pack", "language_code", "glossary_terms"].map((k) => [k, data.get(k) ?? ""]));
        const shown = (fraction) => {
          progress.hidden = false;
          progress.value = fraction;
          message.textContent = `Uploading ${file.files[0].name}: ${Math.round(fraction * 100)}%`;
        };
        try {
          // One file goes straight to storage where the API offers it; a recording with its transcript is
          // one form (two files), so it takes the API path and its size limit.
          const direct = transcript.files.length ? null : await api.uploadDirect(file.files[0], fields, shown);
          const call = direct ?? (await api.form("/api/calls", data));
          message.textContent = `Uploaded ${call.filename}: ${call.status}.`;
          form.reset();
          done();
        } catch (err) {
          message.textContent = `Upload failed: ${err.message}`;
        } finally {
          progress.hidden = true;
        }
      },
    },
    h("label", { for: "up-file" }, "Recording or transcript ", file),
    h("label", { for: "up-transcript" }, "Transcript (optional) ", transcript),
    h("label", { for: "up-pack" }, "Prompt pack ", pack),
    h("label", { for: "up-language" }, "Language ", language),
    h("label", { for: "up-glossary" }, "Glossary ", glossary),
    h("button.primary", { type: "submit" }, "Upload"),
    progress,
  );
  return form;
}
