// Pieces more than one view draws the same way: a titled card, the frame of a calls table, an alert line
// and its acknowledgement.
import { api } from "../api.js";
import { fmt, h } from "../dom.js";

/** A card section named by its h2 (aria-labelledby points at the heading's `id`). */
export function card(id, title, ...children) {
  return h("section.card", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** A full-width card, for the recording and the transcript. */
export function wideCard(id, title, ...children) {
  return h("section.card.wide", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** A scrollable calls table: column headers (text or a node, such as a select-all box) over `body`. */
export function callTable(headers, body) {
  return h("div.table-wrap", {}, h("table.calls", {},
    h("thead", {}, h("tr", {}, headers.map((c) => h("th", { scope: "col" }, c)))),
    body));
}

/** One alert: severity badge, type and message, then `where` (e.g. a call link) before its time, then `action`. */
export function alertItem(a, { dataset = {}, where = [], action = null }) {
  return h("li.alert", { dataset: { alert: a.id, severity: a.severity, ...dataset } },
    h("span.badge", { dataset: { severity: a.severity } }, a.severity),
    h("div.alert-text", {}, h("strong", {}, a.type.replaceAll("_", " ")), " ", a.message, h("br"), ...where, fmt.time(a.created_at)),
    action);
}

/** Acknowledges `a` and keeps the server's answer in `alerts` (id → alert); the caller redraws. */
export async function acknowledge(a, alerts) {
  const { alert } = await api.post(`/api/realtime/alerts/${a.id}/ack`);
  alerts.set(alert.id, alert);
}
