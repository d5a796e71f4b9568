// `/metrics?set=console` (Prometheus's text format) read into what the overview charts: per
// route and gateway-wide, requests by status class, rejections by kind, latency buckets, in
// flight and queued, and the instance pool. Counters are totals; `rates` turns two readings
// into per-second figures.

/** What each wanted family adds to a route's (and the gateway's) totals. */
const FAMILIES = new Map([
  ["wasmgate_requests_total", (totals, line, value) => add(totals.statuses, label(line, "status"), value)],
  ["wasmgate_rejections_total", (totals, line, value) => add(totals.rejections, label(line, "kind"), value)],
  ["wasmgate_request_duration_seconds_bucket", (totals, line, value) => add(totals.buckets, label(line, "le"), value)],
  ["wasmgate_in_flight", (totals, line, value) => { totals.inFlight += value; }],
  ["wasmgate_queued", (totals, line, value) => { totals.queued += value; }],
]);

/** The value of label `name` in `line` (`name="value"`), unescaped. */
export function label(line, name) {
  const key = `${name}="`;
  let at = line.indexOf(key);
  // `le="…"` must not be found inside another label's name.
  while (at > 0 && line[at - 1] !== "{" && line[at - 1] !== ",") at = line.indexOf(key, at + 1);
  if (at < 0) return "";
  const start = at + key.length;
  let end = line.indexOf('"', start);
  while (end > 0 && line[end - 1] === "\\") end = line.indexOf('"', end + 1);
  const value = line.slice(start, end < 0 ? undefined : end);
  return value.includes("\\") ? value.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c)) : value;
}

/**
 * Reads the text of `/metrics` (Prometheus's format) into totals per route (`METHOD
 * template`) and for the whole gateway. One pass over the lines with `indexOf`, no regular
 * expressions or per-line objects: a gateway with 1,000 busy routes sends ~2 MB a second.
 */
export function reading(text, time) {
  const routes = new Map();
  const gateway = blank("", "");
  let instances = 0;
  let pool = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (text.charCodeAt(start) !== 35 /* # */) {
      const line = text.slice(start, end);
      const brace = line.indexOf("{");
      const space = line.lastIndexOf(" ");
      const name = line.slice(0, brace >= 0 ? brace : space);
      const value = Number(line.slice(space + 1));
      const family = FAMILIES.get(name);
      if (family && brace >= 0) {
        const method = label(line, "method");
        const template = label(line, "route");
        const key = `${method} ${template}`;
        let totals = routes.get(key);
        if (!totals) routes.set(key, (totals = blank(method, template)));
        family(totals, line, value);
        family(gateway, line, value);
      } else if (name === "wasmgate_instances") {
        instances = value;
      } else if (name === "wasmgate_instance_pool") {
        pool = value;
      }
    }
    start = end + 1;
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
