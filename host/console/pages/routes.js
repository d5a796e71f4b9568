// Routes: every route with its target, limits and access settings; create or replace one
// (the admin API's `PUT /routes`, so its validation messages show as they are), and delete.

import { call } from "../api.js";
import { action, el, message, replace, table } from "../dom.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];

/** `module@alias`, `proxy → URL` or `mock 200`. */
function target(route) {
  if (route.module) return route.module;
  if (route.proxy) return `proxy → ${route.proxy.url ?? ""}`;
  if (route.mock) return `mock ${route.mock.status ?? 200}`;
  return "";
}

function limits(route) {
  const parts = [];
  if (route.throttle) parts.push(`rate ${route.throttle.rate}/s, burst ${route.throttle.burst}`);
  if (route.concurrency) parts.push(`concurrency ${route.concurrency}`);
  if (route.timeout_ms) parts.push(`timeout ${route.timeout_ms} ms`);
  return parts.join("; ");
}

function access(route) {
  const parts = [];
  if (route.authorizer) parts.push(`authorizer ${route.authorizer}`);
  if (route.api_key_required) parts.push("API key");
  if (route.cors) parts.push("CORS");
  if (route.cache) parts.push("cache");
  return parts.join(", ");
}

/** The route as the form edits it: its settings without the id and where it came from. */
function editable(route) {
  const { id: _id, source: _source, method: _method, path: _path, ...settings } = route;
  return settings;
}

export async function render(main) {
  const out = el("div");
  const list = el("div");
  const method = el("select", { name: "method", "aria-label": "method" }, METHODS.map((m) => el("option", {}, m)));
  const path = el("input", { name: "path", placeholder: "/items/{id}", "aria-label": "path", required: true });
  const settings = el("textarea", { name: "settings", "aria-label": "settings (JSON)" });
  settings.value = JSON.stringify({ module: "" }, null, 2);
  const form = el(
    "form",
    {
      class: "row",
      onsubmit: async (event) => {
        event.preventDefault();
        let body;
        try {
          body = { ...JSON.parse(settings.value || "{}"), method: method.value, path: path.value };
        } catch (error) {
          replace(out, message(`the settings are not JSON: ${error.message}`));
          return;
        }
        try {
          const saved = await call("PUT", "/routes", body);
          replace(out, message(`saved route ${saved.method} ${saved.path} (id ${saved.id})`, "ok"));
          await load();
        } catch (error) {
          replace(out, message(error.message));
        }
      },
    },
    el("label", {}, "Method", method),
    el("label", {}, "Path", path),
    el("label", {}, "Settings (JSON: module, proxy or mock; throttle, authorizer, cors…)", settings),
    el("button", { type: "submit" }, "Save route"),
  );
  replace(main, el("h1", {}, "Routes"), el("section", { class: "card" }, el("h2", {}, "Create or replace"), form), out, list);

  async function load() {
    try {
      const { routes } = await call("GET", "/routes");
      replace(list, table(
        [
          ["Method", (r) => r.method],
          ["Path", (r) => el("code", {}, r.path)],
          ["Target", target],
          ["Limits", limits],
          ["Access", access],
          ["From", (r) => r.source ?? ""],
          ["", (r) => [
            el("button", { type: "button", class: "plain", onclick: () => {
              method.value = r.method;
              path.value = r.path;
              settings.value = JSON.stringify(editable(r), null, 2);
              window.scrollTo(0, 0);
            } }, "Edit"),
            " ",
            action("Delete", out, async () => {
              await call("DELETE", `/routes/${encodeURIComponent(r.id)}`);
              await load();
              return `deleted route ${r.method} ${r.path}`;
            }, { kind: "danger", confirmText: `Delete route ${r.method} ${r.path}?` }),
          ]],
        ],
        routes,
        { empty: "no routes yet" },
      ));
    } catch (error) {
      replace(list, message(error.message));
    }
  }
  await load();
}
