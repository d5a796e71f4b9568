// The console's entry: signing in with the admin token (checked against the admin API, kept
// in sessionStorage), and the pages by the location's hash (`#/routes`, `#/modules`, …).
// Every page calls the ordinary admin API, as the CLI does.

import { call, token } from "./api.js";
import { el, message, replace } from "./dom.js";
import * as invoke from "./pages/invoke.js";
import * as keys from "./pages/keys.js";
import * as logs from "./pages/logs.js";
import * as modules from "./pages/modules.js";
import * as overview from "./pages/overview.js";
import * as route from "./pages/route.js";
import * as routes from "./pages/routes.js";

const PAGES = { overview, route, routes, modules, keys, invoke, logs };

const main = document.getElementById("main");
const nav = document.getElementById("nav");
/** Stops the shown page's timers and streams when another is shown. */
let leaving = new AbortController();

function signIn(problem) {
  nav.hidden = true;
  const input = el("input", { type: "password", name: "token", autocomplete: "off", "aria-label": "admin token", required: true });
  const form = el("form", {
    class: "card signin",
    onsubmit: async (event) => {
      event.preventDefault();
      token.set(input.value.trim());
      try {
        await call("GET", "/gateway");
        show();
      } catch (error) {
        token.clear();
        signIn(error.status === 401 ? "That is not an admin token of this gateway." : error.message);
      }
    },
  },
  el("h1", {}, "Sign in"),
  el("p", { class: "muted" }, "The admin token is in the gateway's data dir (admin-token), or given with --admin-token. It is kept in this tab only."),
  problem ? message(problem) : null,
  el("div", { class: "row" }, el("label", {}, "Admin token", input), el("button", { type: "submit" }, "Sign in")));
  replace(main, form);
  input.focus();
}

function show() {
  if (!token.get()) {
    signIn();
    return;
  }
  nav.hidden = false;
  leaving.abort();
  leaving = new AbortController();
  const [name, query] = location.hash.replace(/^#\/?/, "").split("?");
  const page = PAGES[name] ?? overview;
  for (const link of nav.querySelectorAll("a")) {
    link.classList.toggle("current", link.getAttribute("href") === `#/${name || "overview"}`);
  }
  Promise.resolve(page.render(main, leaving.signal, new URLSearchParams(query ?? ""))).catch((error) => {
    replace(main, message(error.message));
  });
}

window.addEventListener("hashchange", show);
window.addEventListener("wasmgate-signed-out", () => {
  token.clear();
  leaving.abort();
  signIn("The admin API refused the token: sign in again.");
});
document.getElementById("sign-out").addEventListener("click", () => {
  token.clear();
  leaving.abort();
  signIn();
});
show();
