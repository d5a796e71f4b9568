// API keys, usage plans and authorizers: create a key (its secret shown once), enable,
// disable, rotate (a new secret, shown once) and delete keys, with each key's quota use;
// create, replace and delete plans and authorizers.

import { call } from "../api.js";
import { action, el, message, replace, table } from "../dom.js";

/** The box a new secret is shown in, once. */
function secretBox(answer) {
  return el("div", { class: "card" },
    el("p", {}, `Key ${answer.id}: copy the secret now, it is not shown again.`),
    el("div", { class: "secret", id: "new-secret" }, answer.key));
}

export async function render(main) {
  const out = el("div");
  const keys = el("div");
  const plans = el("div");
  const authorizers = el("div");
  const name = el("input", { name: "key-name", placeholder: "who the key is for", "aria-label": "key name", required: true });
  const plan = el("select", { name: "key-plan", "aria-label": "plan" });
  const form = el("form", {
    class: "row",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const answer = await call("POST", "/keys", { name: name.value, plan: plan.value || null });
        replace(out, secretBox(answer));
        name.value = "";
        await load();
      } catch (error) {
        replace(out, message(error.message));
      }
    },
  }, el("label", {}, "Name", name), el("label", {}, "Plan", plan), el("button", { type: "submit" }, "Create key"));
  // Authorizers are edited as their JSON (the manifest's fields; secrets are never shown back).
  const authorizerSettings = el("textarea", { name: "authorizer", "aria-label": "authorizer (JSON)" });
  authorizerSettings.value = JSON.stringify({ name: "", type: "jwt", issuer: "", jwks_url: "" }, null, 2);
  const authorizerForm = el("form", {
    class: "row",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const saved = await call("PUT", "/authorizers", JSON.parse(authorizerSettings.value));
        replace(out, message(`saved authorizer ${saved.name ?? ""}`, "ok"));
        await load();
      } catch (error) {
        replace(out, message(error instanceof SyntaxError ? `the authorizer is not JSON: ${error.message}` : error.message));
      }
    },
  }, el("label", {}, "Authorizer (JSON: name, type, module or issuer…)", authorizerSettings), el("button", { type: "submit" }, "Save authorizer"));
  replace(main, el("h1", {}, "Keys & authorizers"),
    el("section", { class: "card" }, el("h2", {}, "Create an API key"), form), out,
    el("h2", {}, "API keys"), keys, el("h2", {}, "Usage plans"), plans,
    el("section", { class: "card" }, el("h2", {}, "Create or replace a usage plan"), planForm(out, () => load())),
    el("h2", {}, "Authorizers"), authorizers,
    el("section", { class: "card" }, el("h2", {}, "Create or replace an authorizer"), authorizerForm));

  async function load() {
    try {
      const [keyList, planList, authorizerList] = await Promise.all([
        call("GET", "/keys"), call("GET", "/plans"), call("GET", "/authorizers"),
      ]);
      const planNames = Object.keys(planList.plans ?? {});
      replace(plan, el("option", { value: "" }, "no plan"), planNames.map((p) => el("option", {}, p)));
      replace(keys, table([
        ["Id", (k) => el("code", {}, k.id)],
        ["Name", (k) => k.name],
        ["Plan", (k) => k.plan ?? ""],
        ["Enabled", (k) => (k.enabled ? "yes" : "no")],
        ["Quota used", quotaUse],
        ["Created", (k) => k.created ?? ""],
        ["", (k) => keyActions(k, out, load)],
      ], keyList.keys, { empty: "no API keys yet" }));
      replace(plans, table([
        ["Plan", ([p]) => p],
        ["Throttle", ([, p]) => (p.throttle ? `rate ${p.throttle.rate}/s, burst ${p.throttle.burst}` : "")],
        ["Quota", ([, p]) => (p.quota ? `${p.quota.limit} per ${p.quota.period}` : "")],
        ["", ([name]) => action("Delete", out, async () => {
          await call("DELETE", `/plans/${encodeURIComponent(name)}`);
          await load();
          return `deleted plan ${name}`;
        }, { kind: "danger", confirmText: `Delete plan ${name}?` })],
      ], Object.entries(planList.plans ?? {}), { empty: "no usage plans" }));
      replace(authorizers, table([
        ["Name", (a) => a.name],
        ["Type", (a) => String(a.type ?? "")],
        ["Module or issuer", (a) => a.module ?? a.issuer ?? ""],
        ["Identity sources", (a) => (a.identity_sources ?? (a.header ? [a.header] : [])).join(", ")],
        ["Cache ttl s#", (a) => String(a.ttl_seconds ?? "")],
        ["Shadow", (a) => (a.shadow ? [`${a.shadow} (${a.shadow_percent ?? 100}%) `, action("Promote", out, async () => {
          await call("POST", `/authorizers/${encodeURIComponent(a.name)}/promote`);
          await load();
          return `authorizer ${a.name} now runs ${a.shadow}`;
        }, { kind: "plain", confirmText: `Make ${a.shadow} the live authorizer of ${a.name}?` })] : "")],
        ["", (a) => [
          el("button", { type: "button", class: "plain", onclick: () => {
            // A secret is never shown back: it must be given again to save.
            const { secret, ...shown } = a;
            authorizerSettings.value = JSON.stringify(shown, null, 2);
            if (secret !== undefined) replace(out, message("Give `secret` again: it is never shown back."));
            authorizerSettings.scrollIntoView();
          } }, "Edit"),
          " ",
          action("Delete", out, async () => {
            await call("DELETE", `/authorizers/${encodeURIComponent(a.name)}`);
            await load();
            return `deleted authorizer ${a.name}`;
          }, { kind: "danger", confirmText: `Delete authorizer ${a.name}?` }),
        ]],
      ], authorizerList.authorizers ?? [], { empty: "no authorizers" }));
    } catch (error) {
      replace(keys, message(error.message));
    }
  }
  await load();
}

/** A plan: a rate and burst per key, and a quota per period (either may be left empty). */
function planForm(out, reload) {
  const name = el("input", { name: "plan-name", placeholder: "gold", "aria-label": "plan name", required: true });
  const rate = el("input", { name: "plan-rate", type: "number", min: "0", step: "any", placeholder: "10", "aria-label": "rate per second" });
  const burst = el("input", { name: "plan-burst", type: "number", min: "1", step: "1", placeholder: "20", "aria-label": "burst" });
  const limit = el("input", { name: "plan-quota", type: "number", min: "1", step: "1", placeholder: "10000", "aria-label": "quota" });
  const period = el("select", { name: "plan-period", "aria-label": "quota period" }, ["day", "week", "month"].map((p) => el("option", {}, p)));
  return el("form", {
    class: "row",
    onsubmit: async (event) => {
      event.preventDefault();
      const plan = {};
      if (rate.value || burst.value) plan.throttle = { rate: Number(rate.value), burst: Number(burst.value) };
      if (limit.value) plan.quota = { limit: Number(limit.value), period: period.value };
      try {
        await call("PUT", `/plans/${encodeURIComponent(name.value)}`, plan);
        replace(out, message(`saved plan ${name.value}`, "ok"));
        await reload();
      } catch (error) {
        replace(out, message(error.message));
      }
    },
  },
  el("label", {}, "Plan", name), el("label", {}, "Rate /s", rate), el("label", {}, "Burst", burst),
  el("label", {}, "Quota", limit), el("label", {}, "per", period), el("button", { type: "submit" }, "Save plan"));
}

/** `12 of 1000 this day (resets 2026-11-29 00:00 UTC)`, for a key whose plan has a quota. */
function quotaUse(key) {
  if (key.quota === undefined) return "";
  if (key.quota === null) return el("span", { class: "muted" }, "unknown (the shared store does not answer)");
  const { used, limit, period, resets_at: resetsAt } = key.quota;
  const resets = new Date(resetsAt * 1000).toISOString().slice(0, 16).replace("T", " ");
  return `${used} of ${limit} this ${period} (resets ${resets} UTC)`;
}

function keyActions(key, out, reload) {
  const path = `/keys/${encodeURIComponent(key.id)}`;
  return [
    action(key.enabled ? "Disable" : "Enable", out, async () => {
      await call("PUT", path, { enabled: !key.enabled });
      await reload();
      return `${key.enabled ? "disabled" : "enabled"} key ${key.id}`;
    }, { kind: "plain" }),
    " ",
    action("Rotate", out, async () => {
      const answer = await call("POST", `${path}/rotate`);
      replace(out, secretBox(answer));
      await reload();
    }, { kind: "plain", confirmText: `Give key ${key.id} a new secret? The old one stops working.` }),
    " ",
    action("Delete", out, async () => {
      await call("DELETE", path);
      await reload();
      return `deleted key ${key.id}`;
    }, { kind: "danger", confirmText: `Delete key ${key.id}?` }),
  ];
}
