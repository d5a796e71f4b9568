// Overview: the gateway's traffic, read from `/metrics` every second — requests/s by status
// class, p50/p99 latency, rejections by kind, in flight and queued, instance pool use — and
// the busiest routes; a route's row opens its own page (`#/route?method=…&path=…`).

import { text } from "../api.js";
import { COLORS, LineChart } from "../chart.js";
import { el, figure, message, replace, table } from "../dom.js";
import { rates, reading } from "../metrics.js";

const CLASSES = ["2xx", "3xx", "4xx", "5xx"];
const KINDS = ["throttled", "quota", "unauthorized", "forbidden", "timeout", "pool_full"];
/** Rows of the route table (the busiest first); a filter finds the others. */
const ROWS = 50;

/** A chart in a card, with its legend. */
function chartCard(title, labels, unit) {
  const canvas = el("canvas", { "aria-label": title });
  const legend = el("div", { class: "legend" }, labels.map((label, i) =>
    el("span", {}, el("span", { class: `swatch swatch-${i % COLORS.length}` }), label)));
  const node = el("section", { class: "card chart" }, el("h2", {}, title), canvas, legend);
  return { node, chart: new LineChart(canvas, labels, unit) };
}

/** Polls `/metrics` every second until `signal` aborts, calling `show(now, seconds, last)`. */
export function poll(signal, show, problems) {
  let last = null;
  const tick = async () => {
    try {
      const now = reading(await text("/metrics?set=console"), performance.now());
      if (last) show(now, (now.time - last.time) / 1000, last);
      last = now;
      replace(problems);
    } catch (error) {
      replace(problems, message(`/metrics: ${error.message}`));
    }
  };
  // A second reading soon after the first, so that the page shows figures at once.
  const soon = setTimeout(tick, 250);
  tick();
  const timer = setInterval(tick, 1000);
  signal.addEventListener("abort", () => {
    clearTimeout(soon);
    clearInterval(timer);
  });
}

/** Charts for one set of figures (the gateway's, with its instances, or a route's). */
export function charts() {
  const requests = chartCard("Requests per second, by status", CLASSES, "");
  const latency = chartCard("Latency (ms)", ["p50", "p99"], "");
  const rejected = chartCard("Refused per second, by kind", [...KINDS, "other"], "");
  const load = chartCard("In flight, queued and instances", ["in flight", "queued", "instances"], "");
  return {
    nodes: [requests.node, latency.node, rejected.node, load.node],
    push(figures) {
      requests.chart.push(CLASSES.map((c) => figures.statuses[c] ?? 0));
      latency.chart.push([figures.p50, figures.p99]);
      const other = Object.entries(figures.rejections)
        .filter(([kind]) => !KINDS.includes(kind))
        .reduce((sum, [, value]) => sum + value, 0);
      rejected.chart.push([...KINDS.map((k) => figures.rejections[k] ?? 0), other]);
      load.chart.push([figures.inFlight, figures.queued, figures.instances ?? null]);
    },
  };
}

export function render(main, signal) {
  const problems = el("div");
  const totals = el("div", { class: "figures" });
  const filter = el("input", { type: "search", placeholder: "filter routes", "aria-label": "filter routes" });
  const routes = el("div");
  const gateway = charts();
  replace(
    main,
    el("h1", {}, "Overview"),
    problems,
    el("section", { class: "card" }, totals),
    el("div", { class: "charts" }, gateway.nodes),
    el("h2", {}, "Routes"),
    el("div", { class: "row" }, filter),
    routes,
  );
  let served = 0;
  poll(signal, (now, seconds, last) => {
    const figures = rates(last.gateway, now.gateway, seconds);
    gateway.push({ ...figures, instances: now.instances });
    served = Object.values(now.gateway.statuses).reduce((a, b) => a + b, 0);
    const refused = Object.values(now.gateway.rejections).reduce((a, b) => a + b, 0);
    replace(
      totals,
      stat("requests/s", figure(figures.requests), "requests-per-second"),
      stat("requests served", String(served), "requests-total"),
      stat("refused by the gateway", String(refused), "refused-total"),
      stat("p50 / p99 ms", `${figure(figures.p50)} / ${figure(figures.p99)}`),
      stat("in flight / queued", `${figures.inFlight} / ${figures.queued}`),
      stat("instances / pool", `${now.instances} / ${now.pool}`),
    );
    replace(routes, routeTable(now, last, seconds, filter.value));
  }, problems);
}

function stat(name, value, id) {
  return el("div", { class: "figure" }, el("div", { class: "value", id }, value), el("div", { class: "name" }, name));
}

function routeTable(now, last, seconds, filter) {
  const rows = [];
  for (const [key, totals] of now.routes) {
    if (filter && !key.includes(filter)) continue;
    rows.push({ totals, figures: rates(last.routes.get(key), totals, seconds) });
  }
  rows.sort((a, b) => b.figures.requests - a.figures.requests || a.totals.template.localeCompare(b.totals.template));
  const shown = rows.slice(0, ROWS);
  return el(
    "div",
    {},
    table(
      [
        ["Method", (r) => r.totals.method],
        ["Route", (r) => r.totals.template],
        ["req/s#", (r) => figure(r.figures.requests)],
        ...CLASSES.map((c) => [`${c}#`, (r) => figure(r.figures.statuses[c] ?? 0)]),
        ["p50 ms#", (r) => figure(r.figures.p50)],
        ["p99 ms#", (r) => figure(r.figures.p99)],
        ["refused/s#", (r) => figure(Object.values(r.figures.rejections).reduce((a, b) => a + b, 0))],
        ["in flight#", (r) => String(r.figures.inFlight)],
        ["queued#", (r) => String(r.figures.queued)],
      ],
      shown,
      {
        empty: "no traffic yet",
        onRow: (r) => {
          const query = new URLSearchParams({ method: r.totals.method, path: r.totals.template });
          location.hash = `#/route?${query}`;
        },
      },
    ),
    rows.length > ROWS ? el("p", { class: "muted" }, `${rows.length - ROWS} more routes: filter to find them`) : null,
  );
}
