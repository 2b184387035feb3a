// Dashboard charts (Chart.js, only the pieces used) and the topic heatmap (a table, so it reads as data).
import { BarController, BarElement, CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import { h } from "../dom.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip);

/** A chart in a figure with a caption; the canvas has an accessible name and the numbers as fallback text. */
export function chart(title, type, labels, values, opts = {}) {
  const canvas = h("canvas", { role: "img", "aria-label": `${title}: ${labels.map((l, i) => `${l} ${values[i] ?? "–"}`).join(", ")}` });
  const fig = h("figure.card.chart", {}, h("figcaption", {}, title), h("div.chart-box", {}, canvas));
  const instance = new Chart(canvas, {
    type,
    data: { labels, datasets: [{ data: values, backgroundColor: "#3b6fd8", borderColor: "#3b6fd8", tension: 0.3 }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: type === "bar", ...(opts.y ?? {}) } },
    },
  });
  fig.chart = instance;
  return fig;
}

export function heatmap(data) {
  const days = data?.days ?? [];
  return h(
    "figure.card.heatmap",
    { tabindex: 0 },
    h("figcaption", {}, "Topics by day"),
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Topic"), days.map((d) => h("th", { scope: "col", title: d }, new Date(`${d}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" }))))),
      h(
        "tbody",
        {},
        (data?.rows ?? []).map((r) =>
          h("tr", {}, h("th", { scope: "row" }, r.topic), r.levels.map((l) => h("td", { dataset: { level: l }, title: `level ${l} of 4` }, String(l)))),
        ),
      ),
    ),
  );
}
