// The analysts' dashboard: the seed's filters, metrics and charts, the call table with live status and
// progress, bulk actions and upload.
import { api } from "../api.js";
import { fill, fmt, h } from "../dom.js";
import { push } from "../main.js";
import { chart, heatmap } from "./charts.js";

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
  const params = new URLSearchParams(location.search);
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""]));
  state.page = Number(params.get("page") ?? 1);
  state.page_size = Number(params.get("page_size") ?? 10);
  const selected = new Set();

  const metricsEl = h("div.metrics", { "aria-live": "polite" });
  const chartsEl = h("div.charts");
  const rowsEl = h("tbody");
  const pager = h("nav.pager", { "aria-label": "Pages" });
  const message = h("p.message", { role: "status" });
  const inputs = {
    q: h("input", { type: "search", id: "f-q", value: state.q, placeholder: "id, file, language…" }),
    status: h("select", { id: "f-status" }, ["", "queued", "processing", "completed", "failed"].map((s) => h("option", { value: s, selected: s === state.status }, s || "all"))),
    date_from: h("input", { type: "date", id: "f-from", value: state.date_from }),
    date_to: h("input", { type: "date", id: "f-to", value: state.date_to }),
    topic: h("input", { type: "text", id: "f-topic", value: state.topic }),
    role: h("select", { id: "f-role" }, ["", "Agent", "Customer", "Other"].map((s) => h("option", { value: s, selected: s === state.role }, s || "any"))),
  };
  const label = (id, text, el) => h("label", { for: id }, text, el);
  const filterForm = h(
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

  const action = h("select", { id: "bulk-action", "aria-label": "Bulk action" },
    [["export_csv", "Export CSV"], ["export_json", "Export JSON"], ["export_transcript_csv", "Export transcripts CSV"], ["reprocess", "Reprocess"], ["delete", "Delete"]].map(([v, t]) => h("option", { value: v }, t)));
  const bulk = h("form.bulk", { onsubmit: (e) => (e.preventDefault(), runBulk()) }, action, h("button", { type: "submit" }, "Apply to selected"));

  const upload = uploadForm(message, () => load());
  main.append(
    h("h1", {}, "Calls"),
    metricsEl,
    chartsEl,
    h("section.card", { "aria-labelledby": "up-h" }, h("h2", { id: "up-h" }, "Upload a call"), upload),
    h(
      "section.card",
      { "aria-labelledby": "list-h" },
      h("h2", { id: "list-h" }, "All calls"),
      filterForm,
      bulk,
      message,
      h("div.table-wrap", {}, h("table.calls", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("input", { type: "checkbox", id: "select-all", "aria-label": "Select all", onchange: (e) => selectAll(e.target.checked) })),
          ["File", "Topics", "Roles", "Status", "Progress", "Duration", "Uploaded"].map((c) => h("th", { scope: "col" }, c)))),
        rowsEl)),
      pager,
    ),
  );

  function apply() {
    for (const k of FILTERS) state[k] = inputs[k].value;
    state.page = 1;
    history.replaceState(null, "", `/calls?${query(state)}`);
    load();
  }

  function selectAll(on) {
    for (const box of rowsEl.querySelectorAll("input[type=checkbox]")) {
      box.checked = on;
      if (on) selected.add(box.value);
      else selected.delete(box.value);
    }
  }

  async function runBulk() {
    if (!selected.size) {
      message.textContent = "Select calls first.";
      return;
    }
    const body = { action: action.value, call_ids: [...selected] };
    if (action.value === "delete" && !confirm(`Delete ${selected.size} call(s) and everything stored for them?`)) return;
    try {
      if (action.value.startsWith("export")) {
        await api.download("/api/calls/bulk", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        message.textContent = "Export downloaded.";
      } else {
        const r = await api.post("/api/calls/bulk", body);
        message.textContent = `${r.action}: ${r.count} call(s).`;
        selected.clear();
        load();
      }
    } catch (e) {
      message.textContent = e.message;
    }
  }

  function row(c) {
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

  function drawMetrics(m, daily, insights) {
    const stat = (label, value) => h("div.stat", {}, h("span.value", {}, value), h("span.label", {}, label));
    fill(metricsEl, 
      stat("Total", m.total), stat("Completed", m.completed), stat("Processing", m.processing), stat("Failed", m.failed),
      stat("Avg duration", m.avg_duration ? `${m.avg_duration}s` : "0s"),
      stat("Resolution rate", insights.resolution_rate === null ? "–" : `${insights.resolution_rate}%`),
      stat("Talk ratio (agent)", fmt.num(insights.agent?.talk_ratio)),
      stat("Empathy", fmt.num(insights.agent?.empathy)),
      stat("SLA breaches", insights.sla_breaches ?? 0),
    );
    for (const fig of chartsEl.querySelectorAll("figure")) fig.chart?.destroy();
    fill(chartsEl, 
      chart("Calls per day", "bar", daily.labels, daily.values),
      chart("Sentiment trend", "line", insights.sentiment.labels, insights.sentiment.values, { y: { min: -1, max: 1 } }),
      chart("Top topics", "bar", insights.topics.labels, insights.topics.values),
      heatmap(insights.topic_heatmap),
    );
  }

  async function load() {
    try {
      const q = query(state);
      const filters = query(Object.fromEntries(FILTERS.map((k) => [k, state[k]])));
      const [list, daily, insights] = await Promise.all([api.get(`/api/calls?${q}`), api.get("/api/metrics"), api.get(`/api/insights?${filters}`)]);
      fill(rowsEl, ...list.calls.map(row));
      if (!list.calls.length) rowsEl.append(h("tr", {}, h("td", { colspan: 8 }, "No calls match.")));
      drawMetrics(list.metrics, daily, insights);
      fill(pager, 
        h("button", { type: "button", disabled: list.page <= 1, onclick: () => ((state.page = list.page - 1), load()) }, "Previous"),
        h("span", {}, ` Page ${list.page} of ${list.total_pages} `),
        h("button", { type: "button", disabled: list.page >= list.total_pages, onclick: () => ((state.page = list.page + 1), load()) }, "Next"),
      );
    } catch (e) {
      message.textContent = `Could not load calls: ${e.message}`;
    }
  }

  // Status and progress move with `call_update` pushes; a finished call reloads the numbers.
  function onPush(e) {
    const m = e.detail;
    if (m.type !== "call_update") return;
    const tr = rowsEl.querySelector(`tr[data-id="${CSS.escape(m.call_id)}"]`);
    if (!tr || m.status === "completed" || m.status === "failed") return void load();
    tr.dataset.status = m.status;
    const badge = tr.querySelector(".badge");
    badge.textContent = m.status;
    badge.dataset.status = m.status;
    const bar = tr.querySelector("progress");
    bar.value = m.progress;
    bar.setAttribute("aria-label", `${m.status} ${m.progress}%`);
    bar.nextSibling.textContent = ` ${m.stage}`;
  }
  push.addEventListener("message", onPush);
  load();
  // A safety net under the push (a reconnecting socket misses updates): while a shown call is unsettled,
  // reload every 5 s, as the seed's dashboard polled.
  const poll = setInterval(() => {
    if (rowsEl.querySelector('tr[data-status="queued"], tr[data-status="processing"]')) load();
  }, 5000);
  return () => {
    clearInterval(poll);
    push.removeEventListener("message", onPush);
  };
}

function uploadForm(message, done) {
  const file = h("input", { type: "file", id: "up-file", name: "file", required: true, accept: ".wav,.mp3,.m4a,.aac,.ogg,.flac,.json,audio/*" });
  const transcript = h("input", { type: "file", id: "up-transcript", name: "transcript", accept: ".json,application/json" });
  const pack = h("select", { id: "up-pack", name: "prompt_pack" }, ["general", "sales", "support", "collections"].map((p) => h("option", { value: p }, p)));
  const language = h("input", { id: "up-language", name: "language_code", placeholder: "en-IN" });
  const glossary = h("input", { id: "up-glossary", name: "glossary_terms", placeholder: "terms, comma separated" });
  const form = h(
    "form.upload",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        if (!transcript.files.length) data.delete("transcript");
        try {
          const call = await api.form("/api/calls", data);
          message.textContent = `Uploaded ${call.filename}: ${call.status}.`;
          form.reset();
          done();
        } catch (err) {
          message.textContent = `Upload failed: ${err.message}`;
        }
      },
    },
    h("label", { for: "up-file" }, "Recording or transcript ", file),
    h("label", { for: "up-transcript" }, "Transcript (optional) ", transcript),
    h("label", { for: "up-pack" }, "Prompt pack ", pack),
    h("label", { for: "up-language" }, "Language ", language),
    h("label", { for: "up-glossary" }, "Glossary ", glossary),
    h("button.primary", { type: "submit" }, "Upload"),
  );
  return form;
}
