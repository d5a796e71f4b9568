// `GET /stats` — every route's counts so far — read into what the overview charts: per
// route and gateway-wide, requests by status class, refusals by kind, request durations per
// latency bucket, in flight and queued, and the instance pool. Counts are totals since the
// start; `rates` turns two readings into per-second figures.

/** One reading: totals per route (`METHOD template`) and for the whole gateway. */
export function reading(stats, time) {
  const buckets = stats.latency_buckets.length + 1;
  const routes = new Map();
  const gateway = blank({ method: "", route: "" }, buckets);
  for (const route of [...stats.routes, stats.unmatched]) {
    const key = `${route.method} ${route.route}`;
    let totals = routes.get(key);
    if (!totals) routes.set(key, (totals = blank(route, buckets)));
    merge(totals, route);
    merge(gateway, route);
  }
  return {
    time,
    routes,
    gateway,
    bounds: stats.latency_buckets,
    instances: stats.instances,
    pool: stats.instance_pool,
  };
}

function blank(route, buckets) {
  return {
    id: route.id,
    method: route.method,
    template: route.route,
    statuses: {},
    rejections: {},
    durations: new Array(buckets).fill(0),
    inFlight: 0,
    queued: 0,
  };
}

function merge(totals, route) {
  for (const [status, n] of Object.entries(route.statuses)) totals.statuses[status] = (totals.statuses[status] ?? 0) + n;
  for (const [kind, n] of Object.entries(route.rejections)) totals.rejections[kind] = (totals.rejections[kind] ?? 0) + n;
  route.durations.forEach((n, i) => { totals.durations[i] += n; });
  totals.inFlight += route.in_flight ?? 0;
  totals.queued += route.queued ?? 0;
}

/** Requests per second between two readings of one route (or of the gateway). */
export function requestRate(before, after, seconds) {
  let requests = 0;
  for (const [status, n] of Object.entries(after.statuses)) requests += n - (before?.statuses[status] ?? 0);
  return Math.max(0, requests) / seconds;
}

/** Per-second figures between two readings of one route (or of the gateway). */
export function rates(before, after, seconds, bounds) {
  const statuses = {};
  let requests = 0;
  for (const [status, n] of Object.entries(after.statuses)) {
    statuses[status] = Math.max(0, n - (before?.statuses[status] ?? 0)) / seconds;
    requests += statuses[status];
  }
  const rejections = {};
  for (const [kind, n] of Object.entries(after.rejections)) {
    rejections[kind] = Math.max(0, n - (before?.rejections[kind] ?? 0)) / seconds;
  }
  const durations = after.durations.map((n, i) => Math.max(0, n - (before?.durations[i] ?? 0)));
  return {
    requests,
    statuses,
    rejections,
    p50: quantile(durations, bounds, 0.5),
    p99: quantile(durations, bounds, 0.99),
    inFlight: after.inFlight,
    queued: after.queued,
  };
}

/**
 * The `q` quantile in milliseconds of durations counted per bucket (`counts[i]` at most
 * `bounds[i]` seconds, the last past them), interpolated linearly within its bucket as
 * Prometheus's `histogram_quantile` does; `null` without data.
 */
export function quantile(counts, bounds, q) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const lower = i === 0 ? 0 : bounds[i - 1];
    if (below + counts[i] >= rank) {
      if (i >= bounds.length) return lower * 1000;
      const share = counts[i] === 0 ? 0 : (rank - below) / counts[i];
      return (lower + (bounds[i] - lower) * share) * 1000;
    }
    below += counts[i];
  }
  return bounds[bounds.length - 1] * 1000;
}
