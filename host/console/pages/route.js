// One route's page (`#/route?id=…`): its configuration and its own live charts.

import { call } from "../api.js";
import { el, message, replace } from "../dom.js";
import { rates } from "../metrics.js";
import { charts, poll } from "./overview.js";

export async function render(main, signal, params) {
  const id = params.get("id") ?? "";
  const heading = el("h1", {}, "Route");
  const problems = el("div");
  const config = el("pre", { class: "mono" });
  const own = charts();
  replace(main, heading, problems, el("div", { class: "charts" }, own.nodes), el("h2", {}, "Configuration"), config);
  try {
    const route = await call("GET", `/routes/${encodeURIComponent(id)}`);
    replace(heading, `${route.method} ${route.path}`);
    replace(config, JSON.stringify(route, null, 2));
  } catch (error) {
    replace(problems, message(error.message));
  }
  poll(signal, (now, seconds, last) => {
    const key = [...now.routes.keys()].find((k) => now.routes.get(k).id === id);
    if (key) own.push(rates(last.routes.get(key), now.routes.get(key), seconds, now.bounds));
  }, problems);
}
