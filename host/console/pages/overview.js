// Overview: the gateway's traffic, read from `GET /stats` every second — requests/s by
// status class, p50/p99 latency, refusals by kind, in flight and queued, instance pool use —
// and the busiest routes; a route's row opens its own page (`#/route?id=…`).

import { call } from "../api.js";
import { COLORS, LineChart } from "../chart.js";
import { el, figure, liveTable, message, replace } from "../dom.js";
import { rates, reading, requestRate } from "../metrics.js";

const CLASSES = ["2xx", "3xx", "4xx", "5xx"];
const KINDS = ["throttled", "quota", "unauthorized", "forbidden", "timeout", "pool_full"];
/** Rows of the route table (the busiest first); a filter finds the others. */
const ROWS = 20;

/** A chart in a card, with its legend. */
function chartCard(title, labels, unit) {
  const canvas = el("canvas", { "aria-label": title });
  const legend = el("div", { class: "legend" }, labels.map((label, i) =>
    el("span", {}, el("span", { class: `swatch swatch-${i % COLORS.length}` }), label)));
  const node = el("section", { class: "card chart" }, el("h2", {}, title), canvas, legend);
  return { node, chart: new LineChart(canvas, labels, unit) };
}

/** Polls `/stats` every second until `signal` aborts, calling `show(now, seconds, last)`. */
export function poll(signal, show, problems) {
  let last = null;
  const tick = async () => {
    try {
      const now = reading(await call("GET", "/stats"), performance.now());
      if (last) show(now, (now.time - last.time) / 1000, last);
      last = now;
      replace(problems);
    } catch (error) {
      replace(problems, message(`/stats: ${error.message}`));
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
  const shown = figureBoard([
    ["requests-per-second", "requests/s"],
    ["requests-total", "requests served"],
    ["refused-total", "refused by the gateway"],
    ["latency", "p50 / p99 ms"],
    ["load", "in flight / queued"],
    ["instances", "instances / pool"],
  ]);
  const totals = shown.node;
  const filter = el("input", { type: "search", placeholder: "filter routes", "aria-label": "filter routes" });
  const routes = routeTable();
  const more = el("p", { class: "muted" });
  const gateway = charts();
  replace(
    main,
    el("h1", {}, "Overview"),
    problems,
    el("section", { class: "card" }, totals),
    el("div", { class: "charts" }, gateway.nodes),
    el("h2", {}, "Routes"),
    el("div", { class: "row" }, filter),
    routes.node,
    more,
  );
  let served = 0;
  poll(signal, (now, seconds, last) => {
    const figures = rates(last.gateway, now.gateway, seconds, now.bounds);
    gateway.push({ ...figures, instances: now.instances });
    served = Object.values(now.gateway.statuses).reduce((a, b) => a + b, 0);
    const refused = Object.values(now.gateway.rejections).reduce((a, b) => a + b, 0);
    shown.set("requests-per-second", figure(figures.requests));
    shown.set("requests-total", String(served));
    shown.set("refused-total", String(refused));
    shown.set("latency", `${figure(figures.p50)} / ${figure(figures.p99)}`);
    shown.set("load", `${figures.inFlight} / ${figures.queued}`);
    shown.set("instances", `${now.instances} / ${now.pool}`);
    const hidden = busiest(routes, now, last, seconds, filter.value);
    replace(more, hidden > 0 ? `${hidden} more routes: filter to find them` : "");
  }, problems);
}

/** Named figures, each `[id, name]`, whose values `set(id, text)` changes in place. */
function figureBoard(named) {
  const values = new Map(named.map(([id]) => [id, el("div", { class: "value", id }, "–")]));
  return {
    node: el("div", { class: "figures" }, named.map(([id, name]) =>
      el("div", { class: "figure" }, values.get(id), el("div", { class: "name" }, name)))),
    set(id, text) {
      const value = values.get(id);
      if (value.textContent !== text) value.textContent = text;
    },
  };
}

/** The table of the busiest routes, kept and updated in place. */
function routeTable() {
  return liveTable(
    [
      ["Method", (r) => r.totals.method],
      ["Route", (r) => r.totals.template],
      ["req/s#", (r) => figure(r.figures.requests)],
      ...CLASSES.map((c) => [`${c}#`, (r) => figure(r.figures.statuses[c] ?? 0)]),
      ["p50 ms#", (r) => figure(r.figures.p50)],
      ["p99 ms#", (r) => figure(r.figures.p99)],
      ["refused/s#", (r) => figure(Object.values(r.figures.rejections).reduce((a, b) => a + b, 0))],
      ["in flight#", (r) => r.figures.inFlight],
      ["queued#", (r) => r.figures.queued],
    ],
    {
      empty: "no traffic yet",
      onRow: (r) => {
        if (r.totals.id) location.hash = `#/route?${new URLSearchParams({ id: r.totals.id })}`;
      },
    },
  );
}

/** Shows the busiest routes (only those get their full figures); answers how many are not shown. */
function busiest(table, now, last, seconds, filter) {
  const busy = [];
  for (const [key, totals] of now.routes) {
    if (filter && !key.includes(filter)) continue;
    busy.push({ key, totals, requests: requestRate(last.routes.get(key), totals, seconds) });
  }
  busy.sort((a, b) => b.requests - a.requests || a.totals.template.localeCompare(b.totals.template));
  const shown = busy.slice(0, ROWS).map((row) => ({
    key: row.key,
    totals: row.totals,
    figures: rates(last.routes.get(row.key), row.totals, seconds, now.bounds),
  }));
  table.update(shown, (row) => row.key);
  return busy.length - shown.length;
}
