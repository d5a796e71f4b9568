// Test invoke: a request editor that runs `POST /invoke` — the gateway's real path without an
// HTTP client — and shows the response, the guest's stdout and stderr, and the timings.

import { call } from "../api.js";
import { el, figure, message, replace } from "../dom.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/** `Name: value` lines as an object; a line without a colon is refused. */
function headerLines(text) {
  const headers = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`\`${line}\` is not a header (Name: value)`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function render(main) {
  const method = el("select", { name: "method", "aria-label": "method" }, METHODS.map((m) => el("option", {}, m)));
  const path = el("input", { name: "path", placeholder: "/hello/ada?x=1", "aria-label": "path", required: true });
  const headers = el("textarea", { name: "headers", "aria-label": "headers", placeholder: "authorization: Bearer …" });
  const body = el("textarea", { name: "body", "aria-label": "body" });
  const result = el("div", { id: "invoke-result" });
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const request = { method: method.value, path: path.value, headers: headerLines(headers.value) };
        if (body.value) request.body = body.value;
        replace(result, show(await call("POST", "/invoke", request)));
      } catch (error) {
        replace(result, message(error.message));
      }
    },
  },
  el("div", { class: "row" }, el("label", {}, "Method", method), el("label", {}, "Path and query", path),
    el("button", { type: "submit" }, "Send")),
  el("div", { class: "row" }, el("label", {}, "Headers (Name: value per line)", headers), el("label", {}, "Body", body)));
  replace(main, el("h1", {}, "Test invoke"), el("section", { class: "card" }, form), result);
}

function show(answer) {
  const response = answer.response ?? {};
  const status = response.status ?? 0;
  const timing = answer.timing_ms ?? {};
  const headerText = Object.entries(response.headers ?? {}).map(([name, value]) => `${name}: ${value}`).join("\n");
  return el("section", { class: "card" },
    el("h2", {}, "Response ", el("span", { class: `status-${String(status)[0]}`, id: "invoke-status" }, String(status))),
    el("p", { class: "muted" },
      `request ${answer.request_id ?? ""} · route ${answer.route?.path ?? "(none)"} · version ${answer.version ?? "–"} · `,
      `authorize ${figure(timing.authorize, 2)} ms, instantiate ${figure(timing.instantiate, 2)} ms, `,
      `run ${figure(timing.run, 2)} ms, total ${figure(timing.total, 2)} ms`),
    el("pre", {}, headerText),
    el("pre", { id: "invoke-body" }, response.body ?? (response.body_base64 ? `(base64) ${response.body_base64}` : "")),
    el("h2", {}, "stdout"), el("pre", {}, answer.stdout || "(nothing)"),
    el("h2", {}, "stderr"), el("pre", {}, answer.stderr || "(nothing)"));
}
