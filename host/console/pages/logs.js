// Logs: the live access log and guest output (`GET /logs/stream`), filtered by route and
// status on the server and by request id here; the newest 500 lines are kept, 100 shown.

import { follow } from "../api.js";
import { el, message, replace, table } from "../dom.js";

const KEEP = 500;
/** The rows shown (the newest); the others are kept for the request-id filter. */
const SHOWN = 100;
/** The table is redrawn at most this often (a busy gateway sends thousands of lines a second). */
const REDRAW_MS = 500;

export function render(main, signal) {
  const route = el("input", { placeholder: "/items/{id}", "aria-label": "route template" });
  const status = el("input", { placeholder: "5xx or 404", "aria-label": "status" });
  const requestId = el("input", { placeholder: "request id", "aria-label": "request id" });
  const state = el("div");
  const lines = el("div");
  const events = [];
  let stream = null;

  let drawing = false;
  /** Redraws once per `REDRAW_MS` however many events arrive. */
  const redraw = () => {
    if (drawing) return;
    drawing = true;
    setTimeout(() => {
      drawing = false;
      draw();
    }, REDRAW_MS);
  };
  const draw = () => {
    const wanted = requestId.value.trim();
    const shown = (wanted ? events.filter((e) => e.request_id === wanted) : events).slice(0, SHOWN);
    replace(lines, table([
      ["Time", (e) => e.time ?? ""],
      ["Request", (e) => el("code", {}, e.request_id ?? "")],
      ["Route", (e) => e.route ?? ""],
      ["What", (e) => e.type === "access"
        ? el("span", { class: `status-${String(e.status)[0]}` }, `${e.method} ${e.path} → ${e.status}${e.rejection ? ` (${e.rejection})` : ""} ${e.ms} ms${e.version ? ` ${e.version}` : ""}`)
        : el("span", { class: "mono" }, `${e.stream}: ${e.line}`)],
    ], shown, { empty: "waiting for requests…" }));
  };

  const connect = () => {
    stream?.abort();
    stream = new AbortController();
    signal.addEventListener("abort", () => stream.abort());
    const query = new URLSearchParams();
    if (route.value.trim()) query.set("route", route.value.trim());
    if (status.value.trim()) query.set("status", status.value.trim());
    events.length = 0;
    draw();
    replace(state, el("p", { class: "muted" }, "following the log…"));
    follow(`/logs/stream?${query}`, (event) => {
      events.unshift(event);
      if (events.length > KEEP) events.pop();
      redraw();
    }, stream.signal).catch((error) => {
      if (error.name !== "AbortError") replace(state, message(error.message));
    });
  };

  requestId.addEventListener("input", draw);
  replace(main, el("h1", {}, "Logs"),
    el("form", { class: "row", onsubmit: (event) => { event.preventDefault(); connect(); } },
      el("label", {}, "Route", route), el("label", {}, "Status", status), el("button", { type: "submit" }, "Follow"),
      el("label", {}, "Request id", requestId)),
    state, lines);
  connect();
}
