// One route's page: its configuration and its own live charts.

import { call } from "../api.js";
import { el, message, replace } from "../dom.js";
import { rates } from "../metrics.js";
import { charts, poll } from "./overview.js";

export async function render(main, signal, params) {
  const method = params.get("method") ?? "";
  const path = params.get("path") ?? "";
  const problems = el("div");
  const config = el("pre", { class: "mono" });
  const own = charts();
  replace(main, el("h1", {}, `${method} ${path}`), problems, el("div", { class: "charts" }, own.nodes),
    el("h2", {}, "Configuration"), config);
  try {
    const { routes } = await call("GET", "/routes");
    const route = routes.find((r) => r.path === path && (r.method === method || r.method === "ANY"));
    replace(config, route ? JSON.stringify(route, null, 2) : "(the route is gone)");
  } catch (error) {
    replace(problems, message(error.message));
  }
  poll(signal, (now, seconds, last) => {
    const key = `${method} ${path}`;
    const totals = now.routes.get(key);
    if (totals) own.push(rates(last.routes.get(key), totals, seconds));
  }, problems);
}
