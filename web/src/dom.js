// A tiny element builder: text always goes in as text (never HTML), so data from calls cannot inject markup.

/** h("button.primary", {onclick}, "Ack") → <button class="primary">Ack</button> */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replaces `el`'s children; null, undefined and false are skipped (as in `h`). */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** `fill` with `children`, or with `empty` alone when there are none: a table's or a list's "nothing here" line. */
export function fillOr(el, children, empty) {
  fill(el, ...children);
  if (!children.length) el.append(empty);
  return el;
}

export const fmt = {
  num: (v, d = 2) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "–"),
  time: (iso) => (iso ? new Date(iso).toLocaleString() : "–"),
  clock: (s) => {
    const t = Math.max(0, Math.floor(s ?? 0));
    return `${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`;
  },
  seconds: (s) => (typeof s === "number" ? `${s.toFixed(1)} s` : "–"),
};
