// `/metrics` (Prometheus's text format) read into what the overview charts: per route and
// gateway-wide, requests by status class, rejections by kind, latency buckets, in flight and
// queued, and the instance pool. Counters are totals; `rates` turns two readings into
// per-second figures.

/** The families the console reads; the others are skipped without parsing their labels. */
const WANTED = [
  "wasmgate_requests_total",
  "wasmgate_rejections_total",
  "wasmgate_request_duration_seconds_bucket",
  "wasmgate_in_flight",
  "wasmgate_queued",
  "wasmgate_instances",
  "wasmgate_instance_pool",
];

/** Parses `name{a="x",b="y"} value` lines of the wanted families. */
export function parse(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (line === "" || line[0] === "#") continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    const name = line.slice(0, brace >= 0 ? brace : line.indexOf(" "));
    if (!WANTED.includes(name)) continue;
    const labels = brace >= 0 ? parseLabels(line.slice(brace + 1, line.lastIndexOf("}"))) : {};
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return samples;
}

function parseLabels(text) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) break;
    const key = text.slice(i, eq).replace(/^,/, "").trim();
    let value = "";
    let j = eq + 2; // past `="`
    while (j < text.length && text[j] !== '"') {
      if (text[j] === "\\") {
        j += 1;
        value += text[j] === "n" ? "\n" : text[j];
      } else {
        value += text[j];
      }
      j += 1;
    }
    labels[key] = value;
    i = j + 2; // past `",`
  }
  return labels;
}

/** One reading: totals per route (`METHOD template`) and for the whole gateway. */
export function reading(samples, time) {
  const routes = new Map();
  const route = (labels) => {
    const key = `${labels.method} ${labels.route}`;
    if (!routes.has(key)) routes.set(key, blank(labels.method, labels.route));
    return routes.get(key);
  };
  const gateway = blank("", "");
  let instances = 0;
  let pool = 0;
  for (const { name, labels, value } of samples) {
    switch (name) {
      case "wasmgate_requests_total":
        for (const totals of [route(labels), gateway]) add(totals.statuses, labels.status, value);
        break;
      case "wasmgate_rejections_total":
        for (const totals of [route(labels), gateway]) add(totals.rejections, labels.kind, value);
        break;
      case "wasmgate_request_duration_seconds_bucket":
        for (const totals of [route(labels), gateway]) add(totals.buckets, labels.le, value);
        break;
      case "wasmgate_in_flight":
        route(labels).inFlight += value;
        gateway.inFlight += value;
        break;
      case "wasmgate_queued":
        route(labels).queued += value;
        gateway.queued += value;
        break;
      case "wasmgate_instances":
        instances = value;
        break;
      case "wasmgate_instance_pool":
        pool = value;
        break;
    }
  }
  return { time, routes, gateway, instances, pool };
}

function blank(method, template) {
  return { method, template, statuses: {}, rejections: {}, buckets: {}, inFlight: 0, queued: 0 };
}

function add(map, key, value) {
  map[key] = (map[key] ?? 0) + value;
}

/** Per-second figures between two readings of one route (or of the gateway). */
export function rates(before, after, seconds) {
  const delta = (map, key) => Math.max(0, (after[map][key] ?? 0) - (before?.[map]?.[key] ?? 0));
  const statuses = {};
  let requests = 0;
  for (const key of Object.keys(after.statuses)) {
    statuses[key] = delta("statuses", key) / seconds;
    requests += statuses[key];
  }
  const rejections = {};
  for (const key of Object.keys(after.rejections)) rejections[key] = delta("rejections", key) / seconds;
  const buckets = Object.keys(after.buckets)
    .map((le) => [le === "+Inf" ? Infinity : Number(le), delta("buckets", le)])
    .sort((a, b) => a[0] - b[0]);
  return {
    requests,
    statuses,
    rejections,
    p50: quantile(buckets, 0.5),
    p99: quantile(buckets, 0.99),
    inFlight: after.inFlight,
    queued: after.queued,
  };
}

/** The `q` quantile in milliseconds from cumulative buckets (`[le, count]`), interpolated
 *  linearly within its bucket as Prometheus's `histogram_quantile` does; `null` without data. */
export function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower * 1000;
      const share = count === below ? 0 : (rank - below) / (count - below);
      return (lower + (le - lower) * share) * 1000;
    }
    lower = le;
    below = count;
  }
  return lower * 1000;
}
