// Modules: each module's versions (size, sha256, created) and aliases; an alias's canary is a
// slider (percent of requests to the canary version); upload a new version by dropping a
// `.wasm` file (a progress bar while it goes, then what the gateway made of it); delete a
// version nothing uses.

import { call, upload } from "../api.js";
import { action, bytes, el, message, replace, table } from "../dom.js";

export async function render(main) {
  const out = el("div");
  const list = el("div");
  replace(main, el("h1", {}, "Modules"), uploader(out, () => load()), out, list);

  async function load() {
    try {
      const { modules } = await call("GET", "/modules");
      replace(list, modules.length === 0 ? el("p", { class: "muted" }, "no modules yet") : modules.map((m) => moduleCard(m, out, load)));
    } catch (error) {
      replace(list, message(error.message));
    }
  }
  await load();
}

function uploader(out, reload) {
  const name = el("input", { name: "module-name", placeholder: "module name", "aria-label": "module name" });
  const file = el("input", { type: "file", name: "module-file", accept: ".wasm", "aria-label": ".wasm file" });
  const progress = el("progress", { max: 1, value: 0, hidden: true });
  const drop = el("div", { class: "drop" }, "Drop a .wasm file here, or choose one: ", file);
  const send = async (chosen) => {
    if (!chosen) return;
    const named = name.value.trim() || chosen.name.replace(/\.wasm$/, "");
    progress.hidden = false;
    progress.value = 0;
    replace(out, message(`uploading ${chosen.name} as ${named}…`, "ok"));
    try {
      const answer = await upload(`/modules/${encodeURIComponent(named)}`, chosen, (share) => {
        progress.value = share;
        if (share >= 1) replace(out, message(`compiling ${named}…`, "ok"));
      });
      const said = answer.created
        ? `${named}@${answer.version}: new version, compiled`
        : `${named}@${answer.version}: already deployed (the same bytes)`;
      replace(out, message(said, "ok"));
      await reload();
    } catch (error) {
      replace(out, message(error.message));
    } finally {
      progress.hidden = true;
      file.value = "";
    }
  };
  file.addEventListener("change", () => send(file.files[0]));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    send(event.dataTransfer.files[0]);
  });
  return el("section", { class: "card" }, el("h2", {}, "Upload a version"), el("div", { class: "row" }, el("label", {}, "Module", name)), drop, progress);
}

/** A version's imports and exports, folded (versions stored before they were recorded have none). */
function interfaceOf(version) {
  if (!version.imports) return el("span", { class: "muted" }, "not recorded");
  const list = (names) => el("ul", { class: "names" }, names.map((name) => el("li", { class: "mono" }, name)));
  return el("details", {},
    el("summary", {}, `${version.imports.length} imports, ${version.exports.length} exports`),
    el("strong", {}, "imports"), list(version.imports),
    el("strong", {}, "exports"), list(version.exports));
}

function moduleCard(module, out, reload) {
  const base = `/modules/${encodeURIComponent(module.name)}`;
  const used = new Set();
  for (const alias of Object.values(module.aliases ?? {})) {
    used.add(alias.version);
    if (alias.canary) used.add(alias.canary.version);
  }
  const versions = table(
    [
      ["Version#", (v) => String(v.version)],
      ["Size#", (v) => bytes(v.size)],
      ["sha256", (v) => el("code", { title: v.sha256 }, (v.sha256 ?? "").slice(0, 16))],
      ["Created", (v) => v.created ?? ""],
      ["Executor", (v) => v.executor ?? "component"],
      ["Imports and exports", interfaceOf],
      ["", (v) => used.has(v.version) ? el("span", { class: "muted" }, "in use") :
        action("Delete", out, async () => {
          await call("DELETE", `${base}/versions/${v.version}`);
          await reload();
          return `deleted ${module.name}@${v.version}`;
        }, { kind: "danger", confirmText: `Delete ${module.name}@${v.version}?` })],
    ],
    module.versions,
  );
  const aliases = Object.entries(module.aliases ?? {}).map(([alias, pointer]) => aliasRow(base, module, alias, pointer, out, reload));
  return el(
    "section",
    { class: "card module", "data-module": module.name },
    el("h2", {}, module.name, el("span", { class: "muted" }, `  latest: ${module.latest ?? "–"}`)),
    versions,
    el("h2", {}, "Aliases"),
    aliases.length ? aliases : el("p", { class: "muted" }, "no aliases"),
    newAlias(base, module, out, reload),
  );
}

/**
 * Points an alias (`PUT path`); when that would give it new capabilities (409), asks the
 * operator, naming them, and approves them only on their word.
 */
async function moveAlias(path, body) {
  try {
    return await call("PUT", path, body);
  } catch (error) {
    if (error.status !== 409 || !error.message.includes("approve_capabilities")) throw error;
    if (!window.confirm(`${error.message}\n\nApprove these capabilities and move the alias?`)) throw error;
    return call("PUT", path, { ...body, approve_capabilities: true });
  }
}

/** `prod → 3`, with a canary version and a slider for its percent. */
function aliasRow(base, module, alias, pointer, out, reload) {
  const path = `${base}/aliases/${encodeURIComponent(alias)}`;
  const canaryVersion = el("select", { "aria-label": `${alias} canary version` },
    el("option", { value: "" }, "no canary"),
    module.versions.filter((v) => v.version !== pointer.version).map((v) =>
      el("option", { value: String(v.version), selected: pointer.canary?.version === v.version }, `v${v.version}`)));
  const percent = el("input", {
    type: "range", min: "0", max: "100", step: "1", class: "canary",
    "aria-label": `${alias} canary percent`, value: String(pointer.canary?.percent ?? 0),
  });
  const shown = el("span", { class: "mono" }, `${percent.value}%`);
  percent.addEventListener("input", () => replace(shown, `${percent.value}%`));
  const save = async () => {
    const body = { version: pointer.version };
    if (canaryVersion.value && Number(percent.value) > 0) {
      body.canary = { version: Number(canaryVersion.value), percent: Number(percent.value) };
    }
    try {
      await moveAlias(path, body);
      replace(out, message(body.canary
        ? `${module.name}@${alias}: ${body.canary.percent}% to v${body.canary.version}, the rest to v${body.version}`
        : `${module.name}@${alias} → v${body.version}`, "ok"));
      await reload();
    } catch (error) {
      replace(out, message(error.message));
    }
  };
  percent.addEventListener("change", save);
  canaryVersion.addEventListener("change", save);
  return el("div", { class: "row alias", "data-alias": alias },
    el("strong", {}, `${module.name}@${alias}`), ` → v${pointer.version}`,
    el("label", {}, "Canary", canaryVersion),
    el("label", {}, "Canary share", percent), shown,
    action("Delete alias", out, async () => {
      await call("DELETE", path);
      await reload();
      return `deleted alias ${module.name}@${alias}`;
    }, { kind: "danger", confirmText: `Delete alias ${module.name}@${alias}?` }));
}

function newAlias(base, module, out, reload) {
  const name = el("input", { placeholder: "prod", "aria-label": "alias name" });
  const version = el("select", { "aria-label": "alias version" },
    module.versions.map((v) => el("option", { value: String(v.version) }, `v${v.version}`)).reverse());
  return el("form", {
    class: "row",
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        await moveAlias(`${base}/aliases/${encodeURIComponent(name.value)}`, { version: Number(version.value) });
        await reload();
        replace(out, message(`${module.name}@${name.value} → v${version.value}`, "ok"));
      } catch (error) {
        replace(out, message(error.message));
      }
    },
  }, el("label", {}, "New alias", name), el("label", {}, "Version", version), el("button", { type: "submit" }, "Point alias"));
}
